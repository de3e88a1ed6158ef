// Batches "latest value per key" writes (actor snapshots, device states). A burst of transitions
// records only the newest value per device in memory; one flush, scheduled once per burst with
// setImmediate (after the promise chains of the actors have settled), writes them all in a single
// transaction. A failed flush keeps the pending values, logs once per failure episode and is retried
// by the next save or an explicit flush(), so a full disk never crashes the actors that save.

import { type Logger, RepeatedFailureLog } from '../logging/index.js';
import { errorText } from '../errorText.js';

export type Transact = <T>(fn: () => T) => T;

/** A store whose pending values the write-behind flushes. */
export interface PendingWrites {
  /** Writes every pending value; runs inside the flush transaction. */
  writePending(): void;
  /** Forgets the pending values once their transaction committed. */
  clearPending(): void;
  readonly hasPending: boolean;
}

export class WriteBehind {
  readonly #transact: Transact;
  readonly #failures: RepeatedFailureLog;
  readonly #sources: PendingWrites[] = [];
  #scheduled: NodeJS.Immediate | undefined;
  #closed = false;

  constructor(transact: Transact, logger: Logger) {
    this.#transact = transact;
    this.#failures = new RepeatedFailureLog(logger, {
      summary: 'still failing to save snapshots and states',
    });
  }

  register(source: PendingWrites): void {
    this.#sources.push(source);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Called after a value was recorded: one flush per burst, however many saves it contains. */
  schedule(): void {
    if (this.#scheduled !== undefined || this.#closed) return;
    this.#scheduled = setImmediate(() => {
      this.#scheduled = undefined;
      this.flush();
    });
  }

  /** Writes everything pending in one transaction. Returns false (and keeps it pending) on failure. */
  flush(): boolean {
    if (this.#scheduled !== undefined) {
      clearImmediate(this.#scheduled);
      this.#scheduled = undefined;
    }
    const pending = this.#sources.filter((source) => source.hasPending);
    if (pending.length === 0) return true;
    try {
      this.#transact(() => {
        for (const source of pending) source.writePending();
      });
    } catch (error) {
      this.#failures.failure('flush', `saving snapshots and device states failed: ${errorText(error)}`);
      return false;
    }
    for (const source of pending) source.clearPending();
    this.#failures.success('flush', 'saving snapshots and device states works again');
    return true;
  }

  /**
   * Runs `fn` and writes everything pending in one transaction (a burst of readings and the states and
   * snapshots it changed: one commit). Unlike flush(), a failure is thrown, with the values still pending.
   */
  flushWith<T>(fn: () => T): T {
    let written: PendingWrites[] = [];
    const result = this.#transact(() => {
      const value = fn();
      // After fn: what it saved is pending now and goes in too.
      written = this.#sources.filter((source) => source.hasPending);
      for (const source of written) source.writePending();
      return value;
    });
    for (const source of written) source.clearPending();
    return result;
  }

  /** Final flush; later saves are ignored (an actor stopping after shutdown must not throw). */
  close(): boolean {
    const flushed = this.flush();
    this.#closed = true;
    return flushed;
  }
}
