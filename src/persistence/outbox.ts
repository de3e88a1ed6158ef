// The offline MQTT queue. Every message to publish is stored here first and deleted only once the
// broker acknowledged it, so a broker outage, a crash or a restart loses nothing. Nothing is kept in
// memory per queued message: a week-long outage is a big file, not a big heap. A drainer reads the
// next messages with peek() (a bounded in-flight window), publishes them and acks each on PUBACK.
//
// Order is the insertion order (the AUTOINCREMENT id), which is also the order per topic. A retained
// state message replaces the not-yet-published state of its topic: only the newest state matters to a
// subscriber, and a backlog of stale states would delay it. Readings and events are never coalesced.
//
// Cost per message is what bounds the gateway's throughput, so: the running totals (depth, bytes,
// dropped, published) are read at open, kept in memory and written to their row once per transaction,
// not by a trigger per row; acknowledged messages are deleted by id range, together with the next
// write (see acknowledge()), so a busy gateway's PUBACKs ride along with its next commit of
// readings instead of a commit of their own; and the newest messages are kept in memory
// (outboxTail.ts), so the drainer does not read back what was just written. All of that needs this
// connection to be the outbox's only writer, which the gateway's is (`fieldbridge export` only reads).

import type Database from 'better-sqlite3';
import type { Logger } from '../logging/index.js';
import { BatchInsert } from './batchInsert.js';
import { type OutboxLimits, OutboxLimiter, type OutboxTotals } from './outboxLimits.js';
import { OutboxTail } from './outboxTail.js';

export type OutboxKind = 'reading' | 'state' | 'event';

export interface OutboxDraft {
  topic: string;
  payload: string;
  qos: 0 | 1;
  retain: boolean;
  kind: OutboxKind;
}

export interface OutboxMessage extends OutboxDraft {
  id: number;
  /** When it was enqueued, ms since the epoch. */
  enqueuedAt: number;
}

export interface OutboxStats {
  /** Messages waiting (including ones in flight, not yet acknowledged). */
  depth: number;
  /** Their size: topic plus payload, UTF-8 bytes. */
  bytes: number;
  /** Age of the oldest waiting message; 0 when the outbox is empty. */
  oldestAgeMs: number;
  /** Messages dropped because the outbox was full, ever (persisted). */
  dropped: number;
  /** Messages acknowledged by the broker, ever (persisted). */
  published: number;
}

export const DEFAULT_OUTBOX_LIMITS: OutboxLimits = { maxMessages: 1_000_000, maxBytes: 256 * 1024 * 1024 };

type OutboxRow = [
  id: number,
  topic: string,
  payload: string,
  qos: number,
  retain: number,
  kind: OutboxKind,
  enqueuedAt: number,
];

/** Runs a function in one transaction (Persistence.transaction, which calls the Outbox's hooks). */
export type OutboxTransact = <T>(fn: () => T) => T;

/** What a transaction may have to undo in memory if it rolls back (see Persistence.transaction). */
export interface OutboxSavepoint {
  totals: OutboxTotals;
  written: OutboxTotals;
  acks: number[];
}

export class Outbox {
  readonly #now: () => number;
  readonly #transact: OutboxTransact;
  readonly #limiter: OutboxLimiter;
  readonly #tail = new OutboxTail();
  readonly #insert: Database.Statement<[string, string, number, number, OutboxKind, number, number]>;
  readonly #insertMany: BatchInsert;
  readonly #deleteOlderStates: Database.Statement<[number, string], [id: number, bytes: number]>;
  readonly #deleteOlderState: Database.Statement<[string, number], [id: number, bytes: number]>;
  readonly #deleteOne: Database.Statement<[number], number>;
  readonly #deleteTopic: Database.Statement<[string, string], [id: number, bytes: number]>;
  readonly #deleteRange: Database.Statement<[number, number], number>;
  readonly #peek: Database.Statement<[number, number], OutboxRow>;
  readonly #oldestAt: Database.Statement<[], number>;
  readonly #readTotals: Database.Statement<[], OutboxTotals>;
  readonly #writeTotals: Database.Statement<[number, number, number, number]>;
  readonly #db: Database.Database;
  /** The totals as of the current transaction; mutated in place (the limiter holds the same object). */
  readonly #totals: OutboxTotals = { depth: 0, bytes: 0, dropped: 0, published: 0 };
  /** What the totals row says, as far as this connection wrote or read it. */
  #written: OutboxTotals = { depth: 0, bytes: 0, dropped: 0, published: 0 };
  /** Acknowledged id ranges (first, last, first, last, …) not deleted yet. */
  #acks: number[] = [];
  #ackFlushScheduled = false;

  constructor(
    db: Database.Database,
    limits: OutboxLimits,
    logger: Logger,
    now: () => number,
    transact: OutboxTransact,
  ) {
    this.#db = db;
    this.#now = now;
    this.#transact = transact;
    this.#limiter = new OutboxLimiter(db, limits, logger);
    this.#insert = db.prepare(
      `INSERT INTO outbox (topic, payload, qos, retain, kind, bytes, enqueued_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#insertMany = new BatchInsert(
      db,
      'INSERT INTO outbox (topic, payload, qos, retain, kind, bytes, enqueued_at)',
      7,
    );
    this.#deleteOlderStates = db
      .prepare<[number, string], [number, number]>(
        `DELETE FROM outbox WHERE kind = 'state' AND id < ? AND topic IN (SELECT value FROM json_each(?))
         RETURNING id, bytes`,
      )
      .raw();
    this.#deleteOlderState = db
      .prepare<[string, number], [number, number]>(
        "DELETE FROM outbox WHERE kind = 'state' AND topic = ? AND id < ? RETURNING id, bytes",
      )
      .raw();
    this.#deleteOne = db.prepare<[number], number>('DELETE FROM outbox WHERE id = ? RETURNING bytes').pluck();
    // Spelt per kind so each half can use its index (outbox_state_topic, outbox_kind_id).
    this.#deleteTopic = db
      .prepare<[string, string], [number, number]>(
        `DELETE FROM outbox WHERE (kind = 'state' AND topic = ?) OR (kind = 'event' AND topic = ?)
         RETURNING id, bytes`,
      )
      .raw();
    this.#deleteRange = db
      .prepare<[number, number], number>('DELETE FROM outbox WHERE id >= ? AND id <= ? RETURNING bytes')
      .pluck();
    this.#peek = db
      .prepare<[number, number], OutboxRow>(
        'SELECT id, topic, payload, qos, retain, kind, enqueued_at FROM outbox WHERE id > ? ORDER BY id LIMIT ?',
      )
      .raw();
    this.#oldestAt = db.prepare<[], number>('SELECT enqueued_at FROM outbox ORDER BY id LIMIT 1').pluck();
    this.#readTotals = db.prepare('SELECT depth, bytes, dropped, published FROM outbox_totals WHERE id = 1');
    this.#writeTotals = db.prepare(
      'UPDATE outbox_totals SET depth = ?, bytes = ?, dropped = ?, published = ? WHERE id = 1',
    );
    this.#load();
  }

  /**
   * Queues a message and returns its id. Call it inside the transaction that produced it (see
   * Persistence.transaction) so the message and its cause commit together. When the outbox is full the
   * oldest readings are dropped; a single message bigger than maxBytes drops itself.
   */
  enqueue(draft: OutboxDraft): number {
    // Inside the caller's transaction no savepoint is needed (measured: 1-3 µs of an 8 µs enqueue): the
    // insert comes first, so a failure after it leaves at worst a duplicate state or a moment over the
    // limits, never a lost message. Alone, it gets a transaction so its statements commit once.
    return this.#db.inTransaction ? this.#enqueueNow(draft) : this.#transact(() => this.#enqueueNow(draft));
  }

  /**
   * enqueue() for a burst, in order: one INSERT for all, one DELETE for the older states they replace.
   * Returns the id of the first; the others follow it one by one.
   */
  enqueueMany(drafts: readonly OutboxDraft[]): number {
    if (!this.#db.inTransaction) return this.#transact(() => this.enqueueMany(drafts));
    const enqueuedAt = this.#now();
    const values: (string | number)[] = [];
    for (const { topic, payload, qos, retain, kind } of drafts) {
      const bytes = Buffer.byteLength(topic) + Buffer.byteLength(payload);
      values.push(topic, payload, qos, retain ? 1 : 0, kind, bytes, enqueuedAt);
      this.#totals.depth += 1;
      this.#totals.bytes += bytes;
    }
    const firstId = this.#insertMany.run(values) - drafts.length + 1;
    /** The newest state per topic in this burst. */
    const states = new Map<string, number>();
    drafts.forEach(({ topic, payload, qos, retain, kind }, index) => {
      const id = firstId + index;
      this.#tail.added({ id, topic, payload, qos, retain, kind, enqueuedAt });
      if (kind !== 'state') return;
      const replaced = states.get(topic);
      if (replaced !== undefined)
        this.#delete(this.#deleteOne.all(replaced).map((bytes) => [replaced, bytes]));
      states.set(topic, id);
    });
    if (states.size > 0)
      this.#delete(this.#deleteOlderStates.all(firstId, JSON.stringify([...states.keys()])));
    this.#enforceLimits();
    return firstId;
  }

  /**
   * New bounds (a reloaded `queue` section), enforced at once: lowered below what the outbox holds, the
   * oldest readings are dropped now, as they would be by the next enqueue.
   */
  setLimits(limits: OutboxLimits): void {
    this.#limiter.setLimits(limits);
    this.#transact(() => this.#enforceLimits());
  }

  /** Up to `limit` messages after id `afterId`, oldest first: the next window for the drainer. */
  peek(limit: number, afterId = 0): OutboxMessage[] {
    // Inside a transaction the tail may hold what is not committed yet: only SQLite answers there.
    if (!this.#db.inTransaction) {
      const newest = this.#tail.after(afterId, limit);
      if (newest !== undefined) return newest;
    }
    const rows = this.#peek.all(afterId, limit);
    const messages = new Array<OutboxMessage>(rows.length);
    for (let i = 0; i < rows.length; i++) messages[i] = toMessage(rows[i] as OutboxRow);
    // Fewer than asked for: the reader is at the end of the queue, and the tail can follow again.
    if (rows.length < limit && !this.#db.inTransaction) this.#tail.resume(messages.at(-1)?.id ?? afterId);
    return messages;
  }

  /**
   * Deletes a message the broker acknowledged and counts it as published. Returns false when it was
   * already gone (acked twice, coalesced or dropped meanwhile), which is not an error.
   */
  ack(id: number): boolean {
    return this.ackMany([id]) === 1;
  }

  /** ack() for a batch, in one transaction; returns how many were still there. */
  ackMany(ids: readonly number[]): number {
    return this.#transact(() => {
      let deleted = 0;
      for (const id of ids) {
        const count = this.#deleted(this.#deleteOne.all(id));
        if (count > 0) this.#tail.deleted(id);
        deleted += count;
      }
      this.#totals.published += deleted;
      return deleted;
    });
  }

  /**
   * The broker acknowledged every message from `firstId` to `lastId` still in the outbox (the caller
   * knows no other message lies in between: it published all of them, see OutboxDrainer). They are
   * deleted and counted as published by the next transaction, at the latest at the end of the next
   * event-loop turn: until then a crash only means they are sent again, as for any in-flight message.
   * Waiting that one turn lets a busy gateway's next write take them along, in the same commit.
   */
  acknowledge(firstId: number, lastId: number): void {
    this.#acks.push(firstId, lastId);
    if (this.#ackFlushScheduled) return;
    this.#ackFlushScheduled = true;
    setImmediate(() =>
      setImmediate(() => {
        this.#ackFlushScheduled = false;
        if (this.#acks.length > 0 && this.#db.open) this.flushAcks();
      }),
    );
  }

  /**
   * Deletes every queued state and event on `topic`, sent or not: for a topic whose messages only
   * describe the moment they were made (bridge/health), a new run's first message must not be
   * preceded by the last run's. Readings are never discarded. Returns how many were deleted.
   */
  discard(topic: string): number {
    return this.#transact(() => {
      const deleted = this.#deleteTopic.all(topic, topic);
      this.#delete(deleted);
      return deleted.length;
    });
  }

  /** Deletes what acknowledge() was told, now. */
  flushAcks(): void {
    if (this.#acks.length > 0) this.#transact(() => undefined);
  }

  stats(): OutboxStats {
    const oldestAt = this.#oldestAt.get();
    return {
      depth: this.#totals.depth,
      bytes: this.#totals.bytes,
      oldestAgeMs: oldestAt === undefined ? 0 : Math.max(0, this.#now() - oldestAt),
      dropped: this.#totals.dropped,
      published: this.#totals.published,
    };
  }

  // The transaction hooks, called by Persistence.transaction only.

  /** Start of a transaction: the pending acknowledgements go first. */
  beginTransaction(): void {
    if (this.#acks.length === 0) return;
    const acks = this.#acks;
    this.#acks = [];
    let deleted = 0;
    for (let i = 0; i < acks.length; i += 2) {
      const first = acks[i] as number;
      const last = acks[i + 1] as number;
      deleted += this.#deleted(this.#deleteRange.all(first, last));
      this.#tail.deletedRange(first, last);
    }
    this.#totals.published += deleted;
  }

  /** End of a transaction (or savepoint): the totals row, if it changed. */
  endTransaction(): void {
    const t = this.#totals;
    const w = this.#written;
    if (
      t.depth === w.depth &&
      t.bytes === w.bytes &&
      t.dropped === w.dropped &&
      t.published === w.published
    ) {
      return;
    }
    this.#writeTotals.run(t.depth, t.bytes, t.dropped, t.published);
    this.#written = { ...t };
  }

  /** What a rollback to this point has to restore in memory. */
  savepoint(): OutboxSavepoint {
    return { totals: { ...this.#totals }, written: this.#written, acks: this.#acks };
  }

  /** The transaction begun after `savepoint` rolled back: what it did in memory is undone too. */
  rollback(savepoint: OutboxSavepoint): void {
    Object.assign(this.#totals, savepoint.totals);
    this.#written = savepoint.written;
    // Acknowledgements it deleted are pending again, ahead of any that came since.
    if (savepoint.acks !== this.#acks) this.#acks = [...savepoint.acks, ...this.#acks];
    this.#limiter.reset();
    this.#tail.reset();
  }

  #load(): void {
    const row = this.#readTotals.get();
    if (row === undefined) throw new Error('outbox_totals row is missing');
    Object.assign(this.#totals, row);
    this.#written = row;
  }

  /** Takes deleted rows (their bytes) off the totals; returns how many. */
  #deleted(bytes: readonly number[]): number {
    this.#totals.depth -= bytes.length;
    for (const size of bytes) this.#totals.bytes -= size;
    return bytes.length;
  }

  #enqueueNow(draft: OutboxDraft): number {
    const { topic, payload, qos, retain, kind } = draft;
    const bytes = Buffer.byteLength(topic) + Buffer.byteLength(payload);
    const enqueuedAt = this.#now();
    const { lastInsertRowid } = this.#insert.run(
      topic,
      payload,
      qos,
      retain ? 1 : 0,
      kind,
      bytes,
      enqueuedAt,
    );
    this.#totals.depth += 1;
    this.#totals.bytes += bytes;
    const id = Number(lastInsertRowid);
    this.#tail.added({ id, topic, payload, qos, retain, kind, enqueuedAt });
    if (kind === 'state') this.#delete(this.#deleteOlderState.all(topic, id));
    this.#enforceLimits();
    return id;
  }

  /** Takes deleted messages ([id, bytes]) off the totals and the tail. */
  #delete(deleted: readonly (readonly [id: number, bytes: number])[]): void {
    for (const [id, bytes] of deleted) {
      this.#totals.depth -= 1;
      this.#totals.bytes -= bytes;
      this.#tail.deleted(id);
    }
  }

  #enforceLimits(): void {
    const dropped = this.#totals.dropped;
    this.#limiter.enforce(this.#totals);
    // Dropped for room: not worth following message by message (the link is down anyway).
    if (this.#totals.dropped !== dropped) this.#tail.reset();
  }
}

function toMessage(row: OutboxRow): OutboxMessage {
  const [id, topic, payload, qos, retain, kind, enqueuedAt] = row;
  return { id, topic, payload, qos: qos === 1 ? 1 : 0, retain: retain === 1, kind, enqueuedAt };
}
