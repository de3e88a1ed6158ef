// Per-device reading sequence numbers: 1, 2, 3, … and still increasing after a restart, so a consumer
// can tell a replayed reading from a new one and spot a gap. The counter lives only in the database
// (one upsert per reading): called inside the transaction that enqueues the reading, a rolled-back
// reading gives its number back and a committed one can never be handed out twice.

import type Database from 'better-sqlite3';

export class SequenceStore {
  readonly #next: Database.Statement<[string], number>;
  readonly #last: Database.Statement<[string], number>;

  constructor(db: Database.Database) {
    this.#next = db
      .prepare<[string], number>(
        `INSERT INTO sequences (device_id, last_seq) VALUES (?, 1)
         ON CONFLICT (device_id) DO UPDATE SET last_seq = last_seq + 1
         RETURNING last_seq`,
      )
      .pluck();
    this.#last = db.prepare<[string], number>('SELECT last_seq FROM sequences WHERE device_id = ?').pluck();
  }

  /** The device's next sequence number (the first is 1). Call it inside the reading's transaction. */
  next(deviceId: string): number {
    const seq = this.#next.get(deviceId);
    if (seq === undefined) throw new Error(`no sequence number returned for ${deviceId}`);
    return seq;
  }

  /** The last number handed out for the device; 0 before the first. */
  last(deviceId: string): number {
    return this.#last.get(deviceId) ?? 0;
  }
}
