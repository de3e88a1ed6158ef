import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DRIVERS, entitiesOf } from '../src/drivers/registry.js';
import type { BusRuntime } from '../src/drivers/contract.js';
import { simulatedMbusSegmentsOf } from '../src/drivers/mbus/simulatedBus.js';
import type { MeterReading } from '../src/drivers/mbus/readings.js';
import { type DeviceConfig, deviceBus, parseConfig } from '../src/config/index.js';
import { systemClock } from '../src/machines/clock.js';
import { GatewayOpenContext } from '../src/hosting/openContext.js';

// `driver: mbus` with `transport: simulated` is the M-Bus driver on the meter simulator, in-process:
// the real master reads simulated meters (no socat), and the device publishes meter records and gets
// meter entities, never the generic simulated device's temperature, humidity and light.

const root = join(import.meta.dirname, '..');
const signal = () => AbortSignal.timeout(10_000);
const opened: BusRuntime[] = [];
/** What the gateway hands its openers; each test is a gateway of its own (its simulated segments too). */
let context = new GatewayOpenContext(systemClock);
afterEach(async () => {
  for (const runtime of opened.splice(0)) await runtime.close();
  await context.close();
  context = new GatewayOpenContext(systemClock);
});

/** Opens every bus of `devices` through the driver catalogue, as the gateway does (on `on`). */
async function openBuses(
  devices: readonly DeviceConfig[],
  on: GatewayOpenContext = context,
): Promise<Map<string, BusRuntime>> {
  const buses = new Map<string, DeviceConfig[]>();
  for (const device of devices)
    buses.set(deviceBus(device), [...(buses.get(deviceBus(device)) ?? []), device]);
  const runtimes = new Map<string, BusRuntime>();
  for (const [busId, members] of buses) {
    const first = members[0] as DeviceConfig;
    const open = DRIVERS[first.driver].transports[first.transport];
    if (!open) throw new Error(`no opener for ${first.driver}/${first.transport}`);
    const runtime = await open(busId, members, on);
    opened.push(runtime);
    for (const member of members) runtimes.set(member.id, runtime);
  }
  return runtimes;
}

async function read(runtimes: Map<string, BusRuntime>, id: string): Promise<MeterReading> {
  const runtime = runtimes.get(id);
  if (!runtime) throw new Error(`no bus for ${id}`);
  await runtime.connect(id, signal());
  return (await runtime.execute(id, 'poll', null, signal())) as MeterReading;
}

const meters = (bus: string) =>
  parseConfig(
    [
      'devices:',
      `  - { id: heat, driver: mbus, transport: simulated, bus: ${bus}, address: 1 }`,
      `  - { id: water, driver: mbus, transport: simulated, bus: ${bus}, address: '12340002FFFFFFFF' }`,
    ].join('\n'),
    {},
  ).devices;

describe('M-Bus transport: simulated', () => {
  it('reads meter records over M-Bus from the simulated meters at the configured addresses', async () => {
    const runtimes = await openBuses(meters('mbus:sim-read'));
    const heat = await read(runtimes, 'heat');
    expect(heat.meter).toMatchObject({ id: '12340001', manufacturer: 'KAM' });
    expect(heat.meter.medium).toMatch(/^Heat/);
    const energy = heat.records.find((record) => record.quantity === 'Energy');
    expect(energy?.unit).toBe('Wh');
    expect(heat.records.some((record) => record.quantity === 'Volume flow')).toBe(true);
    expect(heat).not.toHaveProperty('temperature');
    const water = await read(runtimes, 'water');
    expect(water.meter.id).toBe('12340002');
    expect(water.records.some((record) => record.unit === 'm^3')).toBe(true);
  });

  it('treats a dead simulated meter like a dead meter on a real line', async () => {
    const runtimes = await openBuses(meters('mbus:sim-dead'));
    await read(runtimes, 'heat');
    const meter = simulatedMbusSegmentsOf(context).get('mbus:sim-dead')?.findMeter(1);
    if (!meter) throw new Error('no simulated meter at address 1');
    meter.alive = false;
    await expect(runtimes.get('heat')?.execute('heat', 'poll', null, signal())).rejects.toThrow(
      /primary address 1 did not answer REQ_UD2/,
    );
    await expect(runtimes.get('heat')?.connect('heat', signal())).rejects.toThrow(
      'no meter answers at primary address 1',
    );
  });

  it('gives each gateway its own segment: two gateways in one process with the same bus share no meter', async () => {
    // The second gateway's line has only a water meter at primary address 2; on a shared segment its
    // meters would replace the first gateway's, whose heat meter at address 1 would stop answering.
    const [heat] = parseConfig(
      'devices:\n  - { id: heat, driver: mbus, transport: simulated, bus: mbus:shared, address: 1 }\n',
      {},
    ).devices;
    const [water] = parseConfig(
      'devices:\n  - { id: water, driver: mbus, transport: simulated, bus: mbus:shared, address: 2 }\n',
      {},
    ).devices;
    if (!heat || !water) throw new Error('no device');
    const first = await openBuses([heat]);
    expect((await read(first, 'heat')).meter.id).toBe('12340001');
    const other = new GatewayOpenContext(systemClock);
    try {
      const second = await openBuses([water], other);
      expect((await read(second, 'water')).meter.id).toBe('12340002');
      expect((await read(first, 'heat')).meter.id).toBe('12340001');
      expect(simulatedMbusSegmentsOf(context).get('mbus:shared')).not.toBe(
        simulatedMbusSegmentsOf(other).get('mbus:shared'),
      );
    } finally {
      await other.close();
    }
  });

  it('has no meter for an address the simulator cannot play: it behaves like a dead meter', async () => {
    // Medium 0x0A (cooling) is not among the simulator's media: no simulated meter answers the select.
    const [device] = parseConfig(
      "devices:\n  - { id: cold, driver: mbus, transport: simulated, address: '12345678FFFFFF0A' }\n",
      {},
    ).devices;
    if (!device) throw new Error('no device');
    const runtime = (await openBuses([device])).get('cold');
    await expect(runtime?.connect('cold', signal())).rejects.toThrow(
      'no meter answers at secondary address 12345678FFFFFF0A',
    );
  });

  it('offers Home Assistant meter sensors, not a light', async () => {
    const runtimes = await openBuses(meters('mbus:sim-entities'));
    const reading = await read(runtimes, 'heat');
    const device = meters('mbus:sim-entities')[0] as DeviceConfig;
    const entities = entitiesOf(device, reading);
    expect(entities.map((entity) => entity.component)).not.toContain('light');
    expect(entities.map((entity) => entity.key)).not.toContain('humidity');
    expect(entities.find((entity) => entity.unit === 'Wh')?.deviceClass).toBe('energy');
  });

  it.each(['fieldbridge.example.yaml', 'deploy/config/fieldbridge.yaml'])(
    'ships simulated meters in %s that read as meters',
    async (file) => {
      const config = parseConfig(
        readFileSync(join(root, file), 'utf8'),
        {
          MQTT_URL: 'mqtt://x',
          FIELDBRIDGE_HTTP_TOKEN: 't',
          FIELDBRIDGE_MQTT_PASSWORD: 'p',
          HA_MQTT_PASSWORD: 'p',
        },
        file,
      );
      const simulated = config.devices.filter(
        (device) => device.driver === 'mbus' && device.transport === 'simulated',
      );
      expect(simulated.length).toBeGreaterThan(0);
      const runtimes = await openBuses(simulated);
      for (const device of simulated) {
        const reading = await read(runtimes, device.id);
        expect(reading.meter.medium, device.id).toMatch(/^Heat/);
        expect(reading.records.length, device.id).toBeGreaterThan(3);
      }
    },
  );
});
