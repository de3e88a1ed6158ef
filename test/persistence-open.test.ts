import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogs, type LogCapture } from '../src/logging/index.js';
import { DatabaseFileError } from '../src/persistence/databasePath.js';
import { migrate, type Migration, MIGRATIONS, schemaVersion } from '../src/persistence/migrations.js';
import { persistenceFixture, reading } from './helpers/persistenceFiles.js';

const { dbPath, open } = persistenceFixture();

let capture: LogCapture | undefined;
afterEach(() => {
  capture?.stop();
  capture = undefined;
});

function logs(): string[] {
  capture ??= captureLogs({ level: 'debug' });
  return capture.entries.map((entry) => `${entry.level} ${entry.msg}`);
}

/** Reads a finished database with a separate connection, as an operator would. */
function inspect<T>(path: string, read: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

const tableNames = (db: Database.Database) =>
  db.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();

describe('opening the database', () => {
  it('creates the directory and migrates an empty file to the latest schema', () => {
    logs();
    const path = dbPath();
    expect(existsSync(dirname(path))).toBe(false);
    const persistence = open({ path });
    expect(persistence.recovery).toBeUndefined();
    persistence.close();
    inspect(path, (db) => {
      expect(schemaVersion(db)).toBe(MIGRATIONS.length);
      expect(tableNames(db)).toEqual(
        expect.arrayContaining([
          'device_states',
          'outbox',
          'outbox_totals',
          'readings_history',
          'sequences',
          'snapshots',
        ]),
      );
    });
    expect(logs()).toContain(`info database schema migrated to version 1: ${MIGRATIONS[0]?.description}`);
  });

  it('reopens an existing database without migrating again and keeps its data', () => {
    const path = dbPath();
    const first = open({ path });
    first.outbox.enqueue(reading('fb/a', '1'));
    first.close();
    logs();
    const second = open({ path });
    expect(second.outbox.stats().depth).toBe(1);
    expect(logs().filter((line) => line.includes('migrated'))).toEqual([]);
    second.close();
    inspect(path, (db) => expect(schemaVersion(db)).toBe(MIGRATIONS.length));
  });

  it('runs each migration in its own transaction: a failing one leaves the previous version', () => {
    const db = new Database(':memory:');
    const steps: Migration[] = [
      { description: 'one', up: (d) => d.exec('CREATE TABLE one (x)') },
      {
        description: 'two',
        up: (d) => {
          d.exec('CREATE TABLE two (x)');
          throw new Error('migration two failed');
        },
      },
    ];
    expect(() => migrate(db, steps)).toThrow('migration two failed');
    expect(schemaVersion(db)).toBe(1);
    expect(tableNames(db)).toEqual(['one']);
    expect(migrate(db, steps.slice(0, 1))).toEqual([]);
    db.close();
  });

  it('refuses a database from a newer build without touching it', () => {
    const path = dbPath();
    open({ path }).close();
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    expect(() => open({ path })).toThrow(/schema version 99 is newer/);
    expect(() => open({ path })).toThrow(DatabaseFileError);
    expect(readdirSync(dirname(path)).filter((name) => name.includes('corrupt'))).toEqual([]);
  });

  it.each(['normal', 'full'] as const)('uses WAL and synchronous=%s', (synchronous) => {
    const persistence = open({ path: dbPath(), synchronous });
    expect(persistence.settings()).toEqual({ journalMode: 'wal', synchronous, autoVacuum: 'incremental' });
  });

  it('defaults to synchronous=normal', () => {
    expect(open({ path: dbPath() }).settings().synchronous).toBe('normal');
  });
});

describe('a corrupt database file', () => {
  const now = () => Date.parse('2026-11-22T03:41:00.123Z');

  it('with damaged pages fails quick_check and is replaced, with the reason recorded', () => {
    const path = dbPath();
    const first = open({ path });
    first.transaction(() => {
      for (let i = 0; i < 2_000; i += 1) first.outbox.enqueue(reading(`fb/${i}`, 'x'.repeat(100)));
    });
    first.close();
    // Overwrite pages in the middle of the file (the header on page 1 stays valid).
    const bytes = readFileSync(path);
    bytes.fill(0xa5, 8_192, bytes.length - 8_192);
    writeFileSync(path, bytes);
    logs();

    const persistence = open({ path, now });

    expect(persistence.recovery?.movedTo).toBe(
      join(dirname(path), `${basename(path)}.corrupt-2026-11-22T03-41-00.123Z`),
    );
    expect(persistence.recovery?.reason).toMatch(/quick_check|SQLITE_CORRUPT/);
    expect(persistence.outbox.stats().depth).toBe(persistence.recovery?.copied.outbox);
    expect(logs().filter((line) => line.startsWith('error'))).toHaveLength(1);
  });
});
