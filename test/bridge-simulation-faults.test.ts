import { describe, expect, it } from 'vitest';
import { DaliBus, FakeHidEnumerator } from '../src/drivers/dali/simulator/index.js';
import { RequestHandler } from '../src/bridge/requestHandler.js';
import { parseRequest } from '../src/bridge/requests.js';
import { injectSimulationFault } from '../src/drivers/dali/simulationFaults.js';
import { simulatedDaliAdaptersOf } from '../src/drivers/dali/simulatedAdapters.js';
import { GatewayOpenContext } from '../src/hosting/openContext.js';
import { systemClock } from '../src/machines/clock.js';
import { type DeviceConfig, parseConfig } from '../src/config/index.js';

// `simulation/fault`: the chaos soak's (and a demo's) way to pull the in-process fake hasseb stick or
// cut its lamps' mains from outside the gateway. It must only ever touch simulated adapters.

function devicesOf(yaml: string): Map<string, DeviceConfig> {
  const config = parseConfig(yaml, {});
  return new Map(config.devices.map((device) => [device.id, device]));
}

const SIMULATED = devicesOf(
  [
    'devices:',
    '  - { id: lamp0, driver: dali, transport: simulated, address: 0 }',
    '  - { id: lamp1, driver: dali, transport: simulated, address: 1 }',
  ].join('\n'),
);

function fakeAdapter(): {
  adapters: Map<string, FakeHidEnumerator>;
  enumerator: FakeHidEnumerator;
  bus: DaliBus;
} {
  const enumerator = new FakeHidEnumerator();
  const bus = new DaliBus({
    gear: [
      { shortAddress: 0, groups: [], level: 100 },
      { shortAddress: 1, groups: [], level: 100 },
    ],
  });
  enumerator.plug({ bus, idleIntervalMs: 0 });
  return { adapters: new Map([['dali:simulated', enumerator]]), enumerator, bus };
}

describe('simulation/fault request', () => {
  it('is checked like every request: driver, fault, address range, unknown keys', () => {
    expect(parseRequest('simulation/fault', '{"driver":"dali","fault":"unplug","transaction":3}')).toEqual({
      ok: true,
      value: { name: 'simulation/fault', driver: 'dali', fault: 'unplug' },
      transaction: 3,
    });
    for (const [payload, problem] of [
      ['{"driver":"mbus","fault":"unplug"}', /driver/],
      ['{"driver":"dali","fault":"explode"}', /fault/],
      ['{"driver":"dali","fault":"power_cut","address":64}', /address/],
      ['{"driver":"dali","fault":"power_cut","duration_ms":-1}', /duration_ms/],
      ['{"driver":"dali","fault":"unplug","volts":230}', /unknown key "volts"/],
    ] as const) {
      const parsed = parseRequest('simulation/fault', payload);
      expect(parsed.ok, payload).toBe(false);
      if (!parsed.ok) expect(parsed.error).toMatch(problem);
    }
  });

  it('unplugs and replugs the simulated stick', () => {
    const { adapters, enumerator } = fakeAdapter();
    const unplug = injectSimulationFault({ driver: 'dali', fault: 'unplug' }, SIMULATED, adapters);
    expect(unplug).toEqual({
      data: { driver: 'dali', bus: 'dali:simulated', fault: 'unplug', adapter: 'HASSEB-0001' },
    });
    expect(enumerator.list()).toEqual([]);
    expect(injectSimulationFault({ driver: 'dali', fault: 'unplug' }, SIMULATED, adapters)).toEqual({
      error: 'HASSEB-0001 is already unplugged',
    });
    const replug = injectSimulationFault({ driver: 'dali', fault: 'replug' }, SIMULATED, adapters);
    expect(replug).toMatchObject({ data: { fault: 'replug', path: '/dev/hidraw1' } });
    expect(enumerator.list()).toHaveLength(1);
  });

  it('cuts the mains of one lamp or all, as a blip or for a while', async () => {
    const { adapters, bus } = fakeAdapter();
    const blip = injectSimulationFault(
      { driver: 'dali', fault: 'power_cut', address: 1 },
      SIMULATED,
      adapters,
    );
    expect(blip).toMatchObject({ data: { address: 1, duration_ms: 0 } });
    // Back at once, at the power-on level, with the power-failure bit the self-test looks for.
    expect(bus.gearAt(1)).toMatchObject({ powered: true, powerFailure: true, actualLevel: 254 });
    expect(bus.gearAt(0)).toMatchObject({ powerFailure: false, actualLevel: 100 });

    injectSimulationFault({ driver: 'dali', fault: 'power_cut', duration_ms: 50 }, SIMULATED, adapters);
    expect(bus.gear.map((gear) => gear.powered)).toEqual([false, false]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(bus.gear.map((gear) => gear.powered)).toEqual([true, true]);

    expect(
      injectSimulationFault({ driver: 'dali', fault: 'power_cut', address: 9 }, SIMULATED, adapters),
    ).toEqual({ error: expect.stringMatching(/no gear with short address 9/) });
    expect(
      injectSimulationFault({ driver: 'dali', fault: 'unplug', address: 1 }, SIMULATED, adapters),
    ).toEqual({
      error: 'address and duration_ms belong to power_cut, not to unplug',
    });
  });

  it('refuses a real adapter, naming why, and never touches it', () => {
    const real = devicesOf('devices:\n  - { id: hall, driver: dali, address: 5 }');
    const { adapters, enumerator } = fakeAdapter();
    const outcome = injectSimulationFault({ driver: 'dali', fault: 'unplug' }, real, adapters);
    expect(outcome).toEqual({
      error:
        'DALI bus dali:default runs the hid transport (a real adapter): faults are injected only into ' +
        'simulated adapters (transport: simulated)',
    });
    expect(enumerator.list()).toHaveLength(1);
    expect(
      injectSimulationFault({ driver: 'dali', fault: 'unplug', bus: 'dali:default' }, real, adapters),
    ).toEqual(outcome);
    expect(injectSimulationFault({ driver: 'dali', fault: 'unplug' }, new Map(), adapters)).toEqual({
      error: expect.stringMatching(/^no DALI bus of this gateway runs the simulated transport/),
    });
  });

  /** The request handler of a gateway whose buses were opened with `openContext`. */
  const handlerOf = (devices: Map<string, DeviceConfig>, openContext = new GatewayOpenContext(systemClock)) =>
    new RequestHandler({
      devices,
      reloadConfig: async () => ({ ok: false, error: 'none' }),
      send: () => undefined,
      scan: async () => ({ ok: false, error: 'none' }),
      queueStats: () => ({ depth: 0, bytes: 0, oldestAgeMs: 0, dropped: 0, published: 0 }),
      health: () => ({}),
      openContext,
    });

  it('is answered through the request handler like any request', async () => {
    const handler = handlerOf(devicesOf('devices:\n  - { id: hall, driver: dali, address: 5 }'));
    const answer = await handler.handle(
      'simulation/fault',
      '{"driver":"dali","fault":"unplug","transaction":"t"}',
    );
    expect(answer).toMatchObject({
      status: 'error',
      transaction: 't',
      error: expect.stringMatching(/real adapter/),
    });
  });

  it("acts on its own gateway's simulated adapter only: two gateways in one process share none", async () => {
    const [first, second] = [new GatewayOpenContext(systemClock), new GatewayOpenContext(systemClock)];
    const ofFirst = fakeAdapter().enumerator;
    const ofSecond = fakeAdapter().enumerator;
    simulatedDaliAdaptersOf(first).set('dali:simulated', ofFirst);
    simulatedDaliAdaptersOf(second).set('dali:simulated', ofSecond);
    const answer = await handlerOf(SIMULATED, first).handle(
      'simulation/fault',
      '{"driver":"dali","fault":"unplug"}',
    );
    expect(answer).toMatchObject({ status: 'ok', data: { fault: 'unplug', bus: 'dali:simulated' } });
    expect(ofFirst.list()).toHaveLength(0);
    expect(ofSecond.list()).toHaveLength(1);
    // A gateway whose simulated bus has not opened yet has no adapter to pull, whatever others have.
    expect(
      await handlerOf(SIMULATED).handle('simulation/fault', '{"driver":"dali","fault":"unplug"}'),
    ).toMatchObject({
      status: 'error',
      error: 'the simulated adapter of bus dali:simulated has not been opened yet',
    });
  });
});
