import { describe, expect, it } from 'vitest';
import { BusRegistry } from '../src/hosting/busRegistry.js';
import { BleBusRuntime } from '../src/drivers/ble/runtime.js';
import type { HeardSensor } from '../src/drivers/ble/sensors.js';
import { DRIVERS, entitiesOf } from '../src/drivers/registry.js';
import { type DeviceConfig, parseConfig } from '../src/config/index.js';
import { bleLineScan } from '../src/drivers/ble/lineScan.js';
import { BleSensorCollector } from '../src/drivers/ble/sensorDevices.js';
import { withDiscovered } from '../src/gateway/discovered.js';
import type { DiscoveredDevice } from '../src/persistence/index.js';
import { systemClock } from '../src/machines/clock.js';
import { problemsOf } from './helpers/config.js';

// BLE in the config: the `ble:` section, the adapter role of BLE devices, the effective config (adapter
// devices, found sensors, a configured MAC winning), auto_add's collector, the scan, and the entities.

const MAC = 'A4:C1:38:00:00:01';

function heard(overrides: Partial<HeardSensor> = {}): HeardSensor {
  return {
    busId: 'ble:hci0',
    adapter: 'hci0',
    mac: MAC,
    name: 'BTHome 1',
    format: 'bthome',
    encrypted: false,
    rssi: -60,
    deviceId: undefined,
    lastHeardAt: Date.now(),
    ...overrides,
  };
}

describe('ble: section and BLE device fields', () => {
  it('fills in a line: bluez, every format, auto_add from -75 dBm, 10 minutes offline, the watchdog every minute', () => {
    const config = parseConfig('ble:\n  - { adapter: hci0 }\n', {});
    expect(config.ble).toEqual([
      {
        adapter: 'hci0',
        transport: 'bluez',
        formats: ['bthome', 'ruuvi', 'atc'],
        auto_add: true,
        auto_add_min_rssi: -75,
        offline_after_ms: 600_000,
        watchdog: { interval_ms: 60_000, stuck_after_ms: 120_000, verify_after_ms: 15_000 },
      },
    ]);
  });

  it('names the problems of a bad line and of fields on the wrong kind of BLE device', () => {
    expect(
      problemsOf(
        [
          'ble:',
          '  - { adapter: hci0, bus_address: "tcp:host=x", formats: [], allow: [nope] }',
          '  - { adapter: hci0 }',
          'devices:',
          '  - { id: a, driver: ble, role: adapter, mac: "A4:C1:38:00:00:01" }',
          '  - { id: s, driver: ble, watchdog: { interval_ms: 1000 } }',
        ].join('\n'),
      ),
    ).toEqual([
      'ble[0].bus_address: must be a D-Bus address like unix:path=/run/dbus/system_bus_socket',
      'ble[0].formats: must name at least one format',
      'ble[0].allow[0]: must be a MAC address like AA:BB:CC:DD:EE:FF',
      'ble[1].adapter: adapter hci0 (bluez) is already a BLE line (ble[0])',
      'devices[0].mac: belongs to a sensor, not to an adapter device (role: adapter)',
      'devices[1].watchdog: belongs to the adapter device (role: adapter, or a line under ble:), not to a sensor',
    ]);
  });
});

describe('the effective config with BLE', () => {
  it('puts the adapter device of each line first, and one for bluez sensors without a line', () => {
    const config = parseConfig(
      [
        'ble:',
        '  - { adapter: hci0, bus_address: "unix:path=/tmp/bus", watchdog: { interval_ms: 500 } }',
        'devices:',
        `  - { id: thermo, driver: ble, mac: "${MAC}" }`,
        '  - { id: other, driver: ble, adapter: hci1, mac: "A4:C1:38:00:00:02" }',
        '  - { id: sim, driver: ble, transport: simulated }',
      ].join('\n'),
      {},
    );
    const { devices } = withDiscovered(config, []).config;
    expect(devices.map((device) => [device.id, device.bus])).toEqual([
      ['ble_hci0', 'ble:hci0'],
      ['ble_hci1', 'ble:hci1'],
      ['thermo', 'ble:hci0'],
      ['other', 'ble:hci1'],
      ['sim', 'ble:simulated'],
    ]);
    expect(devices[0]).toMatchObject({
      role: 'adapter',
      bus_address: 'unix:path=/tmp/bus',
      watchdog: { interval_ms: 500, stuck_after_ms: 120_000, verify_after_ms: 15_000 },
      timeouts: { connect: 35_000 },
      health: { failure_threshold: 1 },
    });
  });

  it('leaves out a found sensor whose MAC is configured by hand, quietly', () => {
    const config = parseConfig(
      `ble: [{ adapter: hci0 }]\ndevices:\n  - { id: mine, driver: ble, mac: "${MAC}" }\n`,
      {},
    );
    const found: DiscoveredDevice = {
      id: 'ble_a4c138000001',
      config: { id: 'ble_a4c138000001', driver: 'ble', adapter: 'hci0', mac: MAC },
      foundAt: 0,
    };
    const { config: effective, skipped } = withDiscovered(config, [found]);
    expect(effective.devices.map((device) => device.id)).toEqual(['ble_hci0', 'mine']);
    expect(skipped).toEqual([]);
  });
});

describe('auto_add', () => {
  function collector(yaml: string) {
    let config = withDiscovered(parseConfig(yaml, {}), []).config;
    const batches: DiscoveredDevice[][] = [];
    const lines: string[] = [];
    const c = new BleSensorCollector({
      config: () => config,
      addDevices: (devices) => {
        batches.push(devices);
        config = withDiscovered(parseConfig(yaml, {}), batches.flat()).config;
        return devices.map((device) => device.id);
      },
      log: (line) => lines.push(line),
      debounceMs: 20,
    });
    return { c, batches, lines };
  }

  it('collects the sensors heard within the debounce and adds them in one go, named by what they advertised', async () => {
    const { c, batches, lines } = collector('ble: [{ adapter: hci0, offline_after_ms: 120000 }]\n');
    c.handle(heard());
    c.handle(heard({ mac: 'D5:4A:7B:6C:00:01', name: undefined, format: 'ruuvi' }));
    c.handle(heard());
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(batches).toHaveLength(1);
    expect(batches[0]?.map((device) => device.config)).toEqual([
      {
        id: 'ble_a4c138000001',
        name: 'BTHome 1',
        driver: 'ble',
        transport: 'bluez',
        adapter: 'hci0',
        mac: MAC,
        offline_after_ms: 120_000,
      },
      {
        id: 'ble_d54a7b6c0001',
        name: 'RuuviTag D5:4A:7B:6C:00:01',
        driver: 'ble',
        transport: 'bluez',
        adapter: 'hci0',
        mac: 'D5:4A:7B:6C:00:01',
        offline_after_ms: 120_000,
      },
    ]);
    expect(lines[0]).toMatch(/^added 2 BLE sensors heard by auto_add: ble_a4c138000001 \(BTHome 1\)/);
    // Known now: heard again, nothing more is added.
    c.handle(heard());
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(batches).toHaveLength(1);
    // Every entry is a valid device.
    expect(() =>
      parseConfig(`devices: ${JSON.stringify(batches[0]?.map((d) => d.config))}`, {}),
    ).not.toThrow();
  });

  it('leaves out sensors fainter than auto_add_min_rssi and removed ones, offering each once; an allow-list takes any strength', () => {
    const offered: Record<string, unknown>[] = [];
    let config = withDiscovered(parseConfig('ble: [{ adapter: hci0 }]\n', {}), []).config;
    const c = new BleSensorCollector({
      config: () => config,
      addDevices: (devices) => devices.map((device) => device.id),
      forgotten: () => new Set(['A4:C1:38:00:00:03']),
      offer: (sensor) => offered.push({ ...sensor }),
      log: () => undefined,
      debounceMs: 1_000_000,
    });
    c.handle(heard({ rssi: -82 }));
    c.handle(heard({ rssi: -84 }));
    c.handle(heard({ mac: 'A4:C1:38:00:00:02', rssi: -75 }));
    c.handle(heard({ mac: 'A4:C1:38:00:00:03', rssi: -40 }));
    c.handle(heard({ mac: 'A4:C1:38:00:00:04', rssi: undefined }));
    expect(c.flush()).toEqual(['ble_a4c138000002']);
    expect(offered).toEqual([
      {
        adapter: 'hci0',
        mac: MAC,
        name: 'BTHome 1',
        format: 'bthome',
        encrypted: false,
        rssi: -82,
        reason:
          "heard at -82 dBm, fainter than auto_add_min_rssi (-75 dBm), maybe a neighbour's: add its MAC to " +
          'allow: of the ble: line, or the sensor under devices:, to have it',
      },
      expect.objectContaining({
        mac: 'A4:C1:38:00:00:03',
        reason:
          'it was removed on request (a scan of its adapter, or an entry under devices:, adds it again)',
      }),
      expect.objectContaining({ mac: 'A4:C1:38:00:00:04', rssi: null }),
    ]);
    // Heard stronger later (the runtime reports it again): taken.
    c.handle(heard({ rssi: -60 }));
    expect(c.flush()).toEqual(['ble_a4c138000001']);
    // An allow-list names the sensors wanted, however faint.
    config = withDiscovered(parseConfig(`ble: [{ adapter: hci0, allow: ["${MAC}"] }]\n`, {}), []).config;
    c.handle(heard({ rssi: -95 }));
    expect(c.flush()).toEqual(['ble_a4c138000001']);
  });

  it('takes only the line formats and allow-list, and nothing when auto_add is off', async () => {
    const picky = collector(`ble: [{ adapter: hci0, formats: [ruuvi], allow: ["D5:4A:7B:6C:00:01"] }]\n`);
    picky.c.handle(heard());
    picky.c.handle(heard({ mac: 'D5:4A:7B:6C:00:02', format: 'ruuvi' }));
    picky.c.handle(heard({ mac: 'D5:4A:7B:6C:00:01', format: 'ruuvi' }));
    picky.c.handle(heard({ mac: 'A4:C1:38:B0:00:01', format: 'pvvx', busId: 'ble:hci1' }));
    expect(picky.c.flush()).toEqual(['ble_d54a7b6c0001']);
    const off = collector('ble: [{ adapter: hci0, auto_add: false }]\n');
    off.c.handle(heard());
    expect(off.c.flush()).toEqual([]);
  });
});

describe('BLE scan', () => {
  it('listens on the running adapter and adds the sensors heard in that time', async () => {
    const config = withDiscovered(
      parseConfig(`ble: [{ adapter: hci0, auto_add: false, formats: [bthome] }]\n`, {}),
      [],
    ).config;
    const registry = new BusRegistry();
    const runtime = new BleBusRuntime('ble:hci0', {
      adapter: 'hci0',
      sensors: [],
      watchdog: { intervalMs: 1_000, stuckAfterMs: 1_000, verifyAfterMs: 1_000 },
      clock: systemClock,
    });
    // What the adapter heard during the scan (the D-Bus side is tested in ble-runtime.test.ts).
    Object.assign(runtime, {
      heard: () => [
        heard(),
        heard({ mac: 'D5:4A:7B:6C:00:01', format: 'ruuvi' }),
        heard({ lastHeardAt: 0, mac: 'A4:C1:38:00:00:09' }),
      ],
    });
    registry.define('ble:hci0', () => runtime);
    await registry.openBus('ble:hci0');
    const context = {
      config,
      registry,
      openContext: registry.context,
      log: () => undefined,
      warn: () => undefined,
    };
    const scan = bleLineScan(context, { driver: 'ble', duration_s: 1 });
    if ('error' in scan) throw new Error(scan.error);
    expect(scan.describe).toBe('listening for 1 s');
    const result = await scan.run(AbortSignal.timeout(5_000), new Set());
    expect(result.found).toEqual([
      { mac: MAC, id: 'ble_a4c138000001', name: 'BTHome 1', format: 'bthome', encrypted: false, rssi: -60 },
    ]);
    expect(result.devices.map((device) => device.id)).toEqual(['ble_a4c138000001']);

    // A faint one is listed with why it was not added; the request's min_rssi takes it.
    Object.assign(runtime, { heard: () => [heard({ mac: 'A4:C1:38:00:00:07', rssi: -90 })] });
    const faint = await scan.run(AbortSignal.timeout(5_000), new Set());
    expect(faint.devices).toEqual([]);
    expect(faint.found).toEqual([
      expect.objectContaining({
        mac: 'A4:C1:38:00:00:07',
        id: null,
        rssi: -90,
        not_added: expect.stringMatching(/^heard at -90 dBm, fainter than auto_add_min_rssi \(-75 dBm\)/),
      }),
    ]);
    const closer = bleLineScan(context, { driver: 'ble', duration_s: 1, min_rssi: -95 });
    if ('error' in closer) throw new Error(closer.error);
    const taken = await closer.run(AbortSignal.timeout(5_000), new Set());
    expect(taken.devices.map((device) => device.id)).toEqual(['ble_a4c138000007']);
    await registry.closeAll();
    expect(bleLineScan(context, { driver: 'ble', adapter: 'hci7' })).toEqual({
      error: 'adapter hci7 is not a BLE line of this gateway (known: hci0; add it under ble: in the config)',
    });
  });
});

describe('BLE entities', () => {
  const sensor = parseConfig(
    `devices:\n  - { id: t, driver: ble, mac: "${MAC}", offline_after_ms: 300000 }\n`,
    {},
  ).devices[0] as DeviceConfig;
  const adapter = withDiscovered(parseConfig('ble: [{ adapter: hci0 }]\n', {}), []).config
    .devices[0] as DeviceConfig;

  it('makes one entity per value the sensor reported, RSSI diagnostic, and expires after offline_after_ms', () => {
    const entities = entitiesOf(sensor, {
      temperature: 21.5,
      humidity: 40,
      door: true,
      mass: 3.5,
      units: { mass: 'lb' },
      rssi: -70,
      format: 'bthome',
      events: [],
      last_seen: 'x',
    });
    expect(entities.map((e) => [e.component, e.objectId, e.deviceClass, e.unit, e.entityCategory])).toEqual([
      ['sensor', 'temperature', 'temperature', '°C', undefined],
      ['sensor', 'humidity', 'humidity', '%', undefined],
      ['binary_sensor', 'door', 'door', undefined, undefined],
      ['sensor', 'mass', 'weight', 'lb', undefined],
      ['sensor', 'rssi', 'signal_strength', 'dBm', 'diagnostic'],
    ]);
    expect(entities.find((e) => e.objectId === 'rssi')?.name).toBe('RSSI');
    expect(DRIVERS.ble.expireAfterS?.(sensor)).toBe(300);
    expect(DRIVERS.ble.describe?.({ format: 'ruuvi' })).toEqual({ manufacturer: 'Ruuvi', model: 'RuuviTag' });
  });

  it('gives the adapter a connectivity binary sensor and its last advertisement', () => {
    expect(entitiesOf(adapter, undefined).map((e) => [e.component, e.key, e.deviceClass])).toEqual([
      ['binary_sensor', 'discovering', 'connectivity'],
      ['sensor', 'last_advertisement', 'timestamp'],
    ]);
    expect(DRIVERS.ble.expireAfterS?.(adapter)).toBeUndefined();
    expect(DRIVERS.ble.describe?.({ adapter: 'hci0' })).toEqual({
      manufacturer: 'BlueZ',
      model: 'Bluetooth adapter',
    });
  });
});
