// The offline MQTT queue. Every message to publish is stored here first and deleted only once the
// broker acknowledged it, so a broker outage, a crash or a restart loses nothing. Nothing is kept in
// memory per queued message: a week-long outage is a big file, not a big heap. A drainer reads the
// next messages with peek() (a bounded in-flight window), publishes them and acks each on PUBACK.
//
// Order is the insertion order (the AUTOINCREMENT id), which is also the order per topic. A retained
// state message replaces the not-yet-published state of its topic: only the newest state matters to a
// subscriber, and a backlog of stale states would delay it. Readings and events are never coalesced.

import type Database from 'better-sqlite3';
import type { Logger } from '../logging/index.js';
import { type OutboxLimits, OutboxLimiter } from './outboxLimits.js';

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

interface OutboxRow {
  id: number;
  topic: string;
  payload: string;
  qos: number;
  retain: number;
  kind: OutboxKind;
  enqueued_at: number;
}

export class Outbox {
  readonly #now: () => number;
  readonly #limiter: OutboxLimiter;
  readonly #insert: Database.Statement<[string, string, number, number, OutboxKind, number, number]>;
  readonly #deleteOlderState: Database.Statement<[string, number]>;
  readonly #peek: Database.Statement<[number, number], OutboxRow>;
  readonly #oldestAt: Database.Statement<[], number>;
  readonly #countPublished: Database.Statement<[number]>;
  readonly #db: Database.Database;
  readonly #enqueueInTransaction: (draft: OutboxDraft) => number;
  readonly #ackMany: (ids: readonly number[]) => number;

  constructor(db: Database.Database, limits: OutboxLimits, logger: Logger, now: () => number) {
    this.#now = now;
    this.#limiter = new OutboxLimiter(db, limits, logger);
    this.#insert = db.prepare(
      `INSERT INTO outbox (topic, payload, qos, retain, kind, bytes, enqueued_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#deleteOlderState = db.prepare("DELETE FROM outbox WHERE kind = 'state' AND topic = ? AND id < ?");
    this.#peek = db.prepare(
      'SELECT id, topic, payload, qos, retain, kind, enqueued_at FROM outbox WHERE id > ? ORDER BY id LIMIT ?',
    );
    this.#oldestAt = db.prepare<[], number>('SELECT enqueued_at FROM outbox ORDER BY id LIMIT 1').pluck();
    this.#countPublished = db.prepare('UPDATE outbox_totals SET published = published + ? WHERE id = 1');
    const deleteOne = db.prepare<[number]>('DELETE FROM outbox WHERE id = ?');
    this.#db = db;
    this.#enqueueInTransaction = db.transaction((draft: OutboxDraft) => this.#enqueueNow(draft));
    this.#ackMany = db.transaction((ids: readonly number[]) => {
      let deleted = 0;
      for (const id of ids) deleted += deleteOne.run(id).changes;
      if (deleted > 0) this.#countPublished.run(deleted);
      return deleted;
    });
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
    return this.#db.inTransaction ? this.#enqueueNow(draft) : this.#enqueueInTransaction(draft);
  }

  /** Up to `limit` messages after id `afterId`, oldest first: the next window for the drainer. */
  peek(limit: number, afterId = 0): OutboxMessage[] {
    return this.#peek.all(afterId, limit).map(toMessage);
  }

  /**
   * Deletes a message the broker acknowledged and counts it as published. Returns false when it was
   * already gone (acked twice, coalesced or dropped meanwhile), which is not an error.
   */
  ack(id: number): boolean {
    return this.#ackMany([id]) === 1;
  }

  /** ack() for a batch, in one transaction; returns how many were still there. */
  ackMany(ids: readonly number[]): number {
    return this.#ackMany(ids);
  }

  stats(): OutboxStats {
    const totals = this.#limiter.totals();
    const oldestAt = this.#oldestAt.get();
    return {
      depth: totals.depth,
      bytes: totals.bytes,
      oldestAgeMs: oldestAt === undefined ? 0 : Math.max(0, this.#now() - oldestAt),
      dropped: totals.dropped,
      published: totals.published,
    };
  }

  #enqueueNow(draft: OutboxDraft): number {
    const bytes = Buffer.byteLength(draft.topic) + Buffer.byteLength(draft.payload);
    const { lastInsertRowid } = this.#insert.run(
      draft.topic,
      draft.payload,
      draft.qos,
      draft.retain ? 1 : 0,
      draft.kind,
      bytes,
      this.#now(),
    );
    const id = Number(lastInsertRowid);
    if (draft.kind === 'state') this.#deleteOlderState.run(draft.topic, id);
    this.#limiter.enforce();
    return id;
  }
}

function toMessage(row: OutboxRow): OutboxMessage {
  return {
    id: row.id,
    topic: row.topic,
    payload: row.payload,
    qos: row.qos === 1 ? 1 : 0,
    retain: row.retain === 1,
    kind: row.kind,
    enqueuedAt: row.enqueued_at,
  };
}
