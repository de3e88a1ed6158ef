// Per-device reading sequence numbers: 1, 2, 3, … and still increasing after a restart, so a consumer
// can tell a replayed reading from a new one and spot a gap. Handed out inside the transaction that
// enqueues the reading: a rolled-back reading gives its number back and a committed one can never be
// handed out twice.
//
// The last number per device is kept in memory and written once per transaction for each device that
// got numbers (Persistence.transaction calls writePending() before every commit and savepoint), not
// once per reading. A rollback forgets the memory: the database is the truth again. This connection
// must be the only one handing out numbers, which the gateway's is.
//
// A device with no row starts at 1, or above the floor a recovery from a corrupt file set (salvage.ts):
// then its earlier numbers may be lost with the file, and must not be handed out again.

import type Database from 'better-sqlite3';
import { BatchInsert } from './batchInsert.js';

export class SequenceStore {
  readonly #db: Database.Database;
  readonly #select: Database.Statement<[string], number>;
  readonly #upsert: Database.Statement<[string, number]>;
  readonly #upsertMany: BatchInsert;
  /** The last number of a device that has no row yet (0, or the floor after a recovery). */
  readonly #floor: number;
  /** The last number per device, as committed or as handed out in the running transaction. */
  readonly #last = new Map<string, number>();
  /** Devices whose number changed in the running transaction and is not written yet. */
  readonly #pending = new Set<string>();

  constructor(db: Database.Database) {
    this.#db = db;
    this.#select = db.prepare<[string], number>('SELECT last_seq FROM sequences WHERE device_id = ?').pluck();
    const onConflict = 'ON CONFLICT (device_id) DO UPDATE SET last_seq = excluded.last_seq';
    this.#upsert = db.prepare(`INSERT INTO sequences (device_id, last_seq) VALUES (?, ?) ${onConflict}`);
    this.#upsertMany = new BatchInsert(db, 'INSERT INTO sequences (device_id, last_seq)', 2, onConflict);
    const floor = db.prepare<[], number>('SELECT floor FROM sequence_floor WHERE id = 1').pluck().get();
    this.#floor = floor ?? 0;
  }

  /** The device's next sequence number (the first is 1). Call it inside the reading's transaction. */
  next(deviceId: string): number {
    const seq = this.last(deviceId) + 1;
    this.#last.set(deviceId, seq);
    if (this.#db.inTransaction) this.#pending.add(deviceId);
    else this.#upsert.run(deviceId, seq);
    return seq;
  }

  /** The last number handed out for the device; 0 (or the floor) before the first. */
  last(deviceId: string): number {
    let last = this.#last.get(deviceId);
    if (last === undefined) {
      last = this.#select.get(deviceId) ?? this.#floor;
      this.#last.set(deviceId, last);
    }
    return last;
  }

  /** Writes the numbers handed out since the last call; inside the transaction, before it commits. */
  writePending(): void {
    if (this.#pending.size === 0) return;
    const values: (string | number)[] = [];
    for (const deviceId of this.#pending) values.push(deviceId, this.#last.get(deviceId) ?? 0);
    this.#upsertMany.run(values);
    this.#pending.clear();
  }

  /** A transaction rolled back: what is in memory may be ahead of the database. */
  reset(): void {
    this.#last.clear();
    this.#pending.clear();
  }
}
