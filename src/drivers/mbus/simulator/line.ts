import { MbusError } from '../codec/errors.js';
import { FrameAssembler, formatHex } from '../codec/frames.js';
import type { BusAnswer, MbusBus, SimEvent } from './slave.js';
import { TimerSet } from '../../shared/timerSet.js';

// The meters' side of the wire, in real time: frames from the master go to the bus state machine
// (slave.ts) and its answers come back at their own moments, each character when the line at the
// configured baud would deliver it. The pty simulator, the TCP converter and the in-process link all
// put their byte pipe under one of these, so every transport sees the same timing.

export interface SimulatedLineOptions {
  bus: MbusBus;
  /** Where the meters' bytes go (the pty, the TCP client, the in-process master). */
  send: (bytes: Buffer) => void;
  /** Clock for the meters' counters; default Date.now. */
  now?: () => number;
  log?: (line: string) => void;
  /** Also log every frame received and sent. */
  verbose?: boolean;
}

/** Largest pause between chunks of an answer: well under a master's end-of-answer silence (50 ms). */
const CHUNK_MS = 10;

export class SimulatedLine {
  readonly #bus: MbusBus;
  readonly #send: (bytes: Buffer) => void;
  readonly #now: () => number;
  readonly #log: (line: string) => void;
  readonly #verbose: boolean;
  readonly #assembler = new FrameAssembler();
  readonly #timers = new TimerSet();
  /** Answers waiting for their meter's turn to start. */
  readonly #pending = new Set<NodeJS.Timeout>();
  /** performance.now() when the last answer on the line ends. */
  #talkingUntil = 0;
  /** Requests the meters took (not counting those that arrived while one talked). */
  requests = 0;
  /** Requests that arrived while a meter was still answering (a master that did not wait). */
  interrupted = 0;

  constructor(options: SimulatedLineOptions) {
    this.#bus = options.bus;
    this.#send = options.send;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? (() => undefined);
    this.#verbose = options.verbose ?? false;
  }

  /** Bytes from the master, as they arrive. */
  receive(chunk: Buffer): void {
    this.#assembler.push(chunk);
    for (let next = this.#assembler.next(); next !== undefined; next = this.#assembler.next()) {
      if (next instanceof MbusError) {
        if (this.#verbose) this.#log(`skipped a byte on the line: ${next.message}`);
        continue;
      }
      if (performance.now() < this.#talkingUntil) {
        // Half duplex: a meter cannot hear while it talks. A master that gave up on a slow answer and
        // asked again gets no answer to that request, as on a real bus.
        this.interrupted++;
        this.#log(`ignored ${formatHex(next)}: it arrived while a meter was still answering`);
        continue;
      }
      if (this.#pending.size > 0) {
        for (const timer of this.#pending) this.#timers.cancel(timer);
        this.#pending.clear();
        this.#log('dropped an answer not yet started: the master sent a new request first');
      }
      this.requests++;
      if (this.#verbose) this.#log(`rx ${formatHex(next)}`);
      const { answers, events } = this.#bus.handle(next, this.#now());
      this.#emit(events);
      for (const answer of answers) this.#schedule(answer);
    }
  }

  /** Stops every answer in flight and forgets half-received frames (the wire was cut). */
  halt(): void {
    this.#timers.clear();
    this.#pending.clear();
    this.#talkingUntil = 0;
    this.#assembler.clear();
  }

  #schedule(answer: BusAnswer): void {
    const timer = this.#timers.after(answer.delayMs, () => {
      this.#pending.delete(timer);
      this.#talkingUntil = Math.max(this.#talkingUntil, performance.now() + answer.wireMs);
      if (this.#verbose) this.#log(`tx ${formatHex(answer.bytes)}`);
      this.#transmit(answer.bytes, answer.wireMs);
    });
    this.#pending.add(timer);
  }

  #emit(events: readonly SimEvent[]): void {
    for (const event of events) if (event.level === 'info' || this.#verbose) this.#log(event.message);
  }

  /**
   * Writes the bytes as the line would deliver them: a UART hands over a character once its last bit is
   * in, so character i is due (i + 1) character times after the start. Paced by the clock, not by
   * counting ticks, so a late timer sends more at once and stays on time.
   */
  #transmit(bytes: Buffer, wireMs: number): void {
    if (wireMs <= 0) {
      this.#send(bytes);
      return;
    }
    const byteMs = wireMs / bytes.length;
    const started = performance.now();
    let sent = 0;
    const step = () => {
      const elapsed = performance.now() - started;
      const due = Math.min(bytes.length, Math.floor(elapsed / byteMs));
      if (due > sent) this.#send(bytes.subarray(sent, due));
      sent = Math.max(sent, due);
      if (sent >= bytes.length) return;
      this.#timers.after(Math.max(1, Math.min(CHUNK_MS, (sent + 1) * byteMs - elapsed)), step);
    };
    this.#timers.after(byteMs, step);
  }
}
