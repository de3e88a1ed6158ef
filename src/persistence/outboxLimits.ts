// Keeps the outbox within its bounds. When a long broker outage fills it, the oldest readings go
// first: a reading from last week is worth less than the device states and events (commands' results,
// recoveries), which are few and describe the present. Only when nothing but states and events is
// left are the oldest messages of any kind dropped. Every dropped message is counted in the persisted
// `dropped` total; the log gets one line per overflow episode plus periodic summaries, not a line per
// drop.

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
  readonly #limits: OutboxLimits;
  readonly #failures: RepeatedFailureLog;
  readonly #totals: Database.Statement<[], OutboxTotals>;
  readonly #oldestReadings: Database.Statement<[], IdAndBytes>;
  readonly #oldestAny: Database.Statement<[], IdAndBytes>;
  readonly #deleteReadingsUpTo: Database.Statement<[number]>;
  readonly #deleteAnyUpTo: Database.Statement<[number]>;
  readonly #countDropped: Database.Statement<[number]>;

  constructor(db: Database.Database, limits: OutboxLimits, logger: Logger) {
    this.#limits = limits;
    this.#failures = new RepeatedFailureLog(logger, { summary: 'outbox still full' });
    this.#totals = db.prepare('SELECT depth, bytes, dropped, published FROM outbox_totals WHERE id = 1');
    this.#oldestReadings = db.prepare("SELECT id, bytes FROM outbox WHERE kind = 'reading' ORDER BY id");
    this.#oldestAny = db.prepare('SELECT id, bytes FROM outbox ORDER BY id');
    this.#deleteReadingsUpTo = db.prepare("DELETE FROM outbox WHERE kind = 'reading' AND id <= ?");
    this.#deleteAnyUpTo = db.prepare('DELETE FROM outbox WHERE id <= ?');
    this.#countDropped = db.prepare('UPDATE outbox_totals SET dropped = dropped + ? WHERE id = 1');
  }

  totals(): OutboxTotals {
    const totals = this.#totals.get();
    if (totals === undefined) throw new Error('outbox_totals row is missing');
    return totals;
  }

  /** Drops the oldest messages until the outbox fits; run inside the enqueue's transaction. */
  enforce(): void {
    const before = this.totals();
    if (this.#fits(before)) {
      this.#failures.success(OVERFLOW_KEY, 'outbox has room again');
      return;
    }
    const readings = this.#dropOldest(this.#oldestReadings, this.#deleteReadingsUpTo, before);
    const afterReadings = this.totals();
    const others = this.#fits(afterReadings)
      ? 0
      : this.#dropOldest(this.#oldestAny, this.#deleteAnyUpTo, afterReadings);
    this.#countDropped.run(readings + others);
    const after = this.totals();
    const what =
      others === 0
        ? `${readings} oldest reading(s)`
        : `${readings} reading(s) and ${others} other message(s)`;
    this.#failures.failure(
      OVERFLOW_KEY,
      `outbox full (limits ${this.#limits.maxMessages} messages, ${this.#limits.maxBytes} bytes): ` +
        `dropped ${what}, ${after.dropped} dropped in total`,
      { depth: after.depth, bytes: after.bytes, droppedTotal: after.dropped },
    );
  }

  #fits(totals: OutboxTotals): boolean {
    return totals.depth <= this.#limits.maxMessages && totals.bytes <= this.#limits.maxBytes;
  }

  /** Deletes the shortest prefix (in id order) of `oldest` that brings the totals within the limits. */
  #dropOldest(
    oldest: Database.Statement<[], IdAndBytes>,
    deleteUpTo: Database.Statement<[number]>,
    totals: OutboxTotals,
  ): number {
    const excessMessages = totals.depth - this.#limits.maxMessages;
    const excessBytes = totals.bytes - this.#limits.maxBytes;
    let cutoff: number | undefined;
    let count = 0;
    let freed = 0;
    // The iterator is left as soon as enough is found, so an overflow by one costs one row read.
    for (const row of oldest.iterate()) {
      cutoff = row.id;
      count += 1;
      freed += row.bytes;
      if (count >= excessMessages && freed >= excessBytes) break;
    }
    return cutoff === undefined ? 0 : deleteUpTo.run(cutoff).changes;
  }
}
