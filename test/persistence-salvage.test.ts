import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { captureLogs, type LogCapture } from '../src/logging/index.js';
import { migrate, MIGRATIONS } from '../src/persistence/migrations.js';
import type { Persistence } from '../src/persistence/index.js';
import { damageLeafPages, persistenceFixture } from './helpers/persistenceFiles.js';

const { dbPath, open } = persistenceFixture();
const now = () => Date.parse('2026-11-22T03:41:00.123Z');

let capture: LogCapture | undefined;
afterEach(() => {
  capture?.stop();
  capture = undefined;
});

function errorLines(): string[] {
  return (capture?.entries ?? []).filter((entry) => entry.level === 'error').map((entry) => entry.msg);
}

/** `count` readings of `deviceId`, in transactions of 100, each with its number in the payload. */
function writeReadings(persistence: Persistence, deviceId: string, count: number): void {
  for (let done = 0; done < count; done += 100) {
    const readings = Array.from({ length: Math.min(100, count - done) }, () => ({
      deviceId,
      topic: `fieldbridge/${deviceId}/reading`,
    }));
    persistence.enqueueReadings(readings, (_, seq) => JSON.stringify({ seq, value: 'x'.repeat(40) }));
  }
}

/** A database with readings of two meters and a row in every other table, closed. */
function filledDatabase(path: string): void {
  const persistence = open({ path, now });
  writeReadings(persistence, 'meter1', 3_000);
  writeReadings(persistence, 'meter2', 500);
  persistence.states.save('meter1', { energy_kwh: 12.5 }, now());
  persistence.snapshots.save('meter1', 3, { value: 'active' });
  persistence.flush();
  persistence.desired.merge('lamp1', { state: 'ON' }, now());
  persistence.discovered.save({ id: 'lamp9', config: { id: 'lamp9', driver: 'dali' }, foundAt: now() });
  persistence.discovered.forget('ble', 'A4:C1:38:00:00:01', 'ble_a4c138000001', now());
  persistence.close();
}

function openRecovered(path: string): Persistence {
  capture = captureLogs({ level: 'debug' });
  const persistence = open({ path, now });
  expect(persistence.recovery).toBeDefined();
  return persistence;
}

describe('recovering a corrupt database', () => {
  it('loses only the rows on a damaged outbox page: the queue, the history and every store are salvaged', () => {
    const path = dbPath();
    filledDatabase(path);
    const [damaged] = damageLeafPages(path, 'outbox', (pages) => [pages[Math.floor(pages.length / 2)]!]);

    const persistence = openRecovered(path);

    const recovery = persistence.recovery!;
    expect(recovery.reason).toMatch(/quick_check|SQLITE_CORRUPT/);
    expect(recovery.copied).toEqual({
      sequences: 2,
      sequence_floor: 0,
      outbox: 3_500 - damaged!.rows,
      readings_history: 3_500,
      desired_states: 1,
      device_states: 1,
      discovered_devices: 1,
      snapshots: 1,
      forgotten_devices: 1,
    });
    expect(recovery.damaged).toEqual([expect.stringMatching(/^outbox: /)]);
    expect(persistence.outbox.stats().depth).toBe(3_500 - damaged!.rows);
    const queued = persistence.outbox.peek(4_000);
    expect(queued[0]?.id).toBe(1);
    expect(queued.at(-1)?.id).toBe(3_500);
    expect(persistence.history.list('meter1', 0, 4_000)).toHaveLength(3_000);
    expect(persistence.states.all()).toEqual([expect.objectContaining({ deviceId: 'meter1' })]);
    expect(persistence.snapshots.load('meter1', 3)).toBeDefined();
    expect(persistence.desired.get('lamp1')).toEqual({ state: 'ON' });
    expect(persistence.discovered.list().map((device) => device.id)).toEqual(['lamp9']);
    expect(persistence.discovered.forgottenKeys('ble')).toEqual(new Set(['A4:C1:38:00:00:01']));
    // The sequences table was read whole: numbering goes on without a jump.
    expect(recovery.sequenceFloor).toBeUndefined();
    expect(persistence.sequences.next('meter1')).toBe(3_001);
    expect(persistence.sequences.next('meter2')).toBe(501);
    expect(
      persistence.outbox.enqueue({ topic: 't', payload: 'p', qos: 1, retain: false, kind: 'event' }),
    ).toBe(3_501);
    // One line says what happened, where the file went and what was saved.
    expect(errorLines()).toEqual([expect.stringContaining(`moved it aside to ${recovery.movedTo}`)]);
    expect(errorLines()[0]).toContain(`outbox ${3_500 - damaged!.rows}, readings_history 3500`);
  });

  it('hands out no number twice when the sequences table is lost, for known and unknown devices', () => {
    const path = dbPath();
    filledDatabase(path);
    damageLeafPages(path, 'sequences', (pages) => pages);
    const before = Date.now();

    const persistence = openRecovered(path);

    const floor = persistence.recovery!.sequenceFloor!;
    expect(persistence.recovery!.damaged).toEqual([expect.stringMatching(/^sequences: /)]);
    expect(persistence.recovery!.copied.readings_history).toBe(3_500);
    // Above the current time in ms (and the file's mtime), so above anything a device counted to.
    expect(floor).toBeGreaterThanOrEqual(before - 1_000);
    expect(persistence.sequences.next('meter1')).toBe(floor + 1);
    expect(persistence.sequences.next('meter2')).toBe(floor + 1);
    expect(persistence.sequences.next('a-device-whose-row-may-have-been-lost')).toBe(floor + 1);
    expect(errorLines()[0]).toContain(`devices without one continue above ${floor}`);
    persistence.close();

    // The floor is kept: after a restart a device with no row yet still starts above it.
    const reopened = open({ path, now });
    expect(reopened.recovery).toBeUndefined();
    expect(reopened.sequences.next('meter1')).toBe(floor + 2);
    expect(reopened.sequences.next('meter3')).toBe(floor + 1);
  });

  it('keeps the floor of an earlier recovery when the file is damaged again', () => {
    const path = dbPath();
    mkdirSync(dirname(path));
    writeFileSync(
      path,
      Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), Buffer.alloc(4_000, 0xa5)]),
    );
    const first = openRecovered(path);
    const floor = first.recovery!.sequenceFloor!;
    writeReadings(first, 'meter1', 200);
    first.close();
    damageLeafPages(path, 'outbox', (pages) => pages.slice(0, 1));

    const second = openRecovered(path);

    expect(second.recovery!.sequenceFloor).toBeUndefined();
    expect(second.recovery!.copied.sequence_floor).toBe(1);
    expect(second.sequences.next('meter1')).toBe(floor + 201);
    expect(second.sequences.next('meter2')).toBe(floor + 1);
  });

  it('with a file SQLite cannot read at all, restarts numbering above a time-based floor, once', () => {
    const path = dbPath();
    mkdirSync(dirname(path));
    writeFileSync(
      path,
      Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), Buffer.alloc(4_000, 0xa5)]),
    );
    const before = Date.now();

    const persistence = openRecovered(path);

    expect(persistence.recovery!.reason).toMatch(/SQLITE_NOTADB/);
    expect(persistence.recovery!.damaged).toEqual([expect.stringMatching(/^the whole file: /)]);
    expect(Object.values(persistence.recovery!.copied).every((rows) => rows === 0)).toBe(true);
    expect(persistence.recovery!.sequenceFloor).toBeGreaterThanOrEqual(before - 1_000);
    expect(persistence.sequences.next('meter1')).toBe(persistence.recovery!.sequenceFloor! + 1);
    persistence.close();
    // Replaced once: the fresh file opens normally the next time.
    expect(open({ path, now }).recovery).toBeUndefined();
  });

  it('moves the file aside under a name with no colon, sorted by time and never reused', () => {
    const path = dbPath();
    const garbage = Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), Buffer.alloc(4_000, 0xa5)]);
    mkdirSync(dirname(path));
    writeFileSync(path, garbage);
    writeFileSync(`${path}-wal`, 'stale wal');
    const first = openRecovered(path).recovery!.movedTo;
    open({ path, now }).close();
    writeFileSync(path, garbage);
    const second = openRecovered(path).recovery!.movedTo;

    const name = `${basename(path)}.corrupt-2026-11-22T03-41-00.123Z`;
    expect(basename(first)).toBe(name);
    expect(basename(second)).toBe(`${name}-2`);
    expect(existsSync(`${first}-wal`)).toBe(true);
    expect(readdirSync(dirname(path)).filter((file) => file.includes(':'))).toEqual([]);
  });

  it('salvages the devices a file of an older schema kept forgotten in the table since replaced', () => {
    const path = dbPath();
    mkdirSync(dirname(path));
    // Schema version 6: forgotten sensors in forgotten_ble_sensors (migration 7 moved them).
    const old = new Database(path);
    migrate(old, MIGRATIONS.slice(0, 6));
    const forget = old.prepare(
      'INSERT INTO forgotten_ble_sensors (mac, device_id, forgotten_at) VALUES (?, ?, 5)',
    );
    forget.run('A4:C1:38:00:00:01', 'ble_a4c138000001');
    forget.run('A4:C1:38:00:00:02', 'ble_a4c138000002');
    const insert = old.prepare(
      "INSERT INTO outbox (topic, payload, qos, retain, kind, bytes, enqueued_at) VALUES ('t', ?, 1, 0, 'reading', 100, 0)",
    );
    old.transaction(() => {
      for (let i = 0; i < 300; i += 1) insert.run('x'.repeat(100));
    })();
    old.close();
    damageLeafPages(path, 'outbox', (pages) => pages.slice(-1));

    const persistence = openRecovered(path);

    expect(persistence.recovery!.copied).toMatchObject({ forgotten_devices: 2 });
    expect(persistence.discovered.forgottenKeys('ble')).toEqual(
      new Set(['A4:C1:38:00:00:01', 'A4:C1:38:00:00:02']),
    );
  });

  it('reads a table with a key of two columns from both ends around a damaged page', () => {
    const path = dbPath();
    const persistence = open({ path, now });
    persistence.transaction(() => {
      for (const driver of ['a', 'b'])
        for (let i = 0; i < 1_500; i += 1)
          persistence.discovered.forget(driver, `key-${String(i).padStart(4, '0')}`, `device_${i}`, now());
    });
    persistence.close();
    const [damaged] = damageLeafPages(path, 'forgotten_devices', (pages) => [
      pages[Math.floor(pages.length / 2)]!,
    ]);
    expect(damaged!.rows).toBeGreaterThan(0);

    const recovered = openRecovered(path);

    expect(recovered.recovery!.damaged).toEqual([expect.stringMatching(/^forgotten_devices: /)]);
    const copied = recovered.recovery!.copied.forgotten_devices!;
    expect(copied).toBeLessThan(3_000);
    expect(copied).toBeGreaterThanOrEqual(3_000 - damaged!.rows * 2);
    // Both ends survive: the first key of the first driver and the last key of the last.
    expect(recovered.discovered.forgottenKeys('a').has('key-0000')).toBe(true);
    expect(recovered.discovered.forgottenKeys('b').has('key-1499')).toBe(true);
  });

  it('salvages a file of an older schema: tables it does not have yet are no loss', () => {
    const path = dbPath();
    mkdirSync(dirname(path));
    const old = new Database(path);
    migrate(old, MIGRATIONS.slice(0, 1));
    old.prepare("INSERT INTO sequences (device_id, last_seq) VALUES ('meter1', 41)").run();
    const insert = old.prepare(
      "INSERT INTO outbox (topic, payload, qos, retain, kind, bytes, enqueued_at) VALUES ('t', ?, 1, 0, 'reading', 100, 0)",
    );
    old.transaction(() => {
      for (let i = 0; i < 300; i += 1) insert.run('x'.repeat(100));
    })();
    old.close();
    damageLeafPages(path, 'outbox', (pages) => pages.slice(-1));

    const persistence = openRecovered(path);

    expect(persistence.recovery!.copied).toMatchObject({
      sequences: 1,
      desired_states: 0,
      discovered_devices: 0,
    });
    expect(persistence.recovery!.damaged).toEqual([expect.stringMatching(/^outbox: /)]);
    expect(persistence.recovery!.sequenceFloor).toBeUndefined();
    expect(persistence.sequences.next('meter1')).toBe(42);
    expect(persistence.outbox.stats().depth).toBe(persistence.recovery!.copied.outbox);
  });

  it('salvages every table the schema has, so a table added by a later migration cannot be forgotten', () => {
    const path = dbPath();
    filledDatabase(path);
    const schema = new Database(path, { readonly: true });
    const tables = schema
      .prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .pluck()
      .all();
    schema.close();
    damageLeafPages(path, 'outbox', (pages) => pages.slice(-1));

    const persistence = openRecovered(path);

    // outbox_totals is recomputed from the outbox; every other table is copied.
    const expected = tables.filter((name) => name !== 'outbox_totals').sort();
    expect(Object.keys(persistence.recovery!.copied).sort()).toEqual(expected);
  });
});
