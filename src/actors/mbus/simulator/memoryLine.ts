import { MbusError } from '../codec/errors.js';
import { FrameAssembler } from '../codec/frames.js';
import type { ByteLink } from '../serialLink.js';
import type { MbusBus } from './slave.js';

// The meter simulator's segment (slave.ts) wired straight to the gateway's M-Bus master, in-process:
// `transport: simulated` on an M-Bus device. The master's frames go to the simulated meters and their
// answers come back after the turnaround (and any `slow` fault), so the whole M-Bus stack above the
// serial port (master, FCB, multi-telegram readouts, decoding, meter records) runs without socat or a
// pty. A request to an address with no meter, or to a dead one, gets silence, as on a real line.

export class SimulatedMbusLine implements ByteLink {
  readonly #assembler = new FrameAssembler();
  readonly #timers = new Set<NodeJS.Timeout>();
  #onData: (chunk: Buffer) => void = () => undefined;
  #closed = false;

  constructor(
    readonly path: string,
    private readonly bus: MbusBus,
    private readonly now: () => number = Date.now,
  ) {}

  write(bytes: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`${this.path} is closed`));
    this.#assembler.push(bytes);
    for (let frame = this.#assembler.next(); frame !== undefined; frame = this.#assembler.next()) {
      if (frame instanceof MbusError) continue; // noise on the line: the meters ignore it
      const { answer } = this.bus.handle(frame, this.now());
      if (answer === undefined) continue;
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        if (!this.#closed) this.#onData(answer.bytes);
      }, answer.delayMs + answer.wireMs);
      this.#timers.add(timer);
    }
    return Promise.resolve();
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.#onData = listener;
  }

  /** An in-process line is never pulled out. */
  onLost(): void {}

  discardInput(): Promise<void> {
    return this.#closed ? Promise.reject(new Error(`${this.path} is closed`)) : Promise.resolve();
  }

  close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    return Promise.resolve();
  }
}
