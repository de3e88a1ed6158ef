import { wireTimeMs } from '../codec/frames.js';
import type { ByteLink } from '../serialLink.js';
import { SimulatedLine } from './line.js';
import type { MbusBus } from './slave.js';

// A ByteLink straight onto a simulated line, in this process: the master's frame reaches the meters
// once it has been on the wire for its time at the baud rate, and their characters come back one I/O
// turn later, as a port's reads do. Tests and benchmarks put the real master over a whole bus this way
// without a pty; the timing is the same SimulatedLine the pty and TCP simulators use.

export class SimulatedLineLink implements ByteLink {
  readonly path: string;
  /** write() resolves after the request's time on the wire, as a serial port's drain does. */
  readonly writeEndsOnWire = true;
  readonly line: SimulatedLine;
  /** Every frame the master wrote, with performance.now() when it was written. */
  readonly written: { at: number; bytes: Buffer }[] = [];
  /** Bytes the master received. */
  received = 0;
  #listener: (chunk: Buffer) => void = () => undefined;
  #closed = false;

  constructor(
    private readonly bus: MbusBus,
    options: { path?: string; log?: (line: string) => void } = {},
  ) {
    this.path = options.path ?? 'simulated-line';
    this.line = new SimulatedLine({
      bus,
      log: options.log,
      send: (bytes) => {
        const copy = Buffer.from(bytes);
        setImmediate(() => {
          if (this.#closed) return;
          this.received += copy.length;
          this.#listener(copy);
        });
      },
    });
  }

  write(bytes: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`${this.path} is gone`));
    this.written.push({ at: performance.now(), bytes: Buffer.from(bytes) });
    // A serial write completes once the last character is out: that is when the meters have heard it.
    const onWire = this.bus.fast ? 0 : wireTimeMs(bytes.length, this.bus.baud);
    return new Promise((resolve) =>
      setTimeout(() => {
        if (!this.#closed) this.line.receive(Buffer.from(bytes));
        resolve();
      }, onWire),
    );
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.#listener = listener;
  }

  onLost(): void {}

  discardInput(): Promise<void> {
    return this.#closed ? Promise.reject(new Error(`${this.path} is gone`)) : Promise.resolve();
  }

  close(): Promise<void> {
    this.#closed = true;
    this.line.halt();
    return Promise.resolve();
  }
}
