import { afterEach, describe, expect, it, vi } from 'vitest';
import { type BusSnapshotPort, busSnapshotKey, snapshotPortOf } from '../src/hosting/snapshotPort.js';
import { captureLogs, type LogCapture } from '../src/logging/index.js';
import { BUS_SNAPSHOT_VERSION } from '../src/machines/busSupervisor.js';
import { DEFAULT_COMMANDS } from '../src/machines/policy.js';
import { persistenceFixture } from './helpers/persistenceFiles.js';
import { advance, settle } from './helpers/time.js';
import { memorySnapshotPort, type TreeBus, treeHarness } from './helpers/treeHarness.js';

// How often bus snapshots are written, and the adapter to the real persistence layer (SQLite).

const { dbPath, open } = persistenceFixture();

let capture: LogCapture | undefined;
afterEach(() => {
  capture?.stop();
  capture = undefined;
});

const lines = () => (capture?.entries ?? []).map((e) => `${e.level} ${e.ns} ${e.msg}`);

const BUSES: TreeBus[] = [
  { busId: 'busA', devices: [{ id: 'a1' }, { id: 'a2' }] },
  { busId: 'busB', devices: [{ id: 'b1' }] },
];

/** Commands may pile up in these tests: a burst is 1,000 of them per bus. */
const POLICY = { commands: { ...DEFAULT_COMMANDS, queueSize: 2_000 } };

/** 1,000 transitions per bus in one synchronous burst: commands, each one queued by its device. */
function burst(t: ReturnType<typeof treeHarness>) {
  for (let i = 0; i < 1_000; i += 1) {
    t.root.send({
      type: 'COMMAND',
      deviceId: i % 2 === 0 ? 'a1' : 'a2',
      id: `a${i}`,
      operation: 'set',
      args: i,
    });
    t.root.send({ type: 'COMMAND', deviceId: 'b1', id: `b${i}`, operation: 'set', args: i });
  }
}

describe('bus snapshots: batching', () => {
  it('a burst of 1,000 transitions per bus costs one save per bus, all in one tick', async () => {
    const store = memorySnapshotPort();
    const t = treeHarness(BUSES, POLICY, { snapshots: store.port });
    await advance(t.clock, 100);
    const before = store.saves.length;
    burst(t);
    expect(store.saves).toHaveLength(before); // nothing is serialised during the burst
    await settle();
    const saved = store.saves.slice(before);
    expect(saved.map((s) => s.busId).sort()).toEqual(['busA', 'busB']);
    expect(new Set(saved.map((s) => s.tick)).size).toBe(1);
    // What was saved is the state after the burst: every command queued (one of them running).
    const b1 = (store.snapshot('busB') as { children: Record<string, { snapshot: { context: object } }> })
      .children.b1;
    expect((b1?.snapshot.context as { commands: unknown[] }).commands).toHaveLength(1_000);
    t.stop();
  });

  it('readings and polls, which a restore does not need, write nothing', async () => {
    const store = memorySnapshotPort();
    const t = treeHarness(BUSES, { pollIntervalMs: 1_000 }, { snapshots: store.port });
    await advance(t.clock, 100);
    const before = store.saves.length;
    for (let i = 0; i < 1_000; i += 1) t.runtime('busA').pushData('a1', { n: i });
    await advance(t.clock, 10_000, 100);
    expect(t.of('device.data').length).toBeGreaterThan(1_000 + 2 * 10);
    expect(store.saves).toHaveLength(before);
    // A real change still is.
    t.runtime('busA').dropDevice('a2');
    await settle();
    expect(store.saves.slice(before).map((s) => s.busId)).toEqual(['busA']);
    t.stop();
  });

  it('a store that fails to save does not stop the bus, and says so once', async () => {
    capture = captureLogs({ level: 'debug' });
    const failing: BusSnapshotPort = {
      load: () => undefined,
      save: () => {
        throw new Error('disk full');
      },
      remove: () => undefined,
    };
    const t = treeHarness(BUSES, POLICY, { snapshots: failing });
    await advance(t.clock, 100);
    burst(t);
    await settle();
    expect(t.statusOf('a1')).toBe('connected.healthy');
    expect(lines().filter((line) => line.includes('saving the snapshot'))).toEqual([
      'error supervisor.busA saving the snapshot of the bus failed: disk full',
      'error supervisor.busB saving the snapshot of the bus failed: disk full',
    ]);
    t.stop();
  });
});

describe('bus snapshots: with the real persistence layer', () => {
  it('round-trips through SQLite: saved per tick in one transaction, restored after reopening', async () => {
    const path = dbPath();
    const first = open({ path });
    const t = treeHarness(BUSES, POLICY, { snapshots: snapshotPortOf(first.snapshots) });
    await advance(t.clock, 100);
    t.runtime('busA').dropDevice('a1');
    await advance(t.clock, 100);
    const transaction = vi.spyOn(first, 'transaction');
    burst(t);
    await settle();
    expect(transaction).toHaveBeenCalledTimes(1); // both buses, 2,000 commands
    expect(t.bus('busA').watches.a1?.status).toBe('reconnecting');
    const stored = first.snapshots.load(busSnapshotKey('busA'), BUS_SNAPSHOT_VERSION);
    const nextAttemptAt = (
      stored?.snapshot as { children: Record<string, { snapshot: { context: { nextAttemptAt: number } } }> }
    ).children.a1?.snapshot.context.nextAttemptAt as number;
    expect(nextAttemptAt).toBeGreaterThan(t.clock.now());
    // The process ends: what close() wrote is what the next one finds.
    t.stop();
    first.close();

    const second = open({ path });
    capture = captureLogs({ level: 'debug' });
    const u = treeHarness(BUSES, POLICY, {
      snapshots: snapshotPortOf(second.snapshots),
      startAt: t.clock.now(),
    });
    await settle();
    expect(lines()).toContain(
      'info supervisor.busA restored the bus from its snapshot: 2 devices: 1 connected.healthy, 1 reconnecting',
    );
    expect(lines()).toContain(
      'info supervisor.busB restored the bus from its snapshot: 1 device: 1 connected.healthy',
    );
    const a1 = u.busActor('busA').getSnapshot().children.a1?.getSnapshot() as {
      value: { link: string };
      context: { nextAttemptAt: number };
    };
    expect(a1.value.link).toBe('reconnecting');
    expect(a1.context.nextAttemptAt).toBe(nextAttemptAt);
    await advance(u.clock, nextAttemptAt + 100 - u.clock.now());
    expect(u.statusOf('a1')).toBe('connected.healthy');
    u.stop();
  });

  it('a snapshot of another version in the database is discarded by the store, and the bus starts afresh', async () => {
    const persistence = open({ path: dbPath() });
    persistence.snapshots.save(busSnapshotKey('busA'), BUS_SNAPSHOT_VERSION - 1, { stale: true });
    persistence.flush();
    capture = captureLogs({ level: 'debug' });
    const t = treeHarness([BUSES[0] as TreeBus], {}, { snapshots: snapshotPortOf(persistence.snapshots) });
    await advance(t.clock, 100);
    expect(t.statusOf('a1')).toBe('connected.healthy');
    expect(lines().some((line) => line.includes('discarded the snapshot of bus:busA'))).toBe(true);
    expect(lines().some((line) => line.includes('restored'))).toBe(false);
    expect(persistence.snapshots.load(busSnapshotKey('busA'), BUS_SNAPSHOT_VERSION)?.version).toBe(
      BUS_SNAPSHOT_VERSION,
    );
    t.stop();
  });
});
