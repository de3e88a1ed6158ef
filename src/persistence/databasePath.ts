// Whether `persistence.path` can hold the gateway's database, decided from the file system alone: no
// SQLite (check-config must not load the native module) and nothing created or changed. Only a file
// that starts like an SQLite database is ever opened. Anything else there (the config file after a
// typo, a log, /etc/passwd) belongs to somebody else: replacing it would destroy it, so it is a
// mistake in the configuration, reported by check-config and refused by the gateway (exit code 2).

import {
  accessSync,
  closeSync,
  constants,
  openSync,
  readSync,
  type Stats,
  statfsSync,
  statSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { errorText } from '../errorText.js';

/** The first 16 bytes of every SQLite 3 database file. */
export const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** `persistence.path` cannot hold the database. Nothing was created, moved or changed. */
export class DatabaseFileError extends Error {
  override name = 'DatabaseFileError';
  /** The file, as given. */
  readonly path: string;
  /** What is wrong, naming the file: the text after `persistence.path: `. */
  readonly problem: string;

  constructor(path: string, problem: string) {
    super(`persistence.path: ${problem}`);
    this.path = path;
    this.problem = problem;
  }
}

/** Kernel file systems, by statfs magic: no database can live there, whatever root may write. */
const KERNEL_FILE_SYSTEMS = new Map([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
]);

type Lookup = { stats: Stats } | { missing: true } | { error: string };

function lookUp(path: string): Lookup {
  try {
    return { stats: statSync(path) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENOTDIR: a parent is a file; the walk up in creationProblem() finds and names it.
    if (code === 'ENOENT' || code === 'ENOTDIR') return { missing: true };
    return { error: errorText(error) };
  }
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isFIFO()) return 'a named pipe';
  if (stats.isSocket()) return 'a socket';
  return 'a file';
}

function kernelFileSystem(path: string): string | undefined {
  try {
    return KERNEL_FILE_SYSTEMS.get(statfsSync(path).type);
  } catch {
    return undefined;
  }
}

/** The errno text when this process may not access `path` as `mode` asks; undefined when it may. */
function accessProblem(path: string, mode: number): string | undefined {
  try {
    accessSync(path, mode);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? errorText(error);
  }
}

/** Up to 16 bytes from the start of the file (fewer when it is shorter). */
function readStart(path: string): Buffer {
  const start = Buffer.alloc(SQLITE_HEADER.length);
  const fd = openSync(path, 'r');
  try {
    return start.subarray(0, readSync(fd, start, 0, start.length, 0));
  } finally {
    closeSync(fd);
  }
}

/** The first bytes as text a user recognises, control characters shown as `?`. */
function quoteStart(start: Buffer): string {
  return JSON.stringify(start.toString('latin1').replace(/[^\x20-\x7e]/g, '?'));
}

/** Why a missing file cannot be created at `path`, or undefined if it can (as far as a look tells). */
function creationProblem(path: string): string | undefined {
  let ancestor = dirname(path);
  let lookup = lookUp(ancestor);
  while ('missing' in lookup && dirname(ancestor) !== ancestor) {
    ancestor = dirname(ancestor);
    lookup = lookUp(ancestor);
  }
  if ('error' in lookup) return `${path} cannot be created: ${lookup.error}`;
  if ('missing' in lookup || !lookup.stats.isDirectory()) {
    const what = 'missing' in lookup ? 'missing' : kindOf(lookup.stats);
    return `${path} cannot be created: ${ancestor} is ${what}, not a directory`;
  }
  const kernel = kernelFileSystem(ancestor);
  if (kernel !== undefined) return `${path} cannot be created: ${ancestor} is on ${kernel}, not a disk`;
  const denied = accessProblem(ancestor, constants.W_OK | constants.X_OK);
  if (denied !== undefined) {
    return `${path} cannot be created: no permission to write in ${ancestor} (${denied})`;
  }
  return undefined;
}

/**
 * Why `path` cannot hold the gateway's database, naming the file; undefined when it can: a missing
 * file whose directory exists or can be created, an empty file, or a file that starts with the SQLite
 * header (whether its content is sound is for SQLite to tell, see database.ts). Touches nothing.
 */
export function databasePathProblem(path: string): string | undefined {
  const lookup = lookUp(path);
  if ('error' in lookup) return `${path} cannot be examined: ${lookup.error}`;
  if ('missing' in lookup) return creationProblem(path);
  const { stats } = lookup;
  if (!stats.isFile()) return `${path} is ${kindOf(stats)}, not a database file`;
  const kernel = kernelFileSystem(path);
  if (kernel !== undefined) return `${path} is a file of ${kernel}, not a database file`;
  const unreadable = accessProblem(path, constants.R_OK | constants.W_OK);
  if (unreadable !== undefined) return `${path} cannot be read and written by this user (${unreadable})`;
  // SQLite keeps its -wal and -shm files next to the database.
  const directory = dirname(path);
  const denied = accessProblem(directory, constants.W_OK | constants.X_OK);
  if (denied !== undefined) {
    return `${path} cannot be used: no permission to create files in ${directory} (${denied}), where SQLite keeps its -wal and -shm files`;
  }
  const start = readStart(path);
  if (start.length > 0 && !start.equals(SQLITE_HEADER)) {
    return (
      `${path} is not an SQLite database (it starts with ${quoteStart(start)}); fieldbridge never ` +
      'replaces a file it did not create: correct persistence.path or move the file away'
    );
  }
  return undefined;
}
