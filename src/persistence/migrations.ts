// The schema, as an ordered list of migrations. Migration N (1-based: its index + 1) takes a database
// at `user_version` N-1 to N. Each runs in its own transaction together with the version bump, so a
// failure (or a crash) leaves the database at the last version that completed. Never edit a released
// migration: append a new one.

import type Database from 'better-sqlite3';

export interface Migration {
  /** Shown in the log when it runs. */
  description: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    description: 'snapshots, device states, sequences, outbox, readings history',
    up(db) {
      db.exec(`
        CREATE TABLE snapshots (
          device_id TEXT PRIMARY KEY,
          version   INTEGER NOT NULL,
          snapshot  TEXT NOT NULL,
          saved_at  INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE device_states (
          device_id TEXT PRIMARY KEY,
          state     TEXT NOT NULL,
          at        INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE sequences (
          device_id TEXT PRIMARY KEY,
          last_seq  INTEGER NOT NULL
        ) WITHOUT ROWID;

        -- AUTOINCREMENT: an id is never reused, even after the newest message was acknowledged, so a
        -- drainer's "after id" cursor and the broker-side dedup by id stay valid across restarts.
        CREATE TABLE outbox (
          id          INTEGER PRIMARY KEY AUTOINCREMENT,
          topic       TEXT NOT NULL,
          payload     TEXT NOT NULL,
          qos         INTEGER NOT NULL,
          retain      INTEGER NOT NULL,
          kind        TEXT NOT NULL,
          bytes       INTEGER NOT NULL,
          enqueued_at INTEGER NOT NULL
        );
        -- Overflow drops the oldest readings first: (kind, id) finds them without a scan.
        CREATE INDEX outbox_kind_id ON outbox (kind, id);
        -- Coalescing looks up the pending state message of one topic; only states need the index.
        CREATE INDEX outbox_state_topic ON outbox (topic) WHERE kind = 'state';

        -- One row of running totals, kept exact by the triggers in the same statement as the change,
        -- so stats() and the limit check never count a million rows.
        CREATE TABLE outbox_totals (
          id        INTEGER PRIMARY KEY CHECK (id = 1),
          depth     INTEGER NOT NULL,
          bytes     INTEGER NOT NULL,
          dropped   INTEGER NOT NULL,
          published INTEGER NOT NULL
        );
        INSERT INTO outbox_totals (id, depth, bytes, dropped, published) VALUES (1, 0, 0, 0, 0);
        CREATE TRIGGER outbox_counted_in AFTER INSERT ON outbox BEGIN
          UPDATE outbox_totals SET depth = depth + 1, bytes = bytes + NEW.bytes WHERE id = 1;
        END;
        CREATE TRIGGER outbox_counted_out AFTER DELETE ON outbox BEGIN
          UPDATE outbox_totals SET depth = depth - 1, bytes = bytes - OLD.bytes WHERE id = 1;
        END;

        CREATE TABLE readings_history (
          id        INTEGER PRIMARY KEY,
          device_id TEXT NOT NULL,
          seq       INTEGER NOT NULL,
          ts        INTEGER NOT NULL,
          payload   TEXT NOT NULL
        );
        CREATE INDEX readings_history_ts ON readings_history (ts);
        CREATE INDEX readings_history_device ON readings_history (device_id, seq);
      `);
    },
  },
  {
    description: 'devices found by bus scans',
    up(db) {
      db.exec(`
        CREATE TABLE discovered_devices (
          device_id TEXT PRIMARY KEY,
          config    TEXT NOT NULL,
          found_at  INTEGER NOT NULL
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    description: 'cheaper writes: outbox totals kept by the outbox, no kind and no per-device history index',
    up(db) {
      // Per message the triggers and the (kind, id) index cost more than the insert itself. The totals
      // row stays, exact as of this migration; Outbox writes it at the end of every transaction. The
      // limiter finds the oldest readings by id (see outboxLimits.ts). The per-device history index
      // put a page of its own per device into every commit, a third of what a burst of readings
      // wrote; history is read by time (readings_history_ts), see history.ts.
      db.exec(`
        DROP TRIGGER outbox_counted_in;
        DROP TRIGGER outbox_counted_out;
        DROP INDEX outbox_kind_id;
        DROP INDEX readings_history_device;
      `);
    },
  },
  {
    description: 'desired (last commanded) device states',
    up(db) {
      db.exec(`
        CREATE TABLE desired_states (
          device_id TEXT PRIMARY KEY,
          state     TEXT NOT NULL,
          at        INTEGER NOT NULL
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    description: 'BLE sensors removed on request, which auto_add must not take again',
    up(db) {
      db.exec(`
        CREATE TABLE forgotten_ble_sensors (
          mac          TEXT PRIMARY KEY,
          device_id    TEXT NOT NULL,
          forgotten_at INTEGER NOT NULL
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    description: 'sequence floor for devices whose numbers a corrupt database lost',
    up(db) {
      // One row, set by salvage.ts when a corrupt file's sequences could not all be read: a device
      // with no row in `sequences` continues above it, never from 1 again.
      db.exec(`
        CREATE TABLE sequence_floor (
          id    INTEGER PRIMARY KEY CHECK (id = 1),
          floor INTEGER NOT NULL
        );
      `);
    },
  },
  {
    description: 'devices removed on request, of any driver, by the key their driver remembers them by',
    up(db) {
      // One table for every driver (DriverModule.forgetKey) instead of one per driver. The sensors the
      // table it replaces remembers were BLE's, by MAC: that driver's forget key.
      db.exec(`
        CREATE TABLE forgotten_devices (
          driver       TEXT NOT NULL,
          key          TEXT NOT NULL,
          device_id    TEXT NOT NULL,
          forgotten_at INTEGER NOT NULL,
          PRIMARY KEY (driver, key)
        ) WITHOUT ROWID;
        INSERT INTO forgotten_devices (driver, key, device_id, forgotten_at)
          SELECT 'ble', mac, device_id, forgotten_at FROM forgotten_ble_sensors;
        DROP TABLE forgotten_ble_sensors;
      `);
    },
  },
];

export interface MigrationStep {
  version: number;
  description: string;
}

/** The `user_version` of `db`. */
export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings `db` up to the last migration, one transaction per step, and returns the steps that ran.
 * A database from a newer build is refused rather than guessed at: it is not corrupt, and moving it
 * aside would lose its data.
 */
export function migrate(
  db: Database.Database,
  migrations: readonly Migration[] = MIGRATIONS,
): MigrationStep[] {
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new Error(
      `database schema version ${current} is newer than this build supports (${migrations.length}); ` +
        'run a newer fieldbridge or restore a backup',
    );
  }
  const applied: MigrationStep[] = [];
  migrations.slice(current).forEach((migration, index) => {
    const version = current + index + 1;
    db.transaction(() => {
      migration.up(db);
      // user_version lives in the database header, which is part of the transaction.
      db.pragma(`user_version = ${version}`);
    })();
    applied.push({ version, description: migration.description });
  });
  return applied;
}
