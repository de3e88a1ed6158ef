import { afterEach, describe, expect, it } from 'vitest';
import { captureLogs, type LogCapture } from '../src/logging/index.js';
import { BUS_SNAPSHOT_VERSION } from '../src/machines/busSupervisor.js';
import { DEFAULT_RECONNECT, type DevicePolicy } from '../src/machines/policy.js';
import { advance, settle } from './helpers/time.js';
import {
  type MemorySnapshotPort,
  memorySnapshotPort,
  type TreeBus,
  treeHarness,
} from './helpers/treeHarness.js';

// Persisted bus snapshots end to end: a tree on simulated buses saves into an in-memory port, "crashes"
// (the port is frozen, then the tree stopped), and a second tree, started at the same simulated time
// on fresh bus runtimes, restores from what was saved.

const POLICY: Partial<DevicePolicy> = {
  pollIntervalMs: 1_000,
  reconnect: { ...DEFAULT_RECONNECT, maxAttempts: 2 },
};

const BUS: TreeBus = {
  busId: 'busA',
  recoverySteps: [], // an offline device stays offline: no ladder in these tests
  devices: [
    { id: 'r1' }, // reconnecting, nothing queued
    { id: 'o1', simulation: { failureRate: 1 } }, // offline
    { id: 'q1' }, // reconnecting with queued commands
    { id: 'q2' }, // connected, one command running (hung), one queued
    { id: 'd1' }, // connected and degraded
  ],
};

/** d1's polls keep failing, in both processes, so it stays degraded. */
const D1_FAILURES = Array.from({ length: 20 }, () => 'fail' as const);

let capture: LogCapture | undefined;
afterEach(() => {
  capture?.stop();
  capture = undefined;
});

function logLines(): string[] {
  return (capture?.entries ?? []).map((e) => `${e.level} ${e.ns} ${e.msg}`);
}

type Harness = ReturnType<typeof treeHarness>;

function deviceSnapshot(t: Harness, deviceId: string) {
  const child = t.busActor('busA').getSnapshot().children[deviceId];
  if (!child) throw new Error(`no device ${deviceId}`);
  return child.getSnapshot() as {
    value: { link: unknown; work: unknown };
    context: {
      nextAttemptAt: number | null;
      commands: readonly { id: string }[];
      consecutiveFailures: number;
    };
  };
}

/** Drives the five devices of BUS into their states, then crashes the tree after the last save. */
async function runUntilCrash() {
  const store = memorySnapshotPort();
  const first = treeHarness([BUS], POLICY, { snapshots: store.port });
  const runtime = first.runtime('busA');
  await advance(first.clock, 100);
  runtime.script('d1', ...D1_FAILURES);
  await advance(first.clock, 8_000, 50); // o1 fails its three connects, d1 its polls
  expect(first.statusOf('o1')).toBe('offline');
  expect(first.statusOf('d1')).toBe('connected.degraded');
  runtime.dropDevice('r1');
  runtime.dropDevice('q1');
  first.root.send({ type: 'COMMAND', deviceId: 'q1', id: 'c1', operation: 'set', args: 1 });
  first.root.send({ type: 'COMMAND', deviceId: 'q1', id: 'c2', operation: 'set', args: 2 });
  runtime.script('q2', 'hang');
  first.root.send({ type: 'COMMAND', deviceId: 'q2', id: 'c3', operation: 'set', args: 3 });
  first.root.send({ type: 'COMMAND', deviceId: 'q2', id: 'c4', operation: 'set', args: 4 });
  await advance(first.clock, 300);
  const before = {
    context: first.bus('busA'),
    r1: deviceSnapshot(first, 'r1').context.nextAttemptAt as number,
    q1: deviceSnapshot(first, 'q1').context.nextAttemptAt as number,
    d1Failures: deviceSnapshot(first, 'd1').context.consecutiveFailures,
    now: first.clock.now(),
  };
  expect(deviceSnapshot(first, 'q2').value.work).toBe('running');
  await settle();
  store.crash();
  first.stop();
  return { store, first, before };
}

/** The next process: a tree on fresh bus runtimes, at the time the first one crashed, from its saves. */
function restart(store: MemorySnapshotPort, now: number): Harness {
  const second = treeHarness([BUS], POLICY, { snapshots: store.port, startAt: now });
  second.runtime('busA').script('d1', 'ok', ...D1_FAILURES); // its connect, then its polls
  return second;
}

describe('bus snapshots: restore after a crash', () => {
  it('restores every device in its state and the supervisor with its data', async () => {
    const { store, before } = await runUntilCrash();
    capture = captureLogs({ level: 'debug' });
    const second = restart(store, before.now);
    await settle();
    expect(logLines()).toContain(
      'info supervisor.busA restored the bus from its snapshot: ' +
        '5 devices: 1 connected.degraded, 1 connected.healthy, 1 offline, 2 reconnecting',
    );
    // The supervisor's bookkeeping (watches with their `since`, ladders, restart book) came back as is.
    expect(second.bus('busA')).toEqual(before.context);
    const link = (id: string) => deviceSnapshot(second, id).value.link;
    expect([link('r1'), link('o1'), link('q1')]).toEqual(['reconnecting', 'offline', 'reconnecting']);
    // Restored as connected, their transport is gone with the old process: they open it again.
    expect([link('q2'), link('d1')]).toEqual(['connecting', 'connecting']);
    expect(deviceSnapshot(second, 'q1').context.commands.map((c) => c.id)).toEqual(['c1', 'c2']);
    expect(deviceSnapshot(second, 'q2').context.commands.map((c) => c.id)).toEqual(['c3', 'c4']);
    expect(before.d1Failures).toBeGreaterThanOrEqual(3);
    expect(deviceSnapshot(second, 'd1').context.consecutiveFailures).toBe(before.d1Failures);
    await advance(second.clock, 100);
    expect(second.statusOf('q2')).toBe('connected.healthy');
    expect(second.statusOf('d1')).toBe('connected.degraded');
    expect(second.statusOf('o1')).toBeUndefined(); // nothing happened to it: still offline, no notice
    expect(link('o1')).toBe('offline');
    second.stop();
  });

  it('starts an interrupted connect once, and runs no operation before the link is open again', async () => {
    const { store, before } = await runUntilCrash();
    const second = restart(store, before.now);
    await advance(second.clock, 100);
    const calls = second.runtime('busA').calls;
    expect(calls.filter((c) => c === 'connect q2')).toHaveLength(1);
    expect(calls.filter((c) => c === 'connect d1')).toHaveLength(1);
    // The command that was running (c3) is run again, after the connect: at least once, never on a closed link.
    expect(calls.indexOf('set q2')).toBeGreaterThan(calls.indexOf('connect q2'));
    expect(calls.filter((c) => c === 'set q2')).toHaveLength(2);
    second.stop();
  });

  it('fires a restored reconnect timer at its original deadline, not a full backoff later', async () => {
    const { store, before } = await runUntilCrash();
    const second = restart(store, before.now);
    await settle();
    expect(deviceSnapshot(second, 'r1').context.nextAttemptAt).toBe(before.r1);
    const calls = second.runtime('busA').calls;
    await advance(second.clock, before.r1 - 1 - second.clock.now(), 1);
    expect(calls).not.toContain('connect r1');
    await advance(second.clock, 1, 1);
    expect(calls).toContain('connect r1');
    await advance(second.clock, 100);
    expect(second.statusOf('r1')).toBe('connected.healthy');
    second.stop();
  });

  it('answers the commands queued before the crash once the device is connected again', async () => {
    const { store, before } = await runUntilCrash();
    const second = restart(store, before.now);
    await advance(second.clock, 100);
    const answered = () => second.of('device.commandResult').map((n) => [n.commandId, n.result]);
    // q2 reconnected at once and ran what it held, the interrupted command first.
    expect(answered()).toEqual([
      ['c3', { ok: true, result: 3 }],
      ['c4', { ok: true, result: 4 }],
    ]);
    // q1 waits for its own reconnect deadline.
    await advance(second.clock, before.q1 + 100 - second.clock.now());
    expect(answered()).toEqual([
      ['c3', { ok: true, result: 3 }],
      ['c4', { ok: true, result: 4 }],
      ['c1', { ok: true, result: 1 }],
      ['c2', { ok: true, result: 2 }],
    ]);
    second.stop();
  });

  it('resumes a pending restart at its original due time', async () => {
    const store = memorySnapshotPort();
    const bus: TreeBus = { busId: 'busA', devices: [{ id: 'a1' }, { id: 'a2' }] };
    const first = treeHarness([bus], {}, { snapshots: store.port });
    await advance(first.clock, 100);
    first.crash('a2'); // a crash backs off: its restart waits
    await advance(first.clock, 10);
    const [pending] = first.bus('busA').pendingRestarts;
    expect(pending?.deviceId).toBe('a2');
    await advance(first.clock, 500);
    store.crash();
    first.stop();

    const second = treeHarness([bus], {}, { snapshots: store.port, startAt: first.clock.now() });
    await settle();
    expect(second.bus('busA').running).toEqual(['a1']);
    const dueAt = pending?.dueAt as number;
    await advance(second.clock, dueAt - 1 - second.clock.now(), 1);
    expect(second.runtime('busA').calls).not.toContain('connect a2');
    await advance(second.clock, 1, 1);
    expect(second.runtime('busA').calls).toContain('connect a2');
    await advance(second.clock, 100);
    expect(second.statusOf('a2')).toBe('connected.healthy');
    second.stop();
  });
});

describe('bus snapshots: interrupted I/O starts over', () => {
  it('a device restored while connecting connects again, once, within a fresh connect timeout', async () => {
    const store = memorySnapshotPort();
    const bus: TreeBus = { busId: 'busA', devices: [{ id: 'c1' }] };
    const first = treeHarness([bus], {}, { snapshots: store.port });
    await advance(first.clock, 100);
    first.runtime('busA').script('c1', 'hang');
    first.runtime('busA').dropDevice('c1');
    await advance(first.clock, 3_000); // the backoff, then a connect that never answers
    expect(first.statusOf('c1')).toBe('connecting');
    await settle();
    store.crash();
    first.stop();

    const second = treeHarness([bus], {}, { snapshots: store.port, startAt: first.clock.now() });
    second.runtime('busA').script('c1', 'hang'); // it hangs again: only the timeout ends it
    await settle();
    expect(second.runtime('busA').calls.filter((c) => c === 'connect c1')).toHaveLength(1);
    const timeoutAt = second.clock.now() + 10_000;
    await advance(second.clock, timeoutAt - 1 - second.clock.now(), 100);
    expect(second.statusOf('c1')).toBe('connecting');
    await advance(second.clock, 1, 1);
    expect(second.statusOf('c1')).toBe('reconnecting');
    await advance(second.clock, 5_000);
    expect(second.statusOf('c1')).toBe('connected.healthy');
    second.stop();
  });

  it('a recovery step interrupted by the crash runs once more, with its timeout; the ladder goes on', async () => {
    const store = memorySnapshotPort();
    const giveUpFast: Partial<DevicePolicy> = {
      reconnect: { ...DEFAULT_RECONNECT, initialMs: 100, maxMs: 100, maxAttempts: 1 },
    };
    const bus: TreeBus = { busId: 'busA', devices: [{ id: 'm1', simulation: { failureRate: 1 } }] };
    const first = treeHarness([bus], giveUpFast, { snapshots: store.port });
    while (first.of('supervisor.recovery').length === 0) await advance(first.clock, 1, 1);
    expect(first.of('supervisor.recovery').map((r) => [r.step, r.outcome])).toEqual([['reopen', 'started']]);
    await settle();
    store.crash();
    first.stop();

    const second = treeHarness([bus], giveUpFast, { snapshots: store.port, startAt: first.clock.now() });
    await settle();
    expect(second.bus('busA').recovering).toMatchObject({ deviceId: 'm1', step: 'reopen' });
    await advance(second.clock, 20, 1);
    expect(second.runtime('busA').calls.filter((c) => c.startsWith('recover'))).toEqual([
      'recover reopen m1',
    ]);
    expect(second.of('supervisor.recovery').map((r) => [r.step, r.outcome])).toEqual([
      ['reopen', 'succeeded'],
    ]);
    // The step is verified by a fresh connect, which fails again: the next rung follows.
    await advance(second.clock, 500);
    expect(second.of('supervisor.recovery').map((r) => [r.step, r.outcome])).toContainEqual([
      'reenumerate',
      'started',
    ]);
    second.stop();
  });
});

describe('bus snapshots: what is not restored', () => {
  async function savedTree(bus: TreeBus) {
    const store = memorySnapshotPort();
    const first = treeHarness([bus], {}, { snapshots: store.port });
    await advance(first.clock, 100);
    first.runtime(bus.busId).dropDevice(bus.devices[0]?.id ?? '');
    await advance(first.clock, 10);
    store.crash();
    first.stop();
    return { store, now: first.clock.now() };
  }

  /** A tree started from `store` must start afresh: every device connects from scratch. */
  async function expectFreshStart(store: MemorySnapshotPort, bus: TreeBus, now: number) {
    const second = treeHarness([bus], {}, { snapshots: store.port, startAt: now });
    await advance(second.clock, 100);
    for (const device of bus.devices) expect(second.statusOf(device.id)).toBe('connected.healthy');
    expect(logLines().some((line) => line.includes('restored the bus'))).toBe(false);
    // What is stored now is the fresh bus, in the current version.
    expect(store.saves.at(-1)).toMatchObject({ busId: bus.busId, version: BUS_SNAPSHOT_VERSION });
    second.stop();
  }

  const BUS2: TreeBus = { busId: 'busA', devices: [{ id: 'a1' }, { id: 'a2' }] };

  it('discards a snapshot of another machine version, with a log line', async () => {
    const { store, now } = await savedTree(BUS2);
    store.put('busA', BUS_SNAPSHOT_VERSION - 1, store.snapshot('busA'));
    capture = captureLogs({ level: 'debug' });
    await expectFreshStart(store, BUS2, now);
    expect(logLines()).toContain(
      `info supervisor.busA discarded the snapshot of the bus: it was saved by machine version ` +
        `${BUS_SNAPSHOT_VERSION - 1}, this is version ${BUS_SNAPSHOT_VERSION}; the bus starts afresh`,
    );
  });

  it('discards a snapshot when the bus has other devices now', async () => {
    const { store, now } = await savedTree(BUS2);
    capture = captureLogs({ level: 'debug' });
    const changed: TreeBus = { busId: 'busA', devices: [{ id: 'a1' }, { id: 'a3' }] };
    await expectFreshStart(store, changed, now);
    expect(logLines()).toContain(
      'info supervisor.busA discarded the snapshot of the bus: its devices changed (added a3; removed a2); ' +
        'the bus starts afresh',
    );
  });

  it('discards a snapshot when the settings of the bus changed', async () => {
    const { store, now } = await savedTree(BUS2);
    capture = captureLogs({ level: 'debug' });
    const changed: TreeBus = { ...BUS2, devices: [{ id: 'a1', restart: 'transient' }, { id: 'a2' }] };
    await expectFreshStart(store, changed, now);
    expect(logLines()).toContain(
      'info supervisor.busA discarded the snapshot of the bus: its settings changed (devices); the bus starts afresh',
    );
  });

  it('discards a corrupt snapshot with a warning instead of crashing', async () => {
    const { store, now } = await savedTree(BUS2);
    const saved = store.snapshot('busA') as { children: Record<string, { snapshot: object }> };
    const a1 = saved.children.a1 as { snapshot: object };
    a1.snapshot = { ...a1.snapshot, value: { link: 'no such state', work: 'idle' } };
    store.put('busA', BUS_SNAPSHOT_VERSION, saved);
    capture = captureLogs({ level: 'debug' });
    await expectFreshStart(store, BUS2, now);
    const warning = logLines().find((line) => line.startsWith('warn supervisor.busA discarded'));
    expect(warning).toMatch(/restoring it failed: device a1 could not be restored: .*no such state/);

    store.put('busA', BUS_SNAPSHOT_VERSION, { not: 'a snapshot' });
    capture.clear();
    await expectFreshStart(store, BUS2, now);
    expect(logLines()).toContain(
      'warn supervisor.busA discarded the snapshot of the bus: it is not a bus supervisor snapshot; ' +
        'the bus starts afresh',
    );
  });

  it('does not restore a bus the root restarts after it escalated: that one starts from scratch', async () => {
    const store = memorySnapshotPort();
    const bus: TreeBus = { busId: 'busA', policy: { maxRestarts: 0 }, devices: [{ id: 'a1' }, { id: 'a2' }] };
    const t = treeHarness([bus], {}, { snapshots: store.port });
    await advance(t.clock, 100);
    capture = captureLogs({ level: 'debug' });
    t.crash('a1'); // over the limit: escalates
    await advance(t.clock, 1_200); // the root's backoff, then a fresh bus
    expect(t.of('supervisor.escalated')).toHaveLength(1);
    expect(t.bus('busA').restartBook).toEqual({ recent: [], consecutive: 0, lastRestartAt: null });
    for (const id of ['a1', 'a2']) expect(t.statusOf(id)).toBe('connected.healthy');
    expect(logLines().filter((line) => line.includes('snapshot'))).toEqual([]);
    t.stop();
  });
});
