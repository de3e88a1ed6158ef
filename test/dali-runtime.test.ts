import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BusEvent, BusRuntime, JsonValue } from '../src/drivers/contract.js';
import { DRIVERS } from '../src/drivers/registry.js';
import { simulatedDaliAdaptersOf } from '../src/drivers/dali/simulatedAdapters.js';
import { parseConfig } from '../src/config/index.js';
import { GatewayOpenContext } from '../src/hosting/openContext.js';
import { systemClock } from '../src/machines/clock.js';
import { DaliBusRuntime } from '../src/drivers/dali/runtime.js';
import { DaliBus, FakeHidEnumerator, type FakeHassebStick } from '../src/drivers/dali/simulator/index.js';
import { advance, simulatedClock } from './helpers/time.js';

// The DALI runtime against the fake hasseb adapter (there is no /dev/uhid to make a real HID device):
// real report bytes, sequence numbers and a virtual bus of lamps behind the HidTransport seam.

const signal = () => AbortSignal.timeout(10_000);

describe('DALI bus runtime on a fake hasseb adapter', () => {
  let usb: FakeHidEnumerator;
  let stick: FakeHassebStick;
  let runtime: DaliBusRuntime;
  let events: BusEvent[];

  beforeEach(() => {
    usb = new FakeHidEnumerator();
    stick = usb.plug({
      fast: true,
      idleIntervalMs: 0,
      bus: new DaliBus({
        gear: [
          { shortAddress: 0, groups: [1], maxLevel: 254, minLevel: 85 },
          { shortAddress: 1, groups: [1, 3] },
          { shortAddress: 5, groups: [], powerOnLevel: 254 },
        ],
      }),
    });
    usb.plugOther({ vendorId: 0x046d, productId: 0xc52b, serialNumber: 'mouse' });
    runtime = new DaliBusRuntime('dali:test', {
      enumerator: usb,
      lights: [
        { deviceId: 'hall', target: { short: 0 } },
        { deviceId: 'desk', target: { short: 5 } },
        { deviceId: 'group1', target: { group: 1 } },
        { deviceId: 'ghost', target: { short: 9 } },
      ],
      watchIntervalMs: 50,
      queryTimeoutMs: 100,
    });
    events = [];
    runtime.watchBus((event) => events.push(event));
  });
  afterEach(() => runtime.close());

  it('connects present lamps, reading their levels and groups, and refuses absent ones', async () => {
    await runtime.connect('hall', signal());
    await expect(runtime.connect('ghost', signal())).rejects.toThrow(
      'no DALI lamp answers at short address 9',
    );
    const state = await runtime.execute('hall', 'get', {}, signal());
    expect(state).toEqual({ state: 'OFF', brightness: 0, min_level: 85, max_level: 254, groups: [1] });
  });

  it('sets a level and publishes what the lamp confirms, not what was asked', async () => {
    await runtime.connect('hall', signal());
    expect(await runtime.execute('hall', 'set', { state: 'ON', brightness: 200 }, signal())).toMatchObject({
      state: 'ON',
      brightness: 200,
    });
    // Below the lamp's minimum level: the lamp clamps, and the state says so.
    expect(await runtime.execute('hall', 'set', { brightness: 10 }, signal())).toMatchObject({
      brightness: 85,
    });
    expect(await runtime.execute('hall', 'set', { state: 'OFF' }, signal())).toMatchObject({
      state: 'OFF',
      brightness: 0,
    });
    // ON without a brightness goes back to the last level it had.
    expect(await runtime.execute('hall', 'set', { state: 'ON' }, signal())).toMatchObject({ brightness: 85 });
    expect(stick.bus.gearAt(0).actualLevel).toBe(85);
  });

  it('switches a group with one frame and confirms from one of its lamps', async () => {
    await runtime.connect('hall', signal());
    await runtime.connect('group1', signal());
    const state = (await runtime.execute(
      'group1',
      'set',
      { state: 'ON', brightness: 150 },
      signal(),
    )) as Record<string, JsonValue>;
    expect(state).toMatchObject({ state: 'ON', brightness: 150 });
    expect(stick.bus.gearAt(1).actualLevel).toBe(150);
    expect(stick.bus.gearAt(5).actualLevel).toBe(0);
  });

  it('reports a lamp power failure in its self-test', async () => {
    await runtime.connect('desk', signal());
    await runtime.execute('desk', 'set', { brightness: 100 }, signal());
    expect(await runtime.execute('desk', 'poll', null, signal())).toMatchObject({
      power_failure: false,
      brightness: 100,
    });
    stick.bus.cutPower(5);
    stick.bus.restorePower(5);
    expect(await runtime.execute('desk', 'poll', null, signal())).toMatchObject({
      power_failure: true,
      brightness: 254,
    });
  });

  it("derives a group's lamp failure from its lamps: any member's failed lamp, even one not configured", async () => {
    await runtime.connect('hall', signal());
    await runtime.connect('group1', signal());
    const lampFailure = async () =>
      ((await runtime.execute('group1', 'poll', null, signal())) as Record<string, JsonValue>).lamp_failure;
    expect(await lampFailure()).toBe(false);
    // Lamp 1 is in group 1 but is no configured device; lamp 5 is in no group.
    stick.bus.setLampFailure(5, true);
    expect(await lampFailure()).toBe(false);
    stick.bus.setLampFailure(1, true);
    expect(await lampFailure()).toBe(true);
    // Both members answer YES at once: the collision still means "a lamp failed".
    stick.bus.setLampFailure(0, true);
    expect(await lampFailure()).toBe(true);
    stick.bus.setLampFailure(0, false);
    stick.bus.setLampFailure(1, false);
    expect(await lampFailure()).toBe(false);
  });

  it('ignores stale answers with an old sequence number', async () => {
    await runtime.connect('hall', signal());
    stick.faults.failNext('stale', 1);
    const state = await runtime.execute('hall', 'get', {}, signal()).catch((error: Error) => error);
    // A stale answer is never taken for this query's: either the right answer or a clean "no answer".
    if (state instanceof Error) expect(state.message).toContain('did not answer');
    else expect(state).toMatchObject({ brightness: 0 });
  });

  it('reports the adapter lost on unplug, present again within a second of the replug', async () => {
    await runtime.connect('hall', signal());
    usb.unplug();
    await expect.poll(() => events.some((event) => event.type === 'lost')).toBe(true);
    await expect(runtime.execute('hall', 'get', {}, signal())).rejects.toThrow('not connected');
    const replugged = Date.now();
    usb.replug();
    await expect.poll(() => events.some((event) => event.type === 'present'), { timeout: 1_000 }).toBe(true);
    expect(Date.now() - replugged).toBeLessThan(1_000);
    await runtime.connect('hall', signal());
    expect(await runtime.execute('hall', 'get', {}, signal())).toMatchObject({ state: 'OFF' });
  });

  it('looks for the replugged adapter on the clock it is given (simulated time)', async () => {
    const clock = simulatedClock();
    const timed = new DaliBusRuntime('dali:timed', {
      enumerator: usb,
      lights: [{ deviceId: 'hall', target: { short: 0 } }],
      // A minute between looks: only simulated time can get there within the test.
      watchIntervalMs: 60_000,
      queryTimeoutMs: 100,
      clock,
    });
    const seen: BusEvent[] = [];
    timed.watchBus((event) => seen.push(event));
    try {
      await timed.connect('hall', signal());
      usb.unplug();
      await expect.poll(() => seen.some((event) => event.type === 'lost')).toBe(true);
      usb.replug();
      await advance(clock, 59_000, 1_000);
      expect(seen.some((event) => event.type === 'present')).toBe(false);
      await advance(clock, 1_000, 1_000);
      expect(seen.some((event) => event.type === 'present')).toBe(true);
    } finally {
      await timed.close();
    }
  });

  it('scans the lamps and the groups they are in', async () => {
    const found = await runtime.scan(signal());
    expect(found.map((light) => light.target)).toEqual([
      { short: 0 },
      { short: 1 },
      { short: 5 },
      { group: 1 },
      { group: 3 },
    ]);
  });

  it('refuses an adapter whose firmware is too old, naming the version', async () => {
    await runtime.close();
    const old = new FakeHidEnumerator();
    old.plug({ fast: true, idleIntervalMs: 0, firmware: { major: 2, minor: 1 } });
    runtime = new DaliBusRuntime('dali:old', {
      enumerator: old,
      lights: [{ deviceId: 'a', target: { short: 0 } }],
    });
    await expect(runtime.connect('a', signal())).rejects.toThrow(/2\.1/);
  });
});

describe('DALI simulated transport', () => {
  const lamp = parseConfig(
    'devices:\n  - { id: hall, driver: dali, transport: simulated, bus: dali:kept, address: 0 }\n',
    {},
  ).devices;
  const open = DRIVERS.dali.transports.simulated;
  const contexts: GatewayOpenContext[] = [];
  const runtimes: BusRuntime[] = [];
  afterEach(async () => {
    for (const runtime of runtimes.splice(0)) await runtime.close();
    for (const context of contexts.splice(0)) await context.close();
  });
  /** The lamp's state on a bus opened with `context`, as the gateway opens it. */
  async function hallOn(context: GatewayOpenContext) {
    if (!open) throw new Error('no simulated DALI transport');
    const runtime = await open('dali:kept', lamp, context);
    runtimes.push(runtime);
    await runtime.connect('hall', signal());
    return runtime;
  }

  it('keeps its fake adapter across bus restarts of one gateway, and shares it with no other gateway', async () => {
    const first = new GatewayOpenContext(systemClock);
    const second = new GatewayOpenContext(systemClock);
    contexts.push(first, second);
    const before = await hallOn(first);
    await before.execute('hall', 'set', { state: 'ON', brightness: 200 }, signal());
    await before.close();
    // The same gateway restarts the bus: the lamp kept its level, as a real lamp does.
    const restarted = await hallOn(first);
    expect(await restarted.execute('hall', 'get', {}, signal())).toMatchObject({
      state: 'ON',
      brightness: 200,
    });
    // Another gateway in this process with a bus of the same id has lamps of its own.
    const other = await hallOn(second);
    expect(await other.execute('hall', 'get', {}, signal())).toMatchObject({ state: 'OFF', brightness: 0 });
    expect(simulatedDaliAdaptersOf(first).get('dali:kept')).not.toBe(
      simulatedDaliAdaptersOf(second).get('dali:kept'),
    );
  });
});
