import { SerialPort } from 'serialport';

// The byte pipe under the M-Bus master: a serial port opened the way M-Bus needs it (8 data bits, even
// parity, 1 stop bit, exclusive so a second program cannot interleave frames on the bus). Everything
// above it (framing, timeouts, retries) is in master.ts, so tests can put any ByteLink under it.

// write and discardInput reject at once while the port is gone or closing, and when it goes away while
// they are in flight: a caller holding the bus lock must never wait on a port that will not answer.
export interface ByteLink {
  readonly path: string;
  /**
   * Whether `write` resolves only once the bytes are out on the line (a serial port drains to the
   * UART): the meters' answer window starts then. Otherwise (TCP) the converter still has to send them.
   */
  readonly writeEndsOnWire?: boolean;
  write(bytes: Buffer): Promise<void>;
  /** Bytes as they arrive; one listener, replaced by the next call. */
  onData(listener: (chunk: Buffer) => void): void;
  /** Called once when the port goes away (closed by the OS, unplugged, or an I/O error). */
  onLost(listener: (reason: string) => void): void;
  /** Drops bytes received but not yet read (before a new request, so a late answer cannot pose as the next). */
  discardInput(): Promise<void>;
  close(): Promise<void>;
}

export interface SerialSettings {
  path: string;
  baud: number;
}

/** Opens the port 8E1, exclusively. Rejects with the OS's reason (ENOENT, EACCES, busy). */
export async function openSerialLink(settings: SerialSettings, signal: AbortSignal): Promise<ByteLink> {
  const port = new SerialPort({
    path: settings.path,
    baudRate: settings.baud,
    dataBits: 8,
    parity: 'even',
    stopBits: 1,
    lock: true,
    autoOpen: false,
  });
  await new Promise<void>((resolve, reject) => {
    port.open((error) =>
      error ? reject(new Error(`cannot open ${settings.path}: ${error.message}`)) : resolve(),
    );
  });
  if (signal.aborted) {
    await closePort(port);
    throw new Error(`opening ${settings.path} was cancelled`);
  }
  return new SerialByteLink(port);
}

function closePort(port: SerialPort): Promise<void> {
  if (!port.isOpen) return Promise.resolve();
  return new Promise((resolve) => port.close(() => resolve()));
}

class SerialByteLink implements ByteLink {
  /** write() waits for the drain (tcdrain): the request has left the UART when it resolves. */
  readonly writeEndsOnWire = true;
  #dataListener: (chunk: Buffer) => void = () => undefined;
  #lostListener: (reason: string) => void = () => undefined;
  #lost = false;
  #closing = false;
  /**
   * Rejecters of the writes and flushes in flight. serialport queues a write's or drain's callback
   * until the port's next `open` event when the port is closing or closed, and a closed port never
   * gets one: whatever is in flight when the port goes away is failed here instead.
   */
  readonly #inFlight = new Set<(error: Error) => void>();

  constructor(private readonly port: SerialPort) {
    port.on('data', (chunk: Buffer) => this.#dataListener(chunk));
    port.on('error', (error: Error) => this.#markLost(`serial port error: ${error.message}`));
    port.on('close', (error: (Error & { disconnected?: boolean }) | null) =>
      this.#markLost(error?.disconnected ? 'the serial port disappeared' : 'the serial port was closed'),
    );
  }

  get path(): string {
    return this.port.path;
  }

  #markLost(reason: string): void {
    this.#failInFlight(reason);
    if (this.#lost || this.#closing) return;
    this.#lost = true;
    this.#lostListener(reason);
  }

  #failInFlight(reason: string): void {
    const error = new Error(`${this.port.path}: ${reason}`);
    for (const fail of this.#inFlight) fail(error);
    this.#inFlight.clear();
  }

  /** Runs one port call, refused unless the port is open and failed at once if it goes away meanwhile. */
  #track(call: (resolve: () => void, reject: (error: Error) => void) => void): Promise<void> {
    // `isOpen` is false from the moment a close starts, the disconnect's included.
    if (this.#lost || this.#closing || !this.port.isOpen) {
      return Promise.reject(new Error(`${this.port.path} is gone`));
    }
    return new Promise((resolve, reject) => {
      this.#inFlight.add(reject);
      const settled = () => this.#inFlight.delete(reject);
      call(
        () => {
          settled();
          resolve();
        },
        (error) => {
          settled();
          reject(error);
        },
      );
    });
  }

  write(bytes: Buffer): Promise<void> {
    return this.#track((resolve, reject) => {
      this.port.write(bytes, (error) => {
        if (error) reject(new Error(`write to ${this.port.path} failed: ${error.message}`));
        else this.port.drain((drainError) => (drainError ? reject(drainError) : resolve()));
      });
    });
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.#dataListener = listener;
  }

  onLost(listener: (reason: string) => void): void {
    this.#lostListener = listener;
  }

  discardInput(): Promise<void> {
    // A pty cannot always flush; a failed flush on an open port only means there was nothing to drop.
    return this.#track((resolve) => this.port.flush(() => resolve()));
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#failInFlight('the serial port is being closed');
    await closePort(this.port);
  }
}
