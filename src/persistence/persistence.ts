// The persistence facade: one database file and the stores on it. Open it once at start, hand the
// stores to whoever needs them, close it last (close() writes what is still pending).

import type Database from 'better-sqlite3';
import { getLogger } from '../logging/index.js';
import { type DatabaseRecovery, openDatabase, setSynchronous, type SynchronousMode } from './database.js';
import { DeviceStateStore } from './deviceStates.js';
import { DesiredStateStore } from './desiredStates.js';
import { DiscoveredDeviceStore } from './discoveredDevices.js';
import { DAY_MS, type HistoricReading, ReadingsHistory } from './history.js';
import { DEFAULT_OUTBOX_LIMITS, Outbox, type OutboxDraft } from './outbox.js';
import { SequenceStore } from './sequences.js';
import { SnapshotStore } from './snapshots.js';
import { WriteBehind } from './writeBehind.js';
import { errorText } from '../errorText.js';

export interface PersistenceOptions {
  /** The database file; its directory is created. */
  path: string;
  synchronous?: SynchronousMode;
  /** How long readings_history keeps a reading. Default 30. */
  retentionDays?: number;
  /** Outbox bounds; the oldest readings are dropped beyond them. Defaults 1,000,000 and 256 MiB. */
  maxMessages?: number;
  maxBytes?: number;
  now?: () => number;
  /** False: a corrupt file is thrown (CorruptDatabaseError), not moved aside and replaced. */
  replaceCorrupt?: boolean;
}

export interface ReadingDraft {
  deviceId: string;
  topic: string;
  /** Default 1: a reading is worth the PUBACK. */
  qos?: 0 | 1;
  /** Default false. */
  retain?: boolean;
  /** When the reading was taken; default now. */
  ts?: number;
}

export interface EnqueuedReading {
  id: number;
  seq: number;
}

export interface CleanupResult {
  historyDeleted: number;
  pagesReleased: number;
}

export interface DatabaseSettings {
  journalMode: string;
  synchronous: 'off' | 'normal' | 'full' | 'extra';
  autoVacuum: 'none' | 'full' | 'incremental';
}

const SYNCHRONOUS_NAMES = ['off', 'normal', 'full', 'extra'] as const;
const AUTO_VACUUM_NAMES = ['none', 'full', 'incremental'] as const;

export class Persistence {
  readonly path: string;
  /** Set when the file was corrupt and replaced at open; the gateway publishes it. */
  readonly recovery: DatabaseRecovery | undefined;
  readonly snapshots: SnapshotStore;
  readonly states: DeviceStateStore;
  readonly sequences: SequenceStore;
  readonly outbox: Outbox;
  readonly history: ReadingsHistory;
  readonly discovered: DiscoveredDeviceStore;
  readonly desired: DesiredStateStore;
  readonly #db: Database.Database;
  readonly #writeBehind: WriteBehind;
  #retentionDays: number;
  readonly #now: () => number;
  readonly #runInTransaction: (fn: () => unknown) => unknown;
  readonly #logger = getLogger('persistence');

  constructor(options: PersistenceOptions) {
    this.path = options.path;
    this.#now = options.now ?? Date.now;
    this.#retentionDays = options.retentionDays ?? 30;
    const opened = openDatabase({
      path: options.path,
      synchronous: options.synchronous ?? 'normal',
      logger: this.#logger,
      now: this.#now,
      ...(options.replaceCorrupt === undefined ? {} : { replaceCorrupt: options.replaceCorrupt }),
    });
    this.#db = opened.db;
    this.recovery = opened.recovery;
    this.#runInTransaction = this.#db.transaction((fn: () => unknown) => {
      this.outbox.beginTransaction();
      const result = fn();
      this.sequences.writePending();
      this.outbox.endTransaction();
      return result;
    });
    this.#writeBehind = new WriteBehind((fn) => this.transaction(fn), this.#logger);
    this.snapshots = new SnapshotStore(this.#db, this.#writeBehind, this.#logger, this.#now);
    this.states = new DeviceStateStore(this.#db, this.#writeBehind, this.#logger);
    this.sequences = new SequenceStore(this.#db);
    this.outbox = new Outbox(
      this.#db,
      {
        maxMessages: options.maxMessages ?? DEFAULT_OUTBOX_LIMITS.maxMessages,
        maxBytes: options.maxBytes ?? DEFAULT_OUTBOX_LIMITS.maxBytes,
      },
      this.#logger,
      this.#now,
      (fn) => this.transaction(fn),
    );
    this.history = new ReadingsHistory(this.#db);
    this.discovered = new DiscoveredDeviceStore(this.#db);
    this.desired = new DesiredStateStore(this.#db);
  }

  get isOpen(): boolean {
    return this.#db.open;
  }

  /**
   * Runs `fn` in one transaction: everything it writes commits together or not at all (it throws).
   * Nested calls become savepoints. `fn` must be synchronous.
   */
  transaction<T>(fn: () => T): T {
    // The outbox and the sequence numbers keep some of their state in memory and write it at the end of
    // a transaction (see outbox.ts, sequences.ts): a savepoint must start from the outer transaction's
    // numbers, and a rollback undoes the memory as well.
    if (this.#db.inTransaction) this.sequences.writePending();
    const savepoint = this.outbox.savepoint();
    try {
      return this.#runInTransaction(fn) as T;
    } catch (error) {
      this.outbox.rollback(savepoint);
      this.sequences.reset();
      throw error;
    }
  }

  /**
   * transaction(), with every pending snapshot and device state written in the same transaction, so a
   * burst of readings and the actors' bookkeeping it caused cost one commit, not two.
   */
  transactionWithPending<T>(fn: () => T): T {
    return this.#writeBehind.flushWith(fn);
  }

  /**
   * Enqueues a reading with its next sequence number, and records it in the history, in one
   * transaction: `buildPayload` receives the number to put in the payload. If anything throws, nothing
   * is written and the number is not used up.
   */
  enqueueReading(reading: ReadingDraft, buildPayload: (seq: number) => string): EnqueuedReading {
    const [enqueued] = this.enqueueReadings([reading], (_, seq) => buildPayload(seq));
    return enqueued as EnqueuedReading;
  }

  /**
   * enqueueReading() for a burst (`buildPayload` gets each reading's index and number), followed by
   * `others` in the outbox (the device states the burst changed): one statement per table, not per
   * reading. Inside a caller's transaction it opens no savepoint of its own (one per reading was a third
   * of the cost of a burst): a throw rolls back with the caller's transaction.
   */
  enqueueReadings(
    readings: readonly ReadingDraft[],
    buildPayload: (index: number, seq: number) => string,
    others: readonly OutboxDraft[] = [],
  ): EnqueuedReading[] {
    if (!this.#db.inTransaction) {
      return this.transaction(() => this.enqueueReadings(readings, buildPayload, others));
    }
    const drafts: OutboxDraft[] = [];
    const history: HistoricReading[] = [];
    const seqs: number[] = [];
    readings.forEach((reading, index) => {
      const seq = this.sequences.next(reading.deviceId);
      const payload = buildPayload(index, seq);
      const { topic, qos = 1, retain = false, ts = this.#now() } = reading;
      drafts.push({ topic, payload, qos, retain, kind: 'reading' });
      history.push({ deviceId: reading.deviceId, seq, ts, payload });
      seqs.push(seq);
    });
    const firstId = this.outbox.enqueueMany(others.length === 0 ? drafts : [...drafts, ...others]);
    this.history.recordMany(history);
    return seqs.map((seq, index) => ({ id: firstId + index, seq }));
  }

  /** Writes the pending snapshots and device states now (normally done once per burst). */
  flush(): boolean {
    return this.#writeBehind.flush();
  }

  /** Deletes history older than retention_days and gives freed space back; for a daily timer. */
  async cleanup(now: number = this.#now()): Promise<CleanupResult> {
    const keepGoing = () => this.#db.open;
    const historyDeleted = await this.history.deleteBefore(now - this.#retentionDays * DAY_MS, keepGoing);
    const pagesReleased = await this.history.releaseFreePages(keepGoing);
    if (historyDeleted > 0 || pagesReleased > 0) {
      this.#logger.info(
        `cleanup: deleted ${historyDeleted} readings older than ${this.#retentionDays} days, ` +
          `released ${pagesReleased} free pages`,
        { historyDeleted, pagesReleased },
      );
    }
    return { historyDeleted, pagesReleased };
  }

  /**
   * Applies reloaded settings (all but the path, which needs the database reopened): `synchronous` on
   * this connection at once, `retentionDays` from the next cleanup, the outbox bounds at once. Call it
   * outside a transaction (SQLite refuses to change `synchronous` inside one).
   */
  reconfigure(
    settings: Required<
      Pick<PersistenceOptions, 'synchronous' | 'retentionDays' | 'maxMessages' | 'maxBytes'>
    >,
  ): void {
    setSynchronous(this.#db, settings.synchronous);
    this.#retentionDays = settings.retentionDays;
    this.outbox.setLimits({ maxMessages: settings.maxMessages, maxBytes: settings.maxBytes });
  }

  /** The pragmas in force on this connection, read back from SQLite. */
  settings(): DatabaseSettings {
    const synchronous = this.#db.pragma('synchronous', { simple: true }) as number;
    const autoVacuum = this.#db.pragma('auto_vacuum', { simple: true }) as number;
    return {
      journalMode: String(this.#db.pragma('journal_mode', { simple: true })),
      synchronous: SYNCHRONOUS_NAMES[synchronous] ?? 'normal',
      autoVacuum: AUTO_VACUUM_NAMES[autoVacuum] ?? 'none',
    };
  }

  /** Flushes what is pending, folds the WAL back into the file and closes. Safe to call twice. */
  close(): void {
    if (!this.#db.open) return;
    try {
      this.outbox.flushAcks();
    } catch (error) {
      // They are sent again after the restart: a duplicate, not a loss.
      this.#logger.warn(`deleting acknowledged outbox messages failed: ${errorText(error)}`);
    }
    if (!this.#writeBehind.close()) {
      this.#logger.error('closing with unsaved snapshots and device states: the last flush failed');
    }
    try {
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (error) {
      // Another process reading the file (an export) can hold the WAL; closing is still safe.
      this.#logger.warn(`final WAL checkpoint failed: ${errorText(error)}`);
    }
    this.#db.close();
  }
}

/** Opens (creating, checking, migrating and if need be replacing) the database at `options.path`. */
export function openPersistence(options: PersistenceOptions): Persistence {
  return new Persistence(options);
}
