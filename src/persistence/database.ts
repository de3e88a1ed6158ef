// Opens the one database file: checks it, sets it up (WAL, synchronous, incremental vacuum) and
// migrates it. A file that is corrupt, or not a database at all, is moved aside and replaced by a
// fresh one, once, so a bad file can never make the gateway crash-loop; every other failure (a
// permission problem, a full disk, a database from a newer build) is thrown, because moving the file
// aside would throw away good data for a problem that is not in the file.

import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from '../logging/index.js';
import { migrate, type Migration, MIGRATIONS } from './migrations.js';

export type SynchronousMode = 'normal' | 'full';

/** Sets how hard SQLite syncs on this connection (not inside a transaction: SQLite refuses it there). */
export function setSynchronous(db: Database.Database, mode: SynchronousMode): void {
  db.pragma(`synchronous = ${mode === 'full' ? 'FULL' : 'NORMAL'}`);
}

export interface DatabaseOptions {
  path: string;
  /** `normal` survives a process crash (WAL is fsynced at checkpoints), `full` also a power cut. */
  synchronous: SynchronousMode;
  logger: Logger;
  now: () => number;
  migrations?: readonly Migration[];
}

/** What happened to a corrupt database file; the gateway publishes it besides the log line. */
export interface DatabaseRecovery {
  /** Where the corrupt file now is (its -wal/-shm next to it with the same suffixes). */
  movedTo: string;
  /** Why it was considered corrupt: the quick_check result or SQLite's error. */
  reason: string;
}

export interface OpenedDatabase {
  db: Database.Database;
  recovery: DatabaseRecovery | undefined;
}

/** After a checkpoint, SQLite truncates a WAL larger than this (a backlog burst can grow it a lot). */
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;
/**
 * WAL pages between automatic checkpoints (SQLite's default is 1,000). A checkpoint blocks the event
 * loop on two fsyncs; at 1,000 pages a busy gateway (10,000 readings/s, ~15 pages a commit) ran one
 * every ~50 ms. Fewer, larger ones cost less in all but stall longer each (the fsync writes out what
 * the WAL gained since the last one, up to 16 MB at 4,000 pages): a quarter of the checkpoints, each
 * still short next to the latency goal (measured: p99 3-6 ms at 1,000 readings/s, as with 10,000).
 * Durability is unchanged: with `normal` a commit never waited for an fsync, with `full` it still does.
 */
const WAL_AUTOCHECKPOINT_PAGES = 4_000;
/**
 * SQLite's page cache, in KiB (negative: a size, not a page count). better-sqlite3 builds SQLite with
 * 16 MB; the gateway's hot pages (the ends of the outbox and the history, the per-device rows) fit in
 * far less, and a backlog is read once, in order. 4 MB keeps 12 MB off the resident set.
 */
const CACHE_KIB = 4_096;
const SIDE_FILES = ['-wal', '-shm', '-journal'];
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

class CorruptDatabaseError extends Error {}

export function openDatabase(options: DatabaseOptions): OpenedDatabase {
  mkdirSync(dirname(options.path), { recursive: true });
  try {
    return { db: openChecked(options), recovery: undefined };
  } catch (error) {
    const reason = corruptionReason(error);
    if (reason === undefined) throw error;
    const movedTo = moveAside(options.path, new Date(options.now()).toISOString());
    options.logger.error(
      `database ${options.path} is corrupt (${reason}): moved it aside to ${movedTo} and started a fresh ` +
        'one; the snapshots, device states and queued messages in it are not used',
      { path: options.path, movedTo, reason },
    );
    // A second failure is thrown: a fresh file that cannot be opened is not a corrupt file.
    return { db: openChecked(options), recovery: { movedTo, reason } };
  }
}

function openChecked(options: DatabaseOptions): Database.Database {
  // Checked before SQLite sees the file: closing a connection to a file it cannot read deletes the
  // -wal next to it, which belongs with the moved file (it may hold the last transactions).
  if (!hasSqliteHeader(options.path)) throw new CorruptDatabaseError('not an SQLite database (wrong header)');
  const db = new Database(options.path);
  try {
    // At most a few problems: one is enough to know, and the reason ends up in a log line and on MQTT.
    const check = String(db.pragma('quick_check(5)', { simple: true }));
    if (check !== 'ok') throw new CorruptDatabaseError(`quick_check: ${shorten(check)}`);
    configure(db, options);
    for (const step of migrate(db, options.migrations ?? MIGRATIONS)) {
      options.logger.info(`database schema migrated to version ${step.version}: ${step.description}`, {
        path: options.path,
      });
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function configure(db: Database.Database, options: DatabaseOptions): void {
  // Incremental vacuum lets cleanup() give back the space of a drained backlog. It can only be chosen
  // before the first table exists, so only a fresh file gets it.
  if (isEmpty(db)) db.pragma('auto_vacuum = INCREMENTAL');
  const journalMode = String(db.pragma('journal_mode = WAL', { simple: true }));
  if (journalMode !== 'wal') {
    options.logger.warn(
      `database ${options.path} could not use WAL (journal mode ${journalMode}); writes are slower`,
    );
  }
  setSynchronous(db, options.synchronous);
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  db.pragma(`cache_size = -${CACHE_KIB}`);
}

/** True for a missing or empty file (SQLite creates it) and for a file that starts like a database. */
function hasSqliteHeader(path: string): boolean {
  if (!existsSync(path)) return true;
  const header = Buffer.alloc(SQLITE_HEADER.length);
  const fd = openSync(path, 'r');
  try {
    const read = readSync(fd, header, 0, header.length, 0);
    return read === 0 || (read === header.length && header.equals(SQLITE_HEADER));
  } finally {
    closeSync(fd);
  }
}

function isEmpty(db: Database.Database): boolean {
  return db.prepare('SELECT 1 FROM sqlite_master LIMIT 1').get() === undefined;
}

/** The reason text when `error` means the file itself is damaged; undefined for any other failure. */
function corruptionReason(error: unknown): string | undefined {
  if (error instanceof CorruptDatabaseError) return error.message;
  if (error instanceof Database.SqliteError) {
    const { code } = error;
    if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) return `${code}: ${error.message}`;
  }
  return undefined;
}

function shorten(text: string, maxLength = 300): string {
  const oneLine = text.replace(/\s*\n\s*/g, '; ');
  return oneLine.length <= maxLength ? oneLine : `${oneLine.slice(0, maxLength - 1)}…`;
}

function moveAside(path: string, isoTimestamp: string): string {
  const movedTo = `${path}.corrupt-${isoTimestamp}`;
  renameSync(path, movedTo);
  // A stale WAL next to a fresh database would be read as its log; it belongs with the corrupt file.
  for (const suffix of SIDE_FILES) {
    if (existsSync(path + suffix)) renameSync(path + suffix, movedTo + suffix);
  }
  return movedTo;
}
