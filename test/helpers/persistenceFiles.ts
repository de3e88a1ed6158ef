import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach } from 'vitest';
import { openPersistence, type Persistence, type PersistenceOptions } from '../../src/persistence/index.js';

/**
 * Temp directories and open databases for one test file: every database opened through the returned
 * `open` is closed, and every directory removed, after each test.
 */
export function persistenceFixture() {
  const directories: string[] = [];
  const opened: Persistence[] = [];

  afterEach(() => {
    for (const persistence of opened.splice(0)) persistence.close();
    for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
  });

  /** A fresh temp directory; `data/fieldbridge.db` inside it does not exist yet (nor does `data/`). */
  function dbPath(): string {
    const directory = mkdtempSync(join(tmpdir(), 'fieldbridge-persistence-'));
    directories.push(directory);
    return join(directory, 'data', 'fieldbridge.db');
  }

  function open(options: Partial<PersistenceOptions> & { path: string }): Persistence {
    const persistence = openPersistence(options);
    opened.push(persistence);
    return persistence;
  }

  return { dbPath, open };
}

/** A small reading for the outbox. */
export function reading(topic: string, payload: string) {
  return { topic, payload, qos: 1, retain: false, kind: 'reading' } as const;
}

/** A retained state message for the outbox. */
export function state(topic: string, payload: string) {
  return { topic, payload, qos: 1, retain: true, kind: 'state' } as const;
}

/** An event for the outbox. */
export function event(topic: string, payload: string) {
  return { topic, payload, qos: 1, retain: false, kind: 'event' } as const;
}

/** One b-tree leaf page of a table, and how many rows (cells) it holds. */
export interface LeafPage {
  page: number;
  rows: number;
}

/**
 * Overwrites leaf pages of `table` in the closed database at `path` with garbage, as a failing disk
 * would: `pick` chooses among the table's leaf pages (in key order for rows inserted in key order).
 * Page 1, with the file header, is never one of them. Returns the pages it damaged.
 */
export function damageLeafPages(
  path: string,
  table: string,
  pick: (pages: LeafPage[]) => LeafPage[],
): LeafPage[] {
  const db = new Database(path, { readonly: true });
  let pages: LeafPage[];
  let pageSize: number;
  try {
    pages = db
      .prepare<[string], LeafPage>(
        "SELECT pageno AS page, ncell AS rows FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY path",
      )
      .all(table);
    pageSize = db.pragma('page_size', { simple: true }) as number;
  } finally {
    db.close();
  }
  const chosen = pick(pages);
  const fd = openSync(path, 'r+');
  try {
    for (const { page } of chosen)
      writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (page - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
  return chosen;
}
