import { describe, expect, it } from 'vitest';
import { advance } from './helpers/time.js';
import { treeHarness } from './helpers/treeHarness.js';

describe('supervision tree', () => {
  it('starts one bus supervisor per bus and connects every device', async () => {
    const t = treeHarness([
      { busId: 'busA', devices: [{ id: 'a1' }, { id: 'a2' }] },
      { busId: 'busB', devices: [{ id: 'b1' }] },
    ]);
    await advance(t.clock, 100);
    expect(Object.keys(t.root.getSnapshot().children).sort()).toEqual(['busA', 'busB', 'mqtt', 'outlet']);
    for (const id of ['a1', 'a2', 'b1']) expect(t.statusOf(id)).toBe('connected.healthy');
    t.stop();
  });

  it('routes commands to the device and answers unknown devices with an error', async () => {
    const t = treeHarness([{ busId: 'busA', devices: [{ id: 'a1' }] }]);
    await advance(t.clock, 100);
    t.root.send({ type: 'COMMAND', deviceId: 'a1', id: 'c1', operation: 'set', args: { on: true } });
    t.root.send({ type: 'COMMAND', deviceId: 'nope', id: 'c2', operation: 'set', args: 1 });
    await advance(t.clock, 50);
    expect(t.of('device.commandResult').map((n) => [n.commandId, n.result])).toEqual([
      ['c2', { ok: false, error: 'unknown device "nope"' }],
      ['c1', { ok: true, result: { on: true } }],
    ]);
    t.stop();
  });

  it('a crashing child is restarted alone and its siblings keep running (one_for_one)', async () => {
    const t = treeHarness([{ busId: 'busA', devices: [{ id: 'a1' }, { id: 'a2' }, { id: 'a3' }] }], {
      pollIntervalMs: 1_000,
    });
    await advance(t.clock, 100);
    t.crashNext('a2');
    t.runtime('busA').dropDevice('a2');
    await advance(t.clock, 2_600); // backoff ~2 s, reconnect, the machine throws → crash
    const restarts = t.of('supervisor.restart');
    expect(restarts.map((r) => [r.actorId, r.delayMs])).toEqual([['a2', 1_000]]);
    expect(restarts[0]?.reason).toMatch(/crashed: simulated bug in a2/);
    await advance(t.clock, 1_200);
    expect(t.statusOf('a2')).toBe('connected.healthy');
    // The siblings never left `connected` and kept polling.
    for (const id of ['a1', 'a3']) {
      expect(
        t.notices
          .filter((n) => n.type === 'device.status' && n.deviceId === id)
          .map((n) => n.type === 'device.status' && n.status),
      ).toEqual(['connecting', 'connected.healthy']);
    }
    expect(t.of('device.data').filter((n) => n.deviceId === 'a1').length).toBeGreaterThan(3);
    t.stop();
  });

  it('rest_for_one restarts the crashed child and those started after it', async () => {
    const t = treeHarness([
      {
        busId: 'busA',
        policy: { strategy: 'rest_for_one' },
        devices: [{ id: 'a1' }, { id: 'a2' }, { id: 'a3' }],
      },
    ]);
    await advance(t.clock, 100);
    t.crashNext('a2');
    t.root.send({ type: 'RESTART_DEVICE', deviceId: 'a2', reason: 'test' });
    await advance(t.clock, 1_100);
    await advance(t.clock, 2_000);
    expect(
      t
        .of('supervisor.restart')
        .map((r) => r.actorId)
        .sort(),
    ).toContain('a3');
    expect(t.of('supervisor.restart').map((r) => r.actorId)).not.toContain('a1');
    t.stop();
  });

  it('does not restart a temporary child; restarts a transient one only after a crash', async () => {
    const t = treeHarness([
      {
        busId: 'busA',
        devices: [
          { id: 'temp', restart: 'temporary' },
          { id: 'trans', restart: 'transient' },
        ],
      },
    ]);
    await advance(t.clock, 100);
    t.crashNext('temp');
    t.crashNext('trans');
    t.runtime('busA').dropDevice('temp');
    t.runtime('busA').dropDevice('trans');
    await advance(t.clock, 4_000);
    expect(t.of('supervisor.child_stopped').map((n) => n.actorId)).toEqual(['temp']);
    expect(t.of('supervisor.restart').map((n) => n.actorId)).toEqual(['trans']);
    expect(t.bus('busA').running).toEqual(['trans']);
    t.stop();
  });

  it('escalates to the root when restart intensity is exceeded, and the root restarts the bus from scratch', async () => {
    const t = treeHarness([
      { busId: 'busA', policy: { maxRestarts: 2, periodMs: 60_000 }, devices: [{ id: 'a1' }] },
      { busId: 'busB', devices: [{ id: 'b1' }] },
    ]);
    await advance(t.clock, 100);
    for (let i = 0; i < 3; i++) {
      t.crash('a1');
      await advance(t.clock, 5_000);
    }
    const escalated = t.of('supervisor.escalated');
    expect(escalated).toHaveLength(1);
    expect(escalated[0]?.reason).toMatch(/restart intensity exceeded: 3 restarts within 60 s \(max 2\)/);
    const busRestart = t.of('supervisor.restart').filter((r) => r.actorId === 'busA');
    expect(busRestart).toHaveLength(1);
    await advance(t.clock, 2_000);
    expect(t.statusOf('a1')).toBe('connected.healthy');
    // The other bus was never touched.
    expect(t.of('supervisor.restart').some((r) => r.busId === 'busB')).toBe(false);
    t.stop();
  });

  it('the root never gives up on a bus that keeps failing, it slows down to the backoff cap', async () => {
    const t = treeHarness([{ busId: 'busA', policy: { maxRestarts: 0 }, devices: [{ id: 'a1' }] }]);
    await advance(t.clock, 100);
    for (let i = 0; i < 8; i++) {
      t.crash('a1');
      await advance(t.clock, 35_000, 100);
    }
    const delays = t
      .of('supervisor.restart')
      .filter((r) => r.actorId === 'busA')
      .map((r) => r.delayMs);
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    t.stop();
  });

  it('a replugged bus brings its devices back at once (BUS_PRESENT → DEVICE_PRESENT)', async () => {
    const t = treeHarness([{ busId: 'busA', devices: [{ id: 'a1' }, { id: 'a2' }] }]);
    await advance(t.clock, 100);
    t.runtime('busA').unplug();
    await advance(t.clock, 10_000);
    expect(t.statusOf('a1')).toBe('reconnecting');
    const pluggedAt = t.clock.now();
    t.runtime('busA').plug();
    await advance(t.clock, 100);
    expect(t.statusOf('a1')).toBe('connected.healthy');
    expect(t.statusOf('a2')).toBe('connected.healthy');
    expect(t.clock.now() - pluggedAt).toBeLessThan(1_000);
    t.stop();
  });
});

describe('restart backoff', () => {
  it('backs restarts off from 1 s, doubling, and starts again from 1 s after a stable minute', async () => {
    const t = treeHarness([{ busId: 'busA', policy: { maxRestarts: 100 }, devices: [{ id: 'a1' }] }]);
    await advance(t.clock, 100);
    for (let i = 0; i < 4; i++) {
      t.crash('a1');
      await advance(t.clock, 10_000, 50);
    }
    await advance(t.clock, 61_000, 500); // a stable minute
    t.crash('a1');
    await advance(t.clock, 2_000);
    expect(t.of('supervisor.restart').map((r) => r.delayMs)).toEqual([1_000, 2_000, 4_000, 8_000, 1_000]);
    expect(t.statusOf('a1')).toBe('connected.healthy');
    t.stop();
  });
});

describe('restarts an operator asks for', () => {
  it('six quick restarts over HTTP or MQTT neither escalate nor back off, and leave the crash budget alone', async () => {
    const t = treeHarness([
      { busId: 'busA', devices: [{ id: 'a1' }, { id: 'a2' }] },
      { busId: 'busB', devices: [{ id: 'b1' }] },
    ]);
    await advance(t.clock, 100);
    for (let i = 0; i < 6; i++) {
      t.root.send({ type: 'RESTART_DEVICE', deviceId: 'a1', reason: `click ${i}` });
      await advance(t.clock, 300);
      expect(t.statusOf('a1')).toBe('connected.healthy');
    }
    t.root.send({ type: 'RECOVER', deviceId: 'a1', step: 'restart_actor', reason: 'requested over MQTT' });
    await advance(t.clock, 300);
    expect(t.of('supervisor.escalated')).toEqual([]);
    const restarts = t.of('supervisor.restart');
    expect(restarts.map((r) => [r.actorId, r.delayMs])).toEqual(Array(7).fill(['a1', 0]));
    expect(t.bus('busA').restartBook).toEqual({ recent: [], consecutive: 0, lastRestartAt: null });
    // The sibling was never touched; a real crash afterwards still gets the first backoff step.
    expect(t.notices.filter((n) => n.type === 'device.status' && n.deviceId === 'a2')).toHaveLength(2);
    t.crash('a1');
    await advance(t.clock, 100);
    expect(t.of('supervisor.restart').at(-1)?.delayMs).toBe(1_000);
    t.stop();
  });
});
