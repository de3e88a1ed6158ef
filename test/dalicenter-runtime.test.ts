import { afterEach, describe, expect, it } from 'vitest';
import type { BusEvent } from '../src/drivers/contract.js';
import type { GatewayEndpoint } from '../src/drivers/dalicenter/link.js';
import { DaliCenterBusRuntime } from '../src/drivers/dalicenter/runtime.js';
import { SimulatedDaliCenter } from '../src/drivers/dalicenter/simulator/index.js';
import { groupStateOf, lightStateOf } from '../src/drivers/dalicenter/deviceStates.js';
import { lightCommandOf } from '../src/drivers/dalicenter/lightCommands.js';
import { daliCenterLight } from '../src/drivers/dalicenter/capabilities.js';
import { eventually } from './helpers/eventually.js';
import { simulatedClock } from './helpers/time.js';
import { seededRandom } from '../src/drivers/shared/random.js';
import { captureLogs, getLogger, type LogCapture } from '../src/logging/index.js';

// The DALI Center runtime against the simulated gateway (its real broker over TCP): one shared link,
// state from what the gateway reports, the auth hold, rediscovery and what it remembers; and the pure
// mappings of commands and states.

const SERIAL = '6A242121110E';
let gateway: SimulatedDaliCenter | undefined;
let runtime: DaliCenterBusRuntime | undefined;
let capture: LogCapture | undefined;

afterEach(async () => {
  capture?.stop();
  capture = undefined;
  await runtime?.close();
  await gateway?.stop();
  runtime = undefined;
  gateway = undefined;
});

async function setUp(options: { password?: string } = {}) {
  gateway = new SimulatedDaliCenter({ serial: SERIAL, discovery: false });
  await gateway.start();
  const sim = gateway;
  const endpoint = (): GatewayEndpoint => ({
    serial: SERIAL,
    host: '127.0.0.1',
    port: sim.mqttPort,
    tls: false,
    username: 'admin',
    password: options.password ?? 'password123',
  });
  const remembered: GatewayEndpoint[] = [];
  capture = captureLogs({ level: 'info' });
  const logged = capture.entries;
  const logs = {
    filter: (keep: (line: string) => boolean) => logged.map((entry) => entry.msg).filter(keep),
  };
  const clock = simulatedClock();
  const log = getLogger('dalicenter:test');
  runtime = new DaliCenterBusRuntime('dalicenter:test', {
    serial: SERIAL,
    endpoint: async () => endpoint(),
    rediscover: async () => endpoint(),
    remember: (found) => remembered.push(found),
    clock,
    log,
    devices: [
      { deviceId: 'gw', target: { role: 'gateway' } },
      {
        deviceId: 'dimmer',
        target: {
          role: 'light',
          address: { devType: '0101', channel: 0, address: 0 },
          light: daliCenterLight({ dev_type: '0101' }),
        },
      },
      { deviceId: 'office', target: { role: 'group', channel: 0, groupId: 0 } },
    ],
  });
  const events: BusEvent[] = [];
  runtime.watchBus((event) => events.push(event));
  return { runtime, gateway: sim, remembered, logs, events, clock };
}

describe('DALI Center runtime against the simulated gateway', () => {
  it('shares one link, publishes what the gateway reports and derives a group from its members', async () => {
    const { runtime, gateway, events } = await setUp();
    await Promise.all(
      ['gw', 'dimmer', 'office'].map((id) => runtime.connect(id, AbortSignal.timeout(5_000))),
    );
    expect(gateway.clientIds()).toHaveLength(1);
    expect(await runtime.execute('gw', 'get', {}, AbortSignal.timeout(5_000))).toMatchObject({
      connected: true,
      firmware: '1.47',
    });
    expect(
      await runtime.execute('dimmer', 'set', { state: 'ON', brightness: 1 }, AbortSignal.timeout(5_000)),
    ).toMatchObject({
      state: 'ON',
      brightness: 1,
    });
    // 1/255 of the gateway's 1000 is 4: never 0 (off) on the way back.
    expect(gateway.line.at(0, 0)?.light?.brightness).toBe(4);
    expect(await runtime.execute('office', 'set', { state: 'OFF' }, AbortSignal.timeout(5_000))).toEqual({
      state: 'OFF',
      brightness: 0,
    });
    // A light changed at the wall: its status is a data event of the light and of its group.
    events.length = 0;
    gateway.push.lightChanged(0, { on: true, brightness: 1000 });
    const data = (id: string) =>
      events.flatMap((event) =>
        event.type === 'device' && event.deviceId === id && event.event.type === 'data'
          ? [event.event.result]
          : [],
      );
    await eventually(() => data('office').length > 0, { what: 'the group derived again' });
    expect(data('dimmer').at(-1)).toMatchObject({ state: 'ON', brightness: 255 });
    expect(data('office').at(-1)).toEqual({ state: 'ON', brightness: 255 });
    // No device events after disconnect.
    await runtime.disconnect('dimmer');
    events.length = 0;
    gateway.push.lightChanged(0, { on: false });
    await eventually(() => data('office').length > 0, { what: 'the group again' });
    expect(data('dimmer')).toEqual([]);
  });

  it('a refused login is said once and not tried again while the hold lasts', async () => {
    const { runtime, logs } = await setUp({ password: 'stale' });
    for (let attempt = 0; attempt < 3; attempt++)
      await expect(runtime.connect('dimmer', AbortSignal.timeout(5_000))).rejects.toThrow(/pair it again/);
    expect(logs.filter((line) => line.includes('refused the login'))).toHaveLength(1);
    // The ladder does not get around the hold either.
    await expect(runtime.runRecoveryStep('rediscover', 'dimmer', AbortSignal.timeout(5_000))).rejects.toThrow(
      /refused the login/,
    );
  });

  it('rediscovery follows the gateway to its new address and remembers it', async () => {
    const { runtime, gateway, remembered, events } = await setUp();
    await runtime.connect('dimmer', AbortSignal.timeout(5_000));
    const moved = await gateway.changeAddress({ port: 0 });
    await eventually(() => events.some((event) => event.type === 'lost'), { what: 'the link lost' });
    await runtime.runRecoveryStep('rediscover', 'dimmer', AbortSignal.timeout(5_000));
    expect(remembered.map((endpoint) => endpoint.port)).toEqual([moved]);
    await runtime.connect('dimmer', AbortSignal.timeout(5_000));
    expect(await runtime.execute('dimmer', 'get', {}, AbortSignal.timeout(5_000))).toMatchObject({
      state: expect.any(String),
    });
  });
});

describe('DALI Center runtime: a malformed-message fuzz from the gateway', () => {
  it('survives seeded garbage and mutated reports, publishes nothing out of range, logs each kind once', async () => {
    const { runtime, gateway, events, logs } = await setUp();
    await Promise.all(
      ['gw', 'dimmer', 'office'].map((id) => runtime.connect(id, AbortSignal.timeout(5_000))),
    );
    const random = seededRandom(18);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const values = [null, true, false, -1, 0, 1, 254, 255, 1000, 1001, 1e9, 'x', '500', '', [], {}, 0.5, NaN];
    const base = () => ({
      cmd: pick([
        'devStatus',
        'readDevRes',
        'onlineStatus',
        'reportEnergy',
        'searchDevRes',
        'getGroupRes',
        'nope',
      ]),
      gwSn: pick([SERIAL, SERIAL, 'OTHER', 7]),
      data: pick([
        {
          devType: pick(['0101', '0102', '0201', '0202', '0304', 'ZZZZ', 1]),
          channel: pick([0, 1, -1, 'a']),
          address: pick([0, 63, 64, 'x']),
          property: [
            {
              dpid: pick([20, 21, 22, 23, 24, 4, 30, 1, 99]),
              value: pick(values),
              keyNo: pick([1, 9, undefined]),
            },
          ],
        },
        [{ devType: '0101', channel: 0, address: 0, status: pick(values) }],
        pick(values),
      ]),
    });
    for (let round = 0; round < 400; round++) {
      const kind = random();
      if (kind < 0.1)
        await gateway.injectRaw(
          Buffer.from(
            Array.from({ length: 1 + Math.floor(random() * 40) }, () => Math.floor(random() * 256)),
          ),
        );
      else if (kind < 0.2)
        await gateway.injectRaw(JSON.stringify(base()).slice(0, Math.floor(random() * 60)));
      else await gateway.injectRaw(JSON.stringify(base()));
    }
    // Still working: a command round trip after the storm.
    expect(
      await runtime.execute('dimmer', 'set', { state: 'ON', brightness: 128 }, AbortSignal.timeout(5_000)),
    ).toMatchObject({
      state: 'ON',
      brightness: 128,
    });
    for (const event of events) {
      if (event.type !== 'device' || event.event.type !== 'data') continue;
      const result = event.event.result as Record<string, unknown>;
      if ('brightness' in result)
        expect(result.brightness).toSatisfy((b: unknown) => typeof b === 'number' && b >= 0 && b <= 255);
      if ('state' in result) expect(['ON', 'OFF']).toContain(result.state);
    }
    const ignored = logs.filter((line) => line.includes(': ignored '));
    expect(new Set(ignored).size, ignored.join('\n')).toBe(ignored.length);
    expect(ignored.length).toBeGreaterThan(3);
  }, 30_000);
});

describe('DALI Center commands and states', () => {
  it("maps HA's brightness, colour temperature, hs and rgbw to the gateway's data points", () => {
    expect(lightCommandOf({ brightness: 255 })).toEqual({ brightness: 1000, on: true });
    expect(lightCommandOf({ brightness: 0 })).toEqual({ on: false });
    expect(lightCommandOf({ state: 'OFF', brightness: 10 })).toEqual({ on: false, brightness: 39 });
    const tc = daliCenterLight({ dev_type: '0102', min_kelvin: 2700, max_kelvin: 6500 });
    expect(lightCommandOf({ color_temp: 3000 }, tc)).toEqual({ kelvin: 3000 });
    expect(() => lightCommandOf({ color_temp: 2000 }, tc)).toThrow(/invalid light command/);
    expect(lightCommandOf({ color: { h: 120, s: 50 } }, daliCenterLight({ dev_type: '0103' }))).toEqual({
      hsv: { hue: 120, saturation: 500, value: 1000 },
    });
    expect(
      lightCommandOf({ color: { r: 255, g: 0, b: 0, w: 9 } }, daliCenterLight({ dev_type: '0105' })),
    ).toEqual({
      hsv: { hue: 0, saturation: 1000, value: 1000 },
      white: 9,
    });
    expect(() => lightCommandOf({})).toThrow(/needs/);
  });

  it('publishes reports, not requests: a light on at level 0 reads off; a group is on when a member is', () => {
    expect(lightStateOf({ on: true, brightness: 0 })).toEqual({ state: 'OFF', brightness: 0 });
    expect(lightStateOf({ on: true, brightness: 1 })).toEqual({ state: 'ON', brightness: 1 });
    expect(groupStateOf([undefined, undefined])).toBeUndefined();
    expect(
      groupStateOf([
        { on: false, brightness: 0 },
        { on: true, brightness: 500 },
      ]),
    ).toEqual({ state: 'ON', brightness: 128 });
    expect(groupStateOf([{ on: false }, { on: false }])).toEqual({ state: 'OFF', brightness: 0 });
  });
});
