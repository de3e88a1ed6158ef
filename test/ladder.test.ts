import { describe, expect, it } from 'vitest';
import { climb, FRESH_LADDER, resetLadder } from '../src/machines/ladder.js';
import { DEFAULT_RECONNECT } from '../src/machines/policy.js';
import { advance } from './helpers/time.js';
import { TEST_STEPS, treeHarness } from './helpers/treeHarness.js';

const FAST_GIVE_UP = { reconnect: { ...DEFAULT_RECONNECT, initialMs: 100, maxMs: 100, maxAttempts: 1 } };

describe('recovery ladder (pure)', () => {
  it('climbs in order and repeats the last rung', () => {
    let ladder = FRESH_LADDER;
    const steps: string[] = [];
    for (let i = 0; i < 5; i++) {
      const decision = climb(TEST_STEPS, ladder, i * 60_000_000);
      if (decision.kind !== 'run') throw new Error('expected a run');
      steps.push(decision.step);
      ladder = decision.ladder;
    }
    expect(steps).toEqual(['reopen', 'reenumerate', 'restart_actor', 'restart_actor', 'restart_actor']);
    expect(resetLadder(ladder).rung).toBe(0);
  });

  it('holds a rate-limited rung instead of skipping it, until the oldest run leaves the hour', () => {
    const steps = [{ name: 'power_cycle_adapter', maxPerHour: 2 }];
    let ladder = FRESH_LADDER;
    for (const at of [0, 1_000]) {
      const decision = climb(steps, ladder, at);
      if (decision.kind !== 'run') throw new Error('expected a run');
      ladder = decision.ladder;
    }
    expect(climb(steps, ladder, 2_000)).toMatchObject({ kind: 'rate_limited', retryAt: 3_600_000 });
    expect(climb(steps, ladder, 3_600_000)).toMatchObject({ kind: 'run' });
  });
});

describe('recovery ladder in the bus supervisor', () => {
  it('climbs reopen → reenumerate → restart_actor while the device keeps going offline', async () => {
    const t = treeHarness(
      [{ busId: 'busA', devices: [{ id: 'm1', simulation: { failureRate: 1 } }] }],
      FAST_GIVE_UP,
    );
    await advance(t.clock, 30_000, 50);
    const started = t
      .of('supervisor.recovery')
      .filter((r) => r.outcome === 'started')
      .map((r) => r.step);
    expect(started.slice(0, 4)).toEqual(['reopen', 'reenumerate', 'restart_actor', 'restart_actor']);
    // Every step is reported once as started and once with its outcome (restart_actor by a restart),
    // and a completed one once more when the device shows whether it helped: here it did not.
    expect(
      t
        .of('supervisor.recovery')
        .filter((r) => r.step === 'reopen')
        .map((r) => r.outcome),
    ).toEqual(['started', 'succeeded', 'did_not_help']);
    expect(t.runtime('busA').calls).toContain('recover reopen m1');
    expect(t.runtime('busA').calls).toContain('recover reenumerate m1');
    expect(t.of('supervisor.restart').filter((r) => r.actorId === 'm1').length).toBeGreaterThanOrEqual(2);
    // The ladder's own restart_actor is a failure's restart: it backs off, unlike one an operator asks for.
    expect(t.of('supervisor.restart').every((r) => r.delayMs >= 1_000)).toBe(true);
    t.stop();
  });

  it('a device that recovers stops the climb, and a stable period resets the ladder', async () => {
    const t = treeHarness(
      [
        {
          busId: 'busA',
          policy: { ladderResetAfterMs: 60_000 },
          housekeepingMs: 1_000,
          devices: [{ id: 'm1' }],
        },
      ],
      FAST_GIVE_UP,
    );
    await advance(t.clock, 100);
    const bus = t.runtime('busA');
    bus.unplug();
    const reopenEnded = () => t.of('supervisor.recovery').some((r) => r.outcome !== 'started');
    while (!reopenEnded()) await advance(t.clock, 10);
    expect(t.of('supervisor.recovery').map((r) => [r.step, r.outcome])).toEqual([
      ['reopen', 'started'],
      ['reopen', 'failed'],
    ]);
    // BUS_PRESENT: the device comes back by itself after the first rung failed. Nothing was verified
    // (a failed step did not help), so only the stable period resets the ladder.
    bus.plug();
    await advance(t.clock, 500);
    expect(t.statusOf('m1')).toBe('connected.healthy');
    const watch = () => t.bus('busA').watches.m1;
    expect(watch()?.ladder.rung).toBe(1);
    await advance(t.clock, 55_000, 500);
    expect(watch()?.ladder.rung).toBe(1);
    await advance(t.clock, 7_000, 500);
    expect(watch()?.ladder.rung).toBe(0);
    t.stop();
  });

  it('a step the device verifies resets the ladder: the next incident starts from the first rung', async () => {
    const t = treeHarness([{ busId: 'busA', devices: [{ id: 'm1' }] }], FAST_GIVE_UP);
    await advance(t.clock, 100);
    const bus = t.runtime('busA');
    const watch = () => t.bus('busA').watches.m1;
    const started = () =>
      t
        .of('supervisor.recovery')
        .filter((r) => r.outcome === 'started')
        .map((r) => r.step);
    // Incident 1: reopen completes but the device still cannot connect (the connect that goes offline,
    // then both attempts after its RETRY), so it did not help and the ladder goes on; after
    // reenumerate the device connects again, which verifies it.
    bus.script('m1', 'fail', 'fail', 'fail');
    bus.dropDevice('m1');
    await advance(t.clock, 2_000, 10);
    expect(started()).toEqual(['reopen', 'reenumerate']);
    expect(t.statusOf('m1')).toBe('connected.healthy');
    expect(watch()?.ladder.rung).toBe(0);
    expect(watch()?.lastRecovery).toMatchObject({ step: 'reenumerate', outcome: 'verified' });
    // Incident 2, a minute later (well within ladder_reset_after_ms): reopen first again, not restart_actor.
    await advance(t.clock, 60_000, 1_000);
    bus.script('m1', 'fail');
    bus.dropDevice('m1');
    await advance(t.clock, 2_000, 10);
    expect(started()).toEqual(['reopen', 'reenumerate', 'reopen']);
    expect(t.statusOf('m1')).toBe('connected.healthy');
    expect(watch()?.lastRecovery).toMatchObject({ step: 'reopen', outcome: 'verified' });
    // Verified or not, the rate-limit history of a step is kept.
    expect(watch()?.ladder.history.reopen).toHaveLength(2);
    t.stop();
  });

  it('a step that ends while the device is already healthy is verified by its next good poll', async () => {
    // A poll may heal the device while a step runs (Renogy: a poll beside the reconnect step): no status
    // change follows the step, so only the next good operation can say the step is behind a well device.
    const t = treeHarness([{ busId: 'busA', devices: [{ id: 'm1' }] }], { pollIntervalMs: 1_000 });
    await advance(t.clock, 100);
    expect(t.statusOf('m1')).toBe('connected.healthy');
    t.root.send({ type: 'RECOVER', deviceId: 'm1', step: 'reopen', reason: 'manual' });
    await advance(t.clock, 200, 10);
    const outcomes = () =>
      t
        .of('supervisor.recovery')
        .filter((r) => r.step === 'reopen')
        .map((r) => r.outcome);
    expect(outcomes()).toEqual(['started', 'succeeded']);
    expect(t.bus('busA').watches.m1?.unverifiedStep).toBe('reopen');
    await advance(t.clock, 1_500, 100);
    expect(outcomes()).toEqual(['started', 'succeeded', 'verified']);
    expect(t.bus('busA').watches.m1?.unverifiedStep).toBeNull();
    // A later incident starts from the first rung, not as "did not help" of this step.
    const bus = t.runtime('busA');
    bus.script('m1', 'fail');
    bus.dropDevice('m1');
    await advance(t.clock, 2_000, 10);
    expect(outcomes()).not.toContain('did_not_help');
    t.stop();
  });

  it('a refused manual request does not hold back the automatic climb of a device that goes down later', async () => {
    const t = treeHarness([{ busId: 'busA', devices: [{ id: 'm1' }] }], FAST_GIVE_UP);
    await advance(t.clock, 100);
    for (let i = 0; i < 3; i++) {
      t.root.send({ type: 'RECOVER', deviceId: 'm1', step: 'reenumerate', reason: 'manual' });
      await advance(t.clock, 100);
    }
    expect(t.of('supervisor.recovery').at(-1)).toMatchObject({
      step: 'reenumerate',
      outcome: 'rate_limited',
    });
    expect(t.bus('busA').watches.m1?.waitUntil).toBeNull();
    const bus = t.runtime('busA');
    bus.script('m1', 'fail');
    bus.dropDevice('m1');
    await advance(t.clock, 1_000, 10);
    expect(t.of('supervisor.recovery').slice(-3)).toMatchObject([
      { step: 'reopen', outcome: 'started' },
      { step: 'reopen', outcome: 'succeeded' },
      { step: 'reopen', outcome: 'verified' },
    ]);
    expect(t.statusOf('m1')).toBe('connected.healthy');
    t.stop();
  });

  it('climbs when a device stays degraded longer than degraded_after', async () => {
    const t = treeHarness(
      [
        {
          busId: 'busA',
          policy: { degradedAfterMs: 20_000 },
          devices: [{ id: 'd1', simulation: { failureRate: 1 } }],
        },
      ],
      { pollIntervalMs: 1_000 },
    );
    t.runtime('busA').script('d1', 'ok'); // the connect succeeds, every poll fails
    await advance(t.clock, 5_000, 50);
    expect(t.statusOf('d1')).toBe('connected.degraded');
    expect(t.of('supervisor.recovery')).toEqual([]);
    await advance(t.clock, 21_000, 100);
    expect(t.of('supervisor.recovery').map((r) => [r.step, r.outcome])).toEqual([
      ['reopen', 'started'],
      ['reopen', 'succeeded'],
    ]);
    t.stop();
  });

  it('a rate-limited step says so once and waits instead of storming', async () => {
    const t = treeHarness([{ busId: 'busA', devices: [{ id: 'a1' }] }]);
    await advance(t.clock, 100);
    for (let i = 0; i < 3; i++) {
      t.root.send({ type: 'RECOVER', deviceId: 'a1', step: 'reenumerate', reason: 'manual' });
      await advance(t.clock, 100);
    }
    const outcomes = t.of('supervisor.recovery').map((r) => r.outcome);
    expect(outcomes).toEqual(['started', 'succeeded', 'started', 'succeeded', 'rate_limited']);
    expect(t.of('supervisor.recovery').at(-1)?.detail).toMatch(/rate limit reached, waiting \d+ s/);
    expect(t.runtime('busA').calls.filter((c) => c === 'recover reenumerate a1')).toHaveLength(2);
    t.stop();
  });

  it('an unknown step name in a manual request is reported, not run', async () => {
    const t = treeHarness([{ busId: 'busA', devices: [{ id: 'a1' }] }]);
    await advance(t.clock, 100);
    t.root.send({ type: 'RECOVER', deviceId: 'a1', step: 'defrost', reason: 'manual' });
    await advance(t.clock, 100);
    expect(t.of('supervisor.recovery').at(-1)).toMatchObject({
      outcome: 'failed',
      detail: 'driver simulated has no recovery step "defrost" (known: reopen, reenumerate, restart_actor)',
    });
    t.stop();
  });
});
