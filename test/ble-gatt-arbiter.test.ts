import { afterEach, describe, expect, it } from 'vitest';
import { BluezClient } from '../src/drivers/ble/dbus/client.js';
import { macOfPath } from '../src/drivers/ble/dbus/values.js';
import { GattAdapter } from '../src/drivers/ble/gatt/adapter.js';
import { AdapterSession } from '../src/drivers/ble/session.js';
import { diagnose } from '../src/drivers/ble/watchdogMachine.js';
import { findDbusDaemon } from '../src/drivers/ble/simulator/daemon.js';
import { EchoPeripheral, ECHO_LAYOUT } from '../src/drivers/ble/simulator/gattPeripheral.js';
import { defaultSensors } from '../src/drivers/ble/simulator/sensors.js';
import { BluezSimulator } from '../src/drivers/ble/simulator/simulator.js';
import { eventually } from './helpers/eventually.js';
import { bytes, collect, echoMac, joined, rejectionOf, SHORT_TIMEOUTS } from './helpers/gattRig.js';

// Connects arbitrated with the BLE line's discovery on one adapter and one D-Bus connection: the fake
// aborts an LE connect made while the adapter scans (as the field reports' controllers do), so connects
// only work because the GATT layer pauses our discovery around each; connects to several devices are
// serialised (never InProgress); and the BTHome/Ruuvi sensors keep being reported between connects.

const DBUS_DAEMON = findDbusDaemon();
if (DBUS_DAEMON === undefined)
  console.warn('ble-gatt-arbiter.test.ts: dbus-daemon is not installed; skipped');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const { write: WRITE, notify: NOTIFY } = ECHO_LAYOUT;

async function scanningLine(devices: number) {
  const simulator = new BluezSimulator({ sensors: defaultSensors(2, 5), intervalMs: 20 });
  await simulator.start();
  cleanups.push(() => simulator.stop());
  const sensorMacs = new Set(simulator.sensors.map((sensor) => sensor.spec.mac));
  const reports = { count: 0 };
  const session = await AdapterSession.open(
    'hci0',
    { busAddress: simulator.address, timeouts: SHORT_TIMEOUTS },
    {
      device: (path, _merged, changed) => {
        const mac = macOfPath(path);
        if (mac !== undefined && sensorMacs.has(mac) && changed.serviceData !== undefined) reports.count += 1;
        if (mac !== undefined && sensorMacs.has(mac) && changed.manufacturerData !== undefined)
          reports.count += 1;
      },
      adapterPresence: () => undefined,
      owner: () => undefined,
      closed: () => undefined,
    },
  );
  cleanups.push(() => session.close());
  await session.bringUp(undefined);
  const paths: string[] = [];
  for (let index = 1; index <= devices; index += 1) {
    simulator.addGattDevice({
      mac: echoMac(index),
      name: `ECHO-${index}`,
      peripheral: new EchoPeripheral(),
      connectDelayMs: 15,
      resolveDelayMs: 15,
    });
    paths.push(`${session.path}/dev_${echoMac(index).replace(/:/g, '_')}`);
  }
  const adapter = new GattAdapter({ client: session.client, adapterPath: session.path, scan: session });
  cleanups.push(() => adapter.close());
  return { simulator, session, adapter, paths, reports };
}

describe.skipIf(DBUS_DAEMON === undefined)('connects arbitrated with discovery on one adapter', () => {
  it('without the pause, a connect while scanning is aborted (the fault the arbiter exists for)', async () => {
    const { simulator, paths } = await scanningLine(1);
    const client = await BluezClient.connect({ busAddress: simulator.address, timeouts: SHORT_TIMEOUTS });
    cleanups.push(() => client.close());
    const unarbitrated = new GattAdapter({ client, adapterPath: '/org/bluez/hci0' });
    cleanups.push(() => unarbitrated.close());
    expect(simulator.adapterStatus().discovering).toBe(true);
    expect((await rejectionOf(unarbitrated.connect(paths[0] ?? '', { timeoutMs: 2_000 }))).kind).toBe(
      'connect_aborted',
    );
  });

  it('polls a device ten times while the sensors keep being reported between the connects', async () => {
    const { simulator, session, adapter, paths, reports } = await scanningLine(1);
    const path = paths[0] ?? '';
    await eventually(() => reports.count >= 4, { what: 'sensors reported before any connect' });
    const before = reports.count;
    const between: number[] = [];
    for (let cycle = 0; cycle < 10; cycle += 1) {
      const link = await adapter.connect(path, { timeoutMs: 2_000, require: [WRITE, NOTIFY] });
      const seen = collect(link);
      await link.startNotify(NOTIFY);
      await link.write(WRITE, bytes(24, cycle), { withoutResponse: true });
      await eventually(() => joined(seen).length === 24, { what: `the echo of poll ${cycle}` });
      await link.disconnect();
      expect(session.discoveryPausedSince).toBeNull();
      // Discovery is back after every connect: the sensors are heard again before the next one.
      const mark = reports.count;
      await eventually(() => reports.count >= mark + 2, { what: `sensors reported after poll ${cycle}` });
      between.push(reports.count - mark);
    }
    expect(between.every((count) => count >= 2)).toBe(true);
    expect(reports.count - before).toBeGreaterThanOrEqual(20);
    const status = simulator.adapterStatus();
    expect(status.discovering).toBe(true);
    expect(status.scanningClients).toHaveLength(1);
    expect(simulator.gattDevices[0]?.connectCalls).toBe(10);
  });

  it('discovery started again before the services are resolved kills the link (so the pause lasts until then)', async () => {
    const { simulator, adapter, paths } = await scanningLine(1);
    const device = simulator.gattDevices[0]!;
    device.spec.resolveDelayMs = 300;
    const connecting = rejectionOf(adapter.connect(paths[0] ?? '', { timeoutMs: 2_000 }));
    await eventually(() => device.connected, { what: 'the link up' });
    // Another client scans while the services are still being resolved (as a scan resumed too early).
    const other = await BluezClient.connect({ busAddress: simulator.address, timeouts: SHORT_TIMEOUTS });
    cleanups.push(() => other.close());
    await other.startDiscovery('/org/bluez/hci0');
    const failure = await connecting;
    expect(failure.kind).toBe('disconnected');
    expect(device.connected).toBe(false);
  });

  it('serialises connects to several devices: never InProgress, discovery stopped and restarted around each', async () => {
    const { simulator, adapter, paths } = await scanningLine(3);
    simulator.resetCalls();
    const links = await Promise.all(paths.map((path) => adapter.connect(path, { timeoutMs: 3_000 })));
    expect(links.every((link) => !link.closed)).toBe(true);
    const order = simulator.calls
      .map((call) => call.key)
      .filter((key) =>
        ['Adapter1.StopDiscovery', 'Device1.Connect', 'Adapter1.StartDiscovery'].includes(key),
      );
    expect(order).toEqual(
      Array.from({ length: 3 }, () => [
        'Adapter1.StopDiscovery',
        'Device1.Connect',
        'Adapter1.StartDiscovery',
      ]).flat(),
    );
    // Connected devices stay up while scanning runs beside them: both work at once.
    expect(simulator.adapterStatus().discovering).toBe(true);
    const seen = collect(links[2]!);
    await links[2]!.startNotify(NOTIFY);
    await links[2]!.write(WRITE, bytes(5), { withoutResponse: true });
    await eventually(() => seen.length === 1, { what: 'an echo while scanning' });
  });

  it('exclusive work waits for the connect ahead of it and runs alone', async () => {
    const { adapter, paths } = await scanningLine(1);
    const path = paths[0] ?? '';
    const connecting = adapter.connect(path, { timeoutMs: 2_000 });
    const sawLink = await adapter.exclusive('power cycle', undefined, () =>
      Promise.resolve(adapter.link(path) !== undefined),
    );
    expect(sawLink).toBe(true);
    expect((await connecting).closed).toBe(false);
  });

  it('the watchdog takes a short pause for a connect as healthy, and a pause never resumed as a fault', () => {
    const check = {
      present: true,
      powered: true,
      discovering: false,
      discoveringSince: null,
      lastAdvertisementAt: 9_000,
      expectsAdvertisements: true,
    };
    expect(diagnose(check, 10_000, 5_000, null)).toMatch(/discovery is off/);
    expect(diagnose({ ...check, discoveryPausedSince: 9_500 }, 10_000, 5_000, null)).toBeNull();
    expect(diagnose({ ...check, discoveryPausedSince: 4_000 }, 10_000, 5_000, null)).toBe(
      'discovery was paused for a connect 6 s ago and never resumed',
    );
  });

  it('the adapter session reports the pause while a connect holds it', async () => {
    const { session, simulator, adapter, paths } = await scanningLine(1);
    simulator.gattDevices[0]!.faults.hangConnects = true;
    const connecting = rejectionOf(adapter.connect(paths[0] ?? '', { timeoutMs: 400 }));
    await eventually(() => session.discoveryPausedSince !== null, { what: 'the pause' });
    const during = await session.observe(undefined);
    expect(during.discovering).toBe(false);
    expect(during.discoveryPausedSince).not.toBeNull();
    expect((await connecting).kind).toBe('connect_timeout');
    expect(session.discoveryPausedSince).toBeNull();
    expect((await session.observe(undefined)).discovering).toBe(true);
  });
});
