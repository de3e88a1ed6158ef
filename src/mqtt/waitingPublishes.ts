import type { GatewayClock } from '../machines/clock.js';

// The publishes MqttLink waits on for their PUBACK, oldest first: each is settled once (PUBACK, error,
// timeout or the link going down), whichever comes first. One timer, armed for the oldest, enforces
// the timeout for all of them.
//
// A queue and not a Map by id: with tens of thousands of publishes a second, a Map whose keys only
// grow kept reallocating its table, and V8 moved the tables and what they held to the old generation
// (measured: ~400 bytes of old-generation garbage per publish, the larger part of the gateway's heap
// growth while draining a backlog).

/** Called once: null on PUBACK, or why there is none. */
export type PublishDone = (error: Error | null) => void;

/**
 * How a publish ended: `ok` (PUBACK, or written for QoS 0), `timeout` (no PUBACK in time), `offline`
 * (refused or abandoned because the link is not online), `error` (the client or the link failed).
 */
export type PublishOutcome = 'ok' | 'error' | 'timeout' | 'offline';

export interface Waiting {
  readonly done: PublishDone;
  /** Clock time after which it is rejected without a PUBACK. */
  readonly deadline: number;
  readonly topic: string;
  settled: boolean;
}

export class WaitingPublishes {
  readonly #clock: GatewayClock;
  readonly #timeoutMs: number;
  readonly #onSettled: (outcome: PublishOutcome) => void;
  /** Oldest first from #head on; settled ones are skipped and dropped from the front. */
  #queue: Waiting[] = [];
  #head = 0;
  #timer: unknown;

  /** `onSettled` hears how each publish ended, once per publish (a count, nothing kept per message). */
  constructor(clock: GatewayClock, timeoutMs: number, onSettled: (outcome: PublishOutcome) => void) {
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
    this.#onSettled = onSettled;
  }

  /** A publish handed to the client; settle() it when its answer comes. */
  add(topic: string, done: PublishDone): Waiting {
    const waiting: Waiting = {
      done,
      deadline: this.#clock.now() + this.#timeoutMs,
      topic,
      settled: false,
    };
    this.#queue.push(waiting);
    if (this.#timer === undefined) this.#arm(this.#timeoutMs);
    return waiting;
  }

  /** Calls its `done` (error null: acknowledged), unless it was settled already. */
  settle(waiting: Waiting, error: string | null, outcome: PublishOutcome): void {
    if (waiting.settled) return;
    waiting.settled = true;
    this.#dropSettled();
    this.#onSettled(outcome);
    waiting.done(error === null ? null : new Error(error));
  }

  /** Rejects every publish still waiting. */
  rejectAll(error: string, outcome: Exclude<PublishOutcome, 'ok'>): void {
    const queue = this.#queue;
    for (let i = this.#head; i < queue.length; i++) this.settle(queue[i] as Waiting, error, outcome);
  }

  #dropSettled(): void {
    const queue = this.#queue;
    while (this.#head < queue.length && (queue[this.#head] as Waiting).settled) this.#head += 1;
    if (this.#head === queue.length) {
      this.#queue = [];
      this.#head = 0;
      // A lingering timer would keep the process alive after the last publish.
      if (this.#timer !== undefined) {
        this.#clock.clearTimeout(this.#timer);
        this.#timer = undefined;
      }
    } else if (this.#head > 1_024 && this.#head > queue.length / 2) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #arm(delayMs: number): void {
    this.#timer = this.#clock.setTimeout(() => this.#timedOut(), Math.max(0, delayMs));
  }

  /** Rejects every publish past its deadline (the oldest come first), then waits for the next one. */
  #timedOut(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    const queue = this.#queue;
    for (let i = this.#head; i < queue.length; i++) {
      const waiting = queue[i] as Waiting;
      if (waiting.settled) continue;
      if (waiting.deadline > now) {
        this.#arm(waiting.deadline - now);
        return;
      }
      this.settle(waiting, `no PUBACK for ${waiting.topic} within ${this.#timeoutMs} ms`, 'timeout');
    }
  }
}
