// Persisted actor snapshots, one per device, so a restarted gateway resumes each connection machine
// where it was. save() is called on every transition, so it only records the newest snapshot in
// memory; the write-behind stores them in batches (see writeBehind.ts). A snapshot written by another
// machine version cannot be restored safely and is discarded on load.

import type Database from 'better-sqlite3';
import type { Logger } from '../logging/index.js';
import type { PendingWrites, WriteBehind } from './writeBehind.js';
import { errorText } from '../errorText.js';

export interface StoredSnapshot {
  /** The machine version that wrote it (always the caller's current version when returned). */
  version: number;
  snapshot: unknown;
  /** When save() was called, ms since the epoch. */
  savedAt: number;
}

interface PendingSnapshot {
  version: number;
  snapshot: unknown;
  savedAt: number;
}

interface SnapshotRow {
  version: number;
  snapshot: string;
  saved_at: number;
}

export class SnapshotStore implements PendingWrites {
  readonly #pending = new Map<string, PendingSnapshot>();
  readonly #writeBehind: WriteBehind;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #upsert: Database.Statement<[string, number, string, number]>;
  readonly #select: Database.Statement<[string], SnapshotRow>;
  readonly #delete: Database.Statement<[string]>;

  constructor(db: Database.Database, writeBehind: WriteBehind, logger: Logger, now: () => number) {
    this.#writeBehind = writeBehind;
    this.#logger = logger;
    this.#now = now;
    this.#upsert = db.prepare(
      `INSERT INTO snapshots (device_id, version, snapshot, saved_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (device_id) DO UPDATE SET
         version = excluded.version, snapshot = excluded.snapshot, saved_at = excluded.saved_at`,
    );
    this.#select = db.prepare('SELECT version, snapshot, saved_at FROM snapshots WHERE device_id = ?');
    this.#delete = db.prepare('DELETE FROM snapshots WHERE device_id = ?');
    writeBehind.register(this);
  }

  /**
   * Records the newest snapshot of a device; it reaches the disk with the next flush. The value is
   * serialized at flush time, so it must not be mutated afterwards (XState's getPersistedSnapshot()
   * returns a fresh object each time).
   */
  save(deviceId: string, machineVersion: number, snapshot: unknown): void {
    if (this.#writeBehind.closed) {
      this.#logger.debug(`snapshot of ${deviceId} ignored: persistence is closed`);
      return;
    }
    this.#pending.set(deviceId, { version: machineVersion, snapshot, savedAt: this.#now() });
    this.#writeBehind.schedule();
  }

  /**
   * The newest snapshot of a device, pending or stored; undefined when there is none or when it was
   * written by another machine version (that one is deleted, with one log line).
   */
  load(deviceId: string, currentVersion: number): StoredSnapshot | undefined {
    const stored = this.#pending.get(deviceId) ?? this.#readStored(deviceId);
    if (stored === undefined) return undefined;
    if (stored.version !== currentVersion) {
      this.#logger.info(
        `discarded the snapshot of ${deviceId}: written by machine version ${stored.version}, ` +
          `this is version ${currentVersion}; the device starts afresh`,
        { deviceId, snapshotVersion: stored.version, currentVersion },
      );
      this.remove(deviceId);
      return undefined;
    }
    return stored;
  }

  /** Forgets a device's snapshot (the device was removed from the config). */
  remove(deviceId: string): void {
    this.#pending.delete(deviceId);
    this.#delete.run(deviceId);
  }

  get hasPending(): boolean {
    return this.#pending.size > 0;
  }

  writePending(): void {
    for (const [deviceId, pending] of this.#pending) {
      const json = this.#serialize(deviceId, pending.snapshot);
      if (json !== undefined) this.#upsert.run(deviceId, pending.version, json, pending.savedAt);
    }
  }

  clearPending(): void {
    this.#pending.clear();
  }

  #readStored(deviceId: string): StoredSnapshot | undefined {
    const row = this.#select.get(deviceId);
    if (row === undefined) return undefined;
    try {
      return { version: row.version, snapshot: JSON.parse(row.snapshot), savedAt: row.saved_at };
    } catch (error) {
      this.#logger.warn(`discarded the unreadable snapshot of ${deviceId}: ${errorText(error)}`, {
        deviceId,
      });
      this.#delete.run(deviceId);
      return undefined;
    }
  }

  /** One unserializable snapshot (a cycle, a BigInt) must not keep the others from being saved. */
  #serialize(deviceId: string, snapshot: unknown): string | undefined {
    try {
      const json = JSON.stringify(snapshot);
      if (json !== undefined) return json;
      throw new Error('not JSON-serializable');
    } catch (error) {
      this.#logger.error(`snapshot of ${deviceId} not saved: ${errorText(error)}`, { deviceId });
      return undefined;
    }
  }
}
