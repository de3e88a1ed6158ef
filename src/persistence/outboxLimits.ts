// Keeps the outbox within its bounds. When a long broker outage fills it, the oldest readings go
// first: a reading from last week is worth less than the device states and events (commands' results,
// recoveries), which are few and describe the present. Only when nothing but states and events is
// left are the oldest messages of any kind dropped. Every dropped message is counted in the persisted
// `dropped` total; the log gets one line per overflow episode plus periodic summaries, not a line per
// drop.
//
// The check runs after every enqueue, so it must cost nothing while there is room: it compares the
// outbox's running totals (kept in memory by the Outbox, see outbox.ts), no SQL.

import type Database from 'better-sqlite3';
import { type Logger, RepeatedFailureLog } from '../logging/index.js';

export interface OutboxLimits {
  maxMessages: number;
  maxBytes: number;
}

export interface OutboxTotals {
  depth: number;
  bytes: number;
  dropped: number;
  published: number;
}

interface IdAndBytes {
  id: number;
  bytes: number;
}

const OVERFLOW_KEY = 'overflow';

export class OutboxLimiter {
  #limits: OutboxLimits;
  readonly #failures: RepeatedFailureLog;
  readonly #oldestReadings: Database.Statement<[number], IdAndBytes>;
  readonly #oldestAny: Database.Statement<[], IdAndBytes>;
  readonly #deleteReadings: Database.Statement<[number, number], number>;
  readonly #deleteAnyUpTo: Database.Statement<[number], number>;
  /**
   * No reading has an id at or below this: every one there was dropped, and new ones get higher ids.
   * The scan for the oldest readings starts after it instead of stepping over the states and events
   * that stay at the head of a full outbox again and again. Only a hint: 0 is always correct.
   */
  #noReadingsUpTo = 0;

  constructor(db: Database.Database, limits: OutboxLimits, logger: Logger) {
    this.#limits = limits;
    this.#failures = new RepeatedFailureLog(logger, { summary: 'outbox still full' });
    // By rowid, skipping the few states and events: cheaper than an index on kind for every insert.
    this.#oldestReadings = db.prepare(
      "SELECT id, bytes FROM outbox WHERE kind = 'reading' AND id > ? ORDER BY id",
    );
    this.#oldestAny = db.prepare('SELECT id, bytes FROM outbox ORDER BY id');
    this.#deleteReadings = db
      .prepare<[number, number], number>(
        "DELETE FROM outbox WHERE kind = 'reading' AND id > ? AND id <= ? RETURNING bytes",
      )
      .pluck();
    this.#deleteAnyUpTo = db
      .prepare<[number], number>('DELETE FROM outbox WHERE id <= ? RETURNING bytes')
      .pluck();
  }

  /** New bounds (a reloaded config); the next enforce() applies them. */
  setLimits(limits: OutboxLimits): void {
    this.#limits = { ...limits };
  }

  /** Forgets the scan hint (after a rollback, dropped readings may be back). */
  reset(): void {
    this.#noReadingsUpTo = 0;
  }

  /** Drops the oldest messages until `totals` fit, updating them; run inside the enqueue's transaction. */
  enforce(totals: OutboxTotals): void {
    if (this.#fits(totals)) {
      this.#failures.success(OVERFLOW_KEY, 'outbox has room again');
      return;
    }
    const from = this.#noReadingsUpTo;
    const readings = this.#dropOldest(this.#oldestReadings.iterate(from), totals, (cutoff) => {
      this.#noReadingsUpTo = cutoff;
      return this.#deleteReadings.all(from, cutoff);
    });
    const others = this.#fits(totals)
      ? 0
      : this.#dropOldest(this.#oldestAny.iterate(), totals, (cutoff) => this.#deleteAnyUpTo.all(cutoff));
    totals.dropped += readings + others;
    const what =
      others === 0
        ? `${readings} oldest reading(s)`
        : `${readings} reading(s) and ${others} other message(s)`;
    this.#failures.failure(
      OVERFLOW_KEY,
      `outbox full (limits ${this.#limits.maxMessages} messages, ${this.#limits.maxBytes} bytes): ` +
        `dropped ${what}, ${totals.dropped} dropped in total`,
      { depth: totals.depth, bytes: totals.bytes, droppedTotal: totals.dropped },
    );
  }

  #fits(totals: OutboxTotals): boolean {
    return totals.depth <= this.#limits.maxMessages && totals.bytes <= this.#limits.maxBytes;
  }

  /**
   * Deletes the shortest prefix (in id order) of `oldest` that brings the totals within the limits and
   * takes it off them; returns how many it deleted.
   */
  #dropOldest(
    oldest: IterableIterator<IdAndBytes>,
    totals: OutboxTotals,
    deleteUpTo: (cutoff: number) => number[],
  ): number {
    const excessMessages = totals.depth - this.#limits.maxMessages;
    const excessBytes = totals.bytes - this.#limits.maxBytes;
    let cutoff: number | undefined;
    let count = 0;
    let freed = 0;
    // The iterator is left as soon as enough is found, so an overflow by one costs one row read.
    for (const row of oldest) {
      cutoff = row.id;
      count += 1;
      freed += row.bytes;
      if (count >= excessMessages && freed >= excessBytes) break;
    }
    if (cutoff === undefined) return 0;
    const deleted = deleteUpTo(cutoff);
    totals.depth -= deleted.length;
    for (const bytes of deleted) totals.bytes -= bytes;
    return deleted.length;
  }
}
