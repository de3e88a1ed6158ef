import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DatabaseFileError, databasePathProblem } from '../src/persistence/databasePath.js';
import { persistenceFixture } from './helpers/persistenceFiles.js';

const { dbPath, open } = persistenceFixture();

/** Opening `path` is refused with a DatabaseFileError; returns its problem text. */
function refusal(path: string): string {
  try {
    open({ path });
  } catch (error) {
    expect(error).toBeInstanceOf(DatabaseFileError);
    expect((error as DatabaseFileError).path).toBe(path);
    return (error as DatabaseFileError).problem;
  }
  throw new Error(`${path} was opened`);
}

/** A file in a fresh directory of its own, with `content`. */
function userFile(content: string | Buffer): string {
  const path = dbPath();
  mkdirSync(dirname(path));
  writeFileSync(path, content);
  return path;
}

describe('a persistence.path that is not a database of ours', () => {
  it.each([
    [
      'a config file',
      'mqtt:\n  url: mqtt://localhost\npersistence:\n  path: ./fieldbridge.yaml\n',
      '"mqtt:?  url: mqt"',
    ],
    ['a log', '2026-12-05T21:00:00Z INFO started\n'.repeat(50), '"2026-12-05T21:00"'],
    ['a file as short as half the header', 'SQLite f', '"SQLite f"'],
  ])('(%s) is refused, named, and left byte for byte as it was', (_, content, start) => {
    const path = userFile(content);
    const before = readFileSync(path);

    const problem = refusal(path);

    expect(problem).toBe(
      `${path} is not an SQLite database (it starts with ${start}); fieldbridge never replaces a file ` +
        'it did not create: correct persistence.path or move the file away',
    );
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readdirSync(dirname(path))).toEqual(['fieldbridge.db']);
    expect(databasePathProblem(path)).toBe(problem);
  });

  it('an SQLite database of another program is refused and not changed (no schema, no WAL)', () => {
    const path = userFile('');
    const other = new Database(path);
    other.exec(
      "CREATE TABLE states (entity_id TEXT, state TEXT); INSERT INTO states VALUES ('sun.sun', 'above')",
    );
    other.close();
    const before = readFileSync(path);

    expect(refusal(path)).toMatch(
      /is an SQLite database of another program \(tables: states\), not fieldbridge's/,
    );
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readdirSync(dirname(path))).toEqual(['fieldbridge.db']);
  });

  it('an empty file is taken as a new database (SQLite itself does the same)', () => {
    const path = userFile('');
    expect(databasePathProblem(path)).toBeUndefined();
    expect(open({ path }).recovery).toBeUndefined();
  });
});

describe('a persistence.path that cannot hold a database', () => {
  it('a directory', () => {
    const path = dbPath();
    mkdirSync(path, { recursive: true });
    expect(refusal(path)).toBe(`${path} is a directory, not a database file`);
    expect(readdirSync(path)).toEqual([]);
  });

  it('a device (/dev/null)', () => {
    expect(refusal('/dev/null')).toBe('/dev/null is a character device, not a database file');
  });

  it('a path under a file, which no one (not even root) can create', () => {
    const file = userFile('just a file');
    const path = join(file, 'data', 'fieldbridge.db');
    expect(refusal(path)).toBe(`${path} cannot be created: ${file} is a file, not a directory`);
    expect(readFileSync(file, 'utf8')).toBe('just a file');
  });

  it('a path in /proc, existing or not', () => {
    expect(refusal('/proc/version')).toBe('/proc/version is a file of procfs, not a database file');
    expect(refusal('/proc/fieldbridge/fieldbridge.db')).toBe(
      '/proc/fieldbridge/fieldbridge.db cannot be created: /proc is on procfs, not a disk',
    );
  });

  it('a missing file in a directory that can be created is fine, and looking creates nothing', () => {
    const path = dbPath();
    expect(databasePathProblem(path)).toBeUndefined();
    expect(readdirSync(dirname(dirname(path)))).toEqual([]);
  });
});
