import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
