// Readings history: every reading as it was enqueued, kept for `retention_days`. The outbox forgets a
// reading once the broker has it; this is what answers "what did heat1 report last Tuesday". Cleanup
// deletes in small batches and yields to the event loop between them, so trimming a month of readings
// never stalls the actors for long.
//
// Its one index is on the time a reading was taken (cleanup, and questions about a time range). There
// is no per-device index: every reading would write one more page of it per device (measured: a third
// of the pages a burst of readings commits), for lookups nothing in the gateway makes. list() by
// device therefore reads the table in id order.

import type Database from 'better-sqlite3';
import { BatchInsert } from './batchInsert.js';

export interface HistoricReading {
  deviceId: string;
  seq: number;
  /** When the reading was taken, ms since the epoch. */
  ts: number;
  payload: string;
}

interface HistoryRow {
  device_id: string;
  seq: number;
  ts: number;
  payload: string;
}

export const DAY_MS = 24 * 60 * 60 * 1000;
export const CLEANUP_BATCH_ROWS = 5_000;
const VACUUM_BATCH_PAGES = 2_000;

export class ReadingsHistory {
  readonly #db: Database.Database;
  readonly #insert: BatchInsert;
  readonly #list: Database.Statement<[string, number, number], HistoryRow>;
  readonly #deleteBatch: Database.Statement<[number, number]>;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#insert = new BatchInsert(db, 'INSERT INTO readings_history (device_id, seq, ts, payload)', 4);
    this.#list = db.prepare(
      `SELECT device_id, seq, ts, payload FROM readings_history
       WHERE device_id = ? AND seq > ? ORDER BY id LIMIT ?`,
    );
    this.#deleteBatch = db.prepare(
      'DELETE FROM readings_history WHERE id IN (SELECT id FROM readings_history WHERE ts < ? LIMIT ?)',
    );
  }

  record(reading: HistoricReading): void {
    this.recordMany([reading]);
  }

  /** record() for a burst, in one statement. */
  recordMany(readings: readonly HistoricReading[]): void {
    const values: (string | number)[] = [];
    for (const { deviceId, seq, ts, payload } of readings) values.push(deviceId, seq, ts, payload);
    this.#insert.run(values);
  }

  /**
   * A device's readings after sequence number `afterSeq`, oldest first (a device's sequence numbers grow
   * in id order: both are handed out as the reading is written). A scan of the table, see above.
   */
  list(deviceId: string, afterSeq = 0, limit = 1_000): HistoricReading[] {
    return this.#list
      .all(deviceId, afterSeq, limit)
      .map((row) => ({ deviceId: row.device_id, seq: row.seq, ts: row.ts, payload: row.payload }));
  }

  /**
   * Deletes readings taken before `cutoff`, `batchRows` per transaction, yielding between batches.
   * Stops early when `keepGoing` turns false (the database is closing). Returns how many it deleted.
   */
  async deleteBefore(
    cutoff: number,
    keepGoing: () => boolean,
    batchRows = CLEANUP_BATCH_ROWS,
  ): Promise<number> {
    let deleted = 0;
    while (keepGoing()) {
      const { changes } = this.#deleteBatch.run(cutoff, batchRows);
      deleted += changes;
      if (changes < batchRows) break;
      await yieldToEventLoop();
    }
    return deleted;
  }

  /**
   * Gives the free pages back to the file system (incremental vacuum), in batches. After a drained
   * backlog of a million messages that is a few hundred MB. Returns the number of pages freed.
   */
  async releaseFreePages(keepGoing: () => boolean, batchPages = VACUUM_BATCH_PAGES): Promise<number> {
    let released = 0;
    while (keepGoing()) {
      const free = this.#db.pragma('freelist_count', { simple: true }) as number;
      if (free === 0) break;
      this.#db.pragma(`incremental_vacuum(${Math.min(free, batchPages)})`);
      const left = this.#db.pragma('freelist_count', { simple: true }) as number;
      // A file without auto_vacuum (created by another tool) cannot release pages this way.
      if (left >= free) break;
      released += free - left;
      await yieldToEventLoop();
    }
    return released;
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
