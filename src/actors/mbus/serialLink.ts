import { SerialPort } from 'serialport';

// The byte pipe under the M-Bus master: a serial port opened the way M-Bus needs it (8 data bits, even
// parity, 1 stop bit, exclusive so a second program cannot interleave frames on the bus). Everything
// above it (framing, timeouts, retries) is in master.ts, so tests can put any ByteLink under it.

export interface ByteLink {
  readonly path: string;
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
  #dataListener: (chunk: Buffer) => void = () => undefined;
  #lostListener: (reason: string) => void = () => undefined;
  #lost = false;
  #closing = false;

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
    if (this.#lost || this.#closing) return;
    this.#lost = true;
    this.#lostListener(reason);
  }

  write(bytes: Buffer): Promise<void> {
    // serialport never calls back a write made while the port is closing or closed: refuse it here.
    if (this.#lost || this.#closing || !this.port.isOpen) {
      return Promise.reject(new Error(`${this.port.path} is gone`));
    }
    return new Promise((resolve, reject) => {
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
    if (this.#lost || !this.port.isOpen) return Promise.resolve();
    // A pty cannot always flush; a failed flush only means there was nothing to drop.
    return new Promise((resolve) => this.port.flush(() => resolve()));
  }

  async close(): Promise<void> {
    this.#closing = true;
    await closePort(this.port);
  }
}
