// Opens the one database file: checks it, sets it up (WAL, synchronous, incremental vacuum) and
// migrates it. Only a file that starts with the SQLite header is ever opened (databasePath.ts):
// anything else at the path, or a path that cannot hold a file, is somebody's mistake in the config
// and refused with a DatabaseFileError, touching nothing. So is an SQLite database that is not
// fieldbridge's, or is from a newer build. A database of ours that SQLite finds corrupt is moved aside,
// what it still holds is salvaged into a fresh one (salvage.ts), once, so a bad file can never make
// the gateway crash-loop. Any other failure (a full disk) is thrown as it is.

import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from '../logging/index.js';
import { DatabaseFileError, databasePathProblem } from './databasePath.js';
import { migrate, type Migration, MIGRATIONS, schemaVersion } from './migrations.js';
import { type Salvage, salvageInto } from './salvage.js';
import { errorText } from '../errorText.js';

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
  /**
   * False: a corrupt file is thrown as a CorruptDatabaseError and left where it is (`fieldbridge
   * export` must not move the database of a gateway that may be running). Default true.
   */
  replaceCorrupt?: boolean;
}

/** What happened to a corrupt database file; the bridge publishes it (`database_recovered` on bridge/event). */
export interface DatabaseRecovery extends Salvage {
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
/** SQLite's errors that say the path cannot hold a database, not that the file's data is bad. */
const PATH_ERROR_CODES =
  /^SQLITE_(CANTOPEN|READONLY|PERM|AUTH)|^(EACCES|EPERM|EROFS|EISDIR|ENOTDIR|ENOENT|ELOOP)$/;

/** The database is damaged; thrown as is only when replacing it is not wanted (see replaceCorrupt). */
export class CorruptDatabaseError extends Error {
  override name = 'CorruptDatabaseError';
}

export function openDatabase(options: DatabaseOptions): OpenedDatabase {
  const { path } = options;
  const problem = databasePathProblem(path);
  if (problem !== undefined) throw new DatabaseFileError(path, problem);
  try {
    mkdirSync(dirname(path), { recursive: true });
    return { db: openChecked(options), recovery: undefined };
  } catch (error) {
    const reason = corruptionReason(error);
    if (reason === undefined) throw asFileError(path, error);
    if (options.replaceCorrupt === false)
      throw new CorruptDatabaseError(`database ${path} is corrupt (${reason})`);
    return replaceCorrupt(options, reason);
  }
}

/** Moves the corrupt file aside and opens a fresh one with what could be salvaged. */
function replaceCorrupt(options: DatabaseOptions, reason: string): OpenedDatabase {
  const { path, logger } = options;
  const movedTo = moveAside(path, options.now());
  // A second failure is thrown: a fresh file that cannot be opened is not a corrupt file.
  const db = openChecked(options);
  let salvage: Salvage;
  try {
    salvage = salvageInto(db, movedTo, options.now());
  } catch (error) {
    db.close();
    throw error;
  }
  const counts = Object.entries(salvage.copied).map(([table, rows]) => `${table} ${rows}`);
  const damaged = salvage.damaged.length === 0 ? '' : ` (unreadable: ${shorten(salvage.damaged.join('; '))})`;
  const floor =
    salvage.sequenceFloor === undefined
      ? ''
      : `; some sequence numbers were lost: devices without one continue above ${salvage.sequenceFloor}`;
  logger.error(
    `database ${path} is corrupt (${reason}): moved it aside to ${movedTo} and started a fresh one ` +
      `with what could be read, rows per table: ${counts.join(', ')}${damaged}${floor}`,
    { path, movedTo, reason, ...salvage },
  );
  return { db, recovery: { movedTo, reason, ...salvage } };
}

/**
 * Throws a CorruptDatabaseError (or SQLite's own corruption error) when the file at `path` is damaged.
 * On a read-only connection: closing a writable one checkpoints and deletes the -wal next to it, which
 * may hold the last transactions and belongs with the file when it is moved aside.
 */
function checkIntegrity(path: string): void {
  if (!existsSync(path)) return;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    // At most a few problems: one is enough to know, and the reason ends up in a log line.
    const check = String(db.pragma('quick_check(5)', { simple: true }));
    if (check !== 'ok') throw new CorruptDatabaseError(`quick_check: ${shorten(check)}`);
  } finally {
    db.close();
  }
}

function openChecked(options: DatabaseOptions): Database.Database {
  checkIntegrity(options.path);
  const db = new Database(options.path);
  try {
    const migrations = options.migrations ?? MIGRATIONS;
    // Before configure(): WAL mode is written into the file's header.
    const foreign = foreignDatabaseProblem(db, options.path, migrations.length);
    if (foreign !== undefined) throw new DatabaseFileError(options.path, foreign);
    configure(db, options);
    for (const step of migrate(db, migrations)) {
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

/**
 * Why the sound SQLite database in `db` must not be used: it belongs to another program (tables, but
 * not ours), or to a newer fieldbridge. Undefined for a fresh file or one of ours.
 */
function foreignDatabaseProblem(db: Database.Database, path: string, latest: number): string | undefined {
  const version = schemaVersion(db);
  if (version > latest) {
    return (
      `${path} is the database of a newer fieldbridge: schema version ${version} is newer than this ` +
      `build supports (${latest}); run a newer fieldbridge or restore a backup`
    );
  }
  const tables = db
    .prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")
    .pluck()
    .all();
  // Every version of the schema has the outbox (migration 1); a file without it is not ours.
  const ours = version === 0 ? tables.length === 0 : tables.includes('outbox');
  if (ours) return undefined;
  return (
    `${path} is an SQLite database of another program (tables: ${shorten(tables.join(', '), 120)}), ` +
    "not fieldbridge's; fieldbridge never changes a file it did not create: correct persistence.path"
  );
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

function isEmpty(db: Database.Database): boolean {
  return db.prepare('SELECT 1 FROM sqlite_master LIMIT 1').get() === undefined;
}

/** `error` as a DatabaseFileError when it says the path cannot hold a database; else `error` itself. */
function asFileError(path: string, error: unknown): unknown {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (error instanceof DatabaseFileError || typeof code !== 'string' || !PATH_ERROR_CODES.test(code)) {
    return error;
  }
  return new DatabaseFileError(path, `${path} cannot be opened as a database: ${errorText(error)} (${code})`);
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

/**
 * Where the corrupt file goes: next to it, named by the time without colons (which some file systems
 * and tools refuse), in a form that sorts by time; `-2`, `-3`, … if that name is taken.
 */
function asideName(path: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/:/g, '-');
  const base = `${path}.corrupt-${stamp}`;
  const taken = (name: string) => [name, ...SIDE_FILES.map((suffix) => name + suffix)].some(existsSync);
  let candidate = base;
  for (let attempt = 2; taken(candidate); attempt += 1) candidate = `${base}-${attempt}`;
  return candidate;
}

function moveAside(path: string, now: number): string {
  const movedTo = asideName(path, now);
  renameSync(path, movedTo);
  // A stale WAL next to a fresh database would be read as its log; it belongs with the corrupt file.
  for (const suffix of SIDE_FILES) {
    if (existsSync(path + suffix)) renameSync(path + suffix, movedTo + suffix);
  }
  return movedTo;
}
