import { createActor, fromPromise } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  type AdapterCheck,
  bleWatchdogMachine,
  diagnose,
  type WatchdogEmitted,
} from '../src/drivers/ble/watchdogMachine.js';
import { advance, simulatedClock } from './helpers/time.js';

// The BLE adapter watchdog as a pure machine with simulated time: checks every interval, a stuck scan
// asks for the next ladder step, each step is verified before the next, a refused request makes it hold
// instead of asking again, and healthy again means plain checks.

const SETTINGS = { intervalMs: 1_000, stuckAfterMs: 5_000, verifyAfterMs: 2_000, checkTimeoutMs: 3_000 };

type Answer = AdapterCheck | Error | 'hang';

function harness() {
  const clock = simulatedClock();
  let answer: (now: number) => Answer = (now) => healthyAt(now);
  let checks = 0;
  const check = fromPromise<AdapterCheck>(async () => {
    checks += 1;
    const result = answer(clock.now());
    if (result === 'hang') return new Promise<AdapterCheck>(() => undefined);
    if (result instanceof Error) throw result;
    return result;
  });
  const actor = createActor(bleWatchdogMachine.provide({ actors: { check } }), { input: SETTINGS, clock });
  const emitted: WatchdogEmitted[] = [];
  actor.on('*', (event) => emitted.push(event));
  actor.start();
  return {
    clock,
    actor,
    emitted,
    checks: () => checks,
    answer: (next: (now: number) => Answer) => {
      answer = next;
    },
    of: <T extends WatchdogEmitted['type']>(type: T) =>
      emitted.filter((e): e is Extract<WatchdogEmitted, { type: T }> => e.type === type),
    state: () => JSON.stringify(actor.getSnapshot().value),
  };
}

/** Discovering since 0, the last advertisement just now. */
function healthyAt(now: number): AdapterCheck {
  return {
    present: true,
    powered: true,
    discovering: true,
    discoveringSince: 0,
    lastAdvertisementAt: now,
    expectsAdvertisements: true,
  };
}

/** Discovering, the last advertisement at `last`. */
const silentSince = (last: number) => (): AdapterCheck => ({ ...healthyAt(last), lastAdvertisementAt: last });

describe('diagnose', () => {
  const base = healthyAt(10_000);
  it('names what is wrong, or null when healthy', () => {
    expect(diagnose(base, 10_000, 5_000, null)).toBeNull();
    expect(diagnose({ ...base, present: false }, 10_000, 5_000, null)).toBe('the adapter is not there');
    expect(diagnose({ ...base, powered: false }, 10_000, 5_000, null)).toBe('the adapter is powered off');
    expect(diagnose({ ...base, discovering: false }, 10_000, 5_000, null)).toMatch(/discovery is off/);
    expect(diagnose(base, 15_001, 5_000, null)).toBe(
      'discovering for 5 s without a single advertisement (stuck)',
    );
    // Discovery restarted recently: the silence counts from then.
    expect(diagnose({ ...base, discoveringSince: 14_000 }, 15_001, 5_000, null)).toBeNull();
    // After a step, an advertisement must be newer than the step.
    expect(diagnose(base, 12_000, 5_000, 11_000)).toBe('still no advertisement 1 s after the recovery step');
    expect(diagnose({ ...base, lastAdvertisementAt: 11_500 }, 12_000, 5_000, 11_000)).toBeNull();
  });

  it('never calls a quiet adapter stuck when nothing is expected to advertise', () => {
    const quiet = { ...base, lastAdvertisementAt: null, expectsAdvertisements: false };
    expect(diagnose(quiet, 1_000_000, 5_000, null)).toBeNull();
    // With sensors configured, silence from the start is suspicious.
    expect(diagnose({ ...quiet, expectsAdvertisements: true }, 10_000, 5_000, null)).toMatch(/stuck/);
  });
});

describe('BLE adapter watchdog machine', () => {
  it('checks every interval and reports healthy, asking for nothing', async () => {
    const h = harness();
    await advance(h.clock, 3_500, 100);
    expect(h.checks()).toBe(3);
    expect(h.of('healthy')).toHaveLength(3);
    expect(h.of('recover')).toEqual([]);
  });

  it('climbs one step at a time: asks, waits for the step, verifies after verifyAfterMs, asks for the next', async () => {
    const h = harness();
    h.answer(silentSince(0));
    await advance(h.clock, 6_000, 100);
    expect(h.of('recover')).toEqual([
      { type: 'recover', reason: 'BLE watchdog: discovering for 6 s without a single advertisement (stuck)' },
    ]);
    expect(h.of('unhealthy')).toHaveLength(1);
    // The supervisor runs stop_discovery; nothing is asked while it runs or before it is verified.
    h.actor.send({ type: 'STEP_STARTED', step: 'stop_discovery' });
    await advance(h.clock, 10_000, 100);
    expect(h.of('recover')).toHaveLength(1);
    h.actor.send({ type: 'STEP_DONE', step: 'stop_discovery', ok: true });
    await advance(h.clock, 1_900, 100);
    expect(h.of('recover')).toHaveLength(1);
    await advance(h.clock, 200, 100);
    expect(h.of('recover').at(-1)?.reason).toMatch(/still no advertisement 2 s after the recovery step/);
    // power_cycle_adapter helps: advertisements arrive after it.
    h.actor.send({ type: 'STEP_STARTED', step: 'power_cycle_adapter' });
    h.actor.send({ type: 'STEP_DONE', step: 'power_cycle_adapter', ok: true });
    h.answer((now) => healthyAt(now));
    await advance(h.clock, 2_100, 100);
    expect(h.of('healthy').at(-1)).toMatchObject({ recovered: true });
    expect(h.state()).toMatch(/watching/);
    // Back to plain checks: another stuck episode starts from a fresh count.
    const asked = h.of('recover').length;
    await advance(h.clock, 3_000, 100);
    expect(h.of('recover')).toHaveLength(asked);
    expect(h.actor.getSnapshot().context.requests).toBe(0);
  });

  it('holds when a request starts no step (rate limit): says so once, keeps checking, stops asking', async () => {
    const h = harness();
    h.answer(silentSince(0));
    await advance(h.clock, 6_000, 100);
    expect(h.of('recover')).toHaveLength(1);
    // No STEP_STARTED: the supervisor refused it.
    await advance(h.clock, 10_000, 100);
    expect(h.of('holding')).toHaveLength(1);
    expect(h.of('recover')).toHaveLength(1);
    expect(h.of('unhealthy').length).toBeGreaterThan(5);
    expect(h.state()).toMatch(/holding/);
    // The supervisor's housekeeping runs a step when the limit allows: verified, then the next is asked for.
    h.actor.send({ type: 'STEP_STARTED', step: 'power_cycle_adapter' });
    h.actor.send({ type: 'STEP_DONE', step: 'power_cycle_adapter', ok: false });
    await advance(h.clock, 2_100, 100);
    expect(h.of('recover')).toHaveLength(2);
    // Healthy while holding ends it as well.
    await advance(h.clock, 2_100, 100);
    h.answer((now) => healthyAt(now));
    await advance(h.clock, 2_000, 100);
    expect(h.state()).toMatch(/watching/);
  });

  it('treats a failing or hung check as "D-Bus does not answer"', async () => {
    const h = harness();
    h.answer(() => new Error('Properties.Get(Powered) on /org/bluez/hci0 got no answer within 5000 ms'));
    await advance(h.clock, 1_100, 100);
    expect(h.of('recover').at(-1)?.reason).toBe(
      'BLE watchdog: D-Bus did not answer: Properties.Get(Powered) on /org/bluez/hci0 got no answer within 5000 ms',
    );
    const h2 = harness();
    h2.answer(() => 'hang');
    await advance(h2.clock, 1_000 + 3_100, 100);
    expect(h2.of('recover').at(-1)?.reason).toBe(
      'BLE watchdog: D-Bus did not answer the check within 3000 ms',
    );
  });

  it('asks when the adapter is powered off or stopped discovering', async () => {
    const h = harness();
    h.answer((now) => ({ ...healthyAt(now), powered: false, discovering: false }));
    await advance(h.clock, 1_100, 100);
    expect(h.of('recover').at(-1)?.reason).toBe('BLE watchdog: the adapter is powered off');
  });
});
