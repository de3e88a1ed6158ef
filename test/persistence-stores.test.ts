import { afterEach, describe, expect, it, vi } from 'vitest';
import { captureLogs, type LogCapture } from '../src/logging/index.js';
import { CONNECTION_MACHINE_VERSION } from '../src/machines/connection.js';
import { exportJsonLines } from '../src/persistence/index.js';
import { event, persistenceFixture, reading, state } from './helpers/persistenceFiles.js';
import { settle } from './helpers/time.js';

const { dbPath, open } = persistenceFixture();

let capture: LogCapture | undefined;
afterEach(() => {
  capture?.stop();
  capture = undefined;
});

function startCapture(): LogCapture {
  capture = captureLogs({ level: 'debug' });
  return capture;
}

const DAY = 24 * 60 * 60 * 1000;

describe('SnapshotStore', () => {
  it('writes a burst of 1,000 saves in exactly one transaction, the newest per device', async () => {
    const persistence = open({ path: dbPath() });
    const transaction = vi.spyOn(persistence, 'transaction');
    for (let i = 0; i < 1_000; i += 1) {
      persistence.snapshots.save(`dev${i % 50}`, CONNECTION_MACHINE_VERSION, { value: i });
    }
    expect(transaction).not.toHaveBeenCalled(); // nothing is written during the burst
    await settle();
    expect(transaction).toHaveBeenCalledTimes(1);
    expect(persistence.snapshots.load('dev7', CONNECTION_MACHINE_VERSION)?.snapshot).toEqual({ value: 957 });
  });

  it('stores snapshots durably: a flushed snapshot is there after reopening', () => {
    const path = dbPath();
    let now = 1_000;
    const first = open({ path, now: () => now });
    first.snapshots.save('heat1', 3, { status: 'connected' });
    now = 2_000;
    first.snapshots.save('heat1', 3, { status: 'offline' });
    first.flush();
    first.close();
    const second = open({ path });
    expect(second.snapshots.load('heat1', 3)).toEqual({
      version: 3,
      snapshot: { status: 'offline' },
      savedAt: 2_000,
    });
  });

  it('close() writes the snapshots still pending; later saves are ignored', () => {
    const path = dbPath();
    const first = open({ path });
    first.snapshots.save('heat1', 1, { pending: true });
    first.close();
    expect(() => first.snapshots.save('heat1', 1, { late: true })).not.toThrow();
    expect(open({ path }).snapshots.load('heat1', 1)?.snapshot).toEqual({ pending: true });
  });

  it('load() sees a pending snapshot before it is flushed', () => {
    const persistence = open({ path: dbPath() });
    persistence.snapshots.save('heat1', 1, { a: 1 });
    expect(persistence.snapshots.load('heat1', 1)?.snapshot).toEqual({ a: 1 });
  });

  it('discards a snapshot of another machine version with one log line, and deletes it', () => {
    const path = dbPath();
    const first = open({ path });
    first.snapshots.save('heat1', 1, { old: true });
    first.close();
    const logs = startCapture();
    const second = open({ path });
    expect(second.snapshots.load('heat1', 2)).toBeUndefined();
    expect(logs.entries.map((entry) => entry.msg)).toEqual([
      'discarded the snapshot of heat1: written by machine version 1, this is version 2; the device starts afresh',
    ]);
    expect(second.snapshots.load('heat1', 1)).toBeUndefined(); // gone, not just skipped
  });

  it('remove() forgets both the stored and the pending snapshot', () => {
    const persistence = open({ path: dbPath() });
    persistence.snapshots.save('heat1', 1, { a: 1 });
    persistence.flush();
    persistence.snapshots.save('heat1', 1, { a: 2 });
    persistence.snapshots.remove('heat1');
    persistence.flush();
    expect(persistence.snapshots.load('heat1', 1)).toBeUndefined();
  });

  it('an unserializable snapshot is logged and skipped without losing the others', () => {
    const logs = startCapture();
    const persistence = open({ path: dbPath() });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    persistence.snapshots.save('bad', 1, cyclic);
    persistence.snapshots.save('good', 1, { ok: true });
    expect(persistence.flush()).toBe(true);
    expect(persistence.snapshots.load('good', 1)?.snapshot).toEqual({ ok: true });
    expect(persistence.snapshots.load('bad', 1)).toBeUndefined();
    expect(logs.entries.filter((entry) => entry.level === 'error').map((entry) => entry.msg)).toEqual([
      expect.stringMatching(/^snapshot of bad not saved: .*circular/),
    ]);
  });
});

describe('DeviceStateStore', () => {
  it('keeps the last state per device across a restart, in one flush with the snapshots', async () => {
    const path = dbPath();
    const first = open({ path });
    const transaction = vi.spyOn(first, 'transaction');
    first.states.save('water1', { volume_m3: 1.5 }, 1_000);
    first.states.save('heat1', { energy_kwh: 10 }, 1_000);
    first.states.save('heat1', { energy_kwh: 11 }, 2_000);
    first.snapshots.save('heat1', 1, {});
    await settle();
    expect(transaction).toHaveBeenCalledTimes(1);
    first.close();
    expect(open({ path }).states.all()).toEqual([
      { deviceId: 'heat1', state: { energy_kwh: 11 }, at: 2_000 },
      { deviceId: 'water1', state: { volume_m3: 1.5 }, at: 1_000 },
    ]);
  });

  it('all() includes states not flushed yet', () => {
    const persistence = open({ path: dbPath() });
    persistence.states.save('heat1', { on: true }, 5);
    expect(persistence.states.all()).toEqual([{ deviceId: 'heat1', state: { on: true }, at: 5 }]);
  });
});

describe('sequence numbers and readings', () => {
  it('are strictly increasing per device, across close and reopen', () => {
    const path = dbPath();
    const seen: number[] = [];
    for (let run = 0; run < 3; run += 1) {
      const persistence = open({ path });
      for (let i = 0; i < 5; i += 1) seen.push(persistence.sequences.next('heat1'));
      expect(persistence.sequences.next('water1')).toBe(run + 1);
      persistence.close();
    }
    expect(seen).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
  });

  it('enqueueReading puts the sequence number in the payload, the outbox and the history together', () => {
    const persistence = open({ path: dbPath(), now: () => 7_000 });
    const first = persistence.enqueueReading({ deviceId: 'heat1', topic: 'fb/heat1/reading' }, (seq) =>
      JSON.stringify({ seq }),
    );
    const second = persistence.enqueueReading(
      { deviceId: 'heat1', topic: 'fb/heat1/reading', ts: 8_000 },
      (seq) => JSON.stringify({ seq }),
    );
    expect([first.seq, second.seq]).toEqual([1, 2]);
    expect(persistence.outbox.peek(10).map((message) => [message.id, message.payload, message.qos])).toEqual([
      [first.id, '{"seq":1}', 1],
      [second.id, '{"seq":2}', 1],
    ]);
    expect(persistence.history.list('heat1')).toEqual([
      { deviceId: 'heat1', seq: 1, ts: 7_000, payload: '{"seq":1}' },
      { deviceId: 'heat1', seq: 2, ts: 8_000, payload: '{"seq":2}' },
    ]);
  });

  it('a reading whose payload cannot be built uses up no number and writes nothing', () => {
    const persistence = open({ path: dbPath() });
    expect(() =>
      persistence.enqueueReading({ deviceId: 'heat1', topic: 't' }, () => {
        throw new Error('bad frame');
      }),
    ).toThrow('bad frame');
    expect(persistence.sequences.last('heat1')).toBe(0);
    expect(persistence.outbox.stats().depth).toBe(0);
    expect(persistence.enqueueReading({ deviceId: 'heat1', topic: 't' }, String).seq).toBe(1);
  });

  it('a rolled-back transaction gives its sequence numbers and messages back', () => {
    const persistence = open({ path: dbPath() });
    expect(() =>
      persistence.transaction(() => {
        persistence.enqueueReading({ deviceId: 'heat1', topic: 't' }, String);
        persistence.outbox.enqueue(event('t/event', 'e'));
        throw new Error('abort');
      }),
    ).toThrow('abort');
    expect(persistence.sequences.last('heat1')).toBe(0);
    expect(persistence.outbox.stats()).toMatchObject({ depth: 0, bytes: 0 });
    expect(persistence.history.list('heat1')).toEqual([]);
  });
});

describe('cleanup', () => {
  it('deletes history older than retention_days, in batches, and keeps the rest', async () => {
    const now = 100 * DAY;
    const persistence = open({ path: dbPath(), retentionDays: 30, now: () => now });
    persistence.transaction(() => {
      for (let i = 0; i < 12_000; i += 1) {
        // 11,000 readings 40 days old, 1,000 from yesterday.
        const ts = i < 11_000 ? now - 40 * DAY : now - DAY;
        persistence.enqueueReading({ deviceId: 'heat1', topic: 't', ts }, String);
      }
    });
    const result = await persistence.cleanup();
    expect(result.historyDeleted).toBe(11_000);
    const kept = persistence.history.list('heat1', 0, 20_000);
    expect(kept).toHaveLength(1_000);
    expect(kept[0]?.seq).toBe(11_001);
    // The outbox is not history: its messages stay until acknowledged.
    expect(persistence.outbox.stats().depth).toBe(12_000);
    expect((await persistence.cleanup()).historyDeleted).toBe(0);
  });

  it('uses a reloaded retention_days from the next cleanup on', async () => {
    const now = 100 * DAY;
    const persistence = open({ path: dbPath(), retentionDays: 30, now: () => now });
    persistence.transaction(() => {
      for (let i = 0; i < 10; i += 1) {
        persistence.enqueueReading({ deviceId: 'heat1', topic: 't', ts: now - 10 * DAY }, String);
      }
    });
    expect((await persistence.cleanup()).historyDeleted).toBe(0);
    persistence.reconfigure({ synchronous: 'normal', retentionDays: 7, maxMessages: 100, maxBytes: 100_000 });
    expect((await persistence.cleanup()).historyDeleted).toBe(10);
  });

  it('deletes in batches and lets the event loop run between them', async () => {
    const persistence = open({ path: dbPath(), now: () => 10 * DAY });
    persistence.transaction(() => {
      for (let i = 0; i < 2_500; i += 1)
        persistence.enqueueReading({ deviceId: 'heat1', topic: 't', ts: 0 }, String);
    });
    let batches = 0;
    let otherWorkRan = false;
    setImmediate(() => (otherWorkRan = true)); // runs only if deleteBefore yields to the event loop
    const deleted = await persistence.history.deleteBefore(DAY, () => ++batches > 0, 1_000);
    expect(deleted).toBe(2_500);
    expect(batches).toBe(3);
    expect(otherWorkRan).toBe(true);
  });

  it('gives the pages of a drained backlog back to the file system', async () => {
    const persistence = open({ path: dbPath() });
    persistence.transaction(() => {
      for (let i = 0; i < 5_000; i += 1) persistence.outbox.enqueue(reading('t', 'x'.repeat(200)));
    });
    persistence.outbox.ackMany(persistence.outbox.peek(5_000).map((message) => message.id));
    expect((await persistence.cleanup()).pagesReleased).toBeGreaterThan(100);
  });
});

describe('exportJsonLines', () => {
  it('writes the device states, then the queued messages oldest first, one JSON object per line', () => {
    const persistence = open({ path: dbPath(), now: () => 42 });
    persistence.states.save('heat1', { energy_kwh: 11 }, 40);
    persistence.transaction(() => {
      for (let i = 0; i < 2_500; i += 1) persistence.outbox.enqueue(reading('fb/heat1/reading', String(i)));
    });
    persistence.outbox.enqueue(state('fb/heat1/state', '{"on":true}'));
    const lines: string[] = [];
    exportJsonLines(persistence, (line) => lines.push(line));
    expect(lines).toHaveLength(2_502);
    expect(JSON.parse(lines[0] ?? '')).toEqual({
      type: 'device_state',
      deviceId: 'heat1',
      state: { energy_kwh: 11 },
      at: 40,
    });
    expect(JSON.parse(lines[1] ?? '')).toEqual({
      type: 'outbox',
      id: 1,
      topic: 'fb/heat1/reading',
      payload: '0',
      qos: 1,
      retain: false,
      kind: 'reading',
      enqueuedAt: 42,
    });
    expect(JSON.parse(lines[2_501] ?? '')).toMatchObject({
      type: 'outbox',
      id: 2_501,
      kind: 'state',
      retain: true,
    });
  });
});
