import { afterEach, describe, expect, it } from 'vitest';
import type { BusEvent, JsonValue } from '../src/drivers/contract.js';
import { DbusCallStats } from '../src/drivers/shared/bluez/dbus/stats.js';
import { BleBusRuntime, type BleBusOptions } from '../src/drivers/ble/runtime.js';
import { type HeardSensor, SensorDecoder } from '../src/drivers/ble/sensors.js';
import { findDbusDaemon } from '../src/drivers/shared/bluez/simulator/daemon.js';
import {
  defaultSensors,
  EXAMPLE_BIND_KEY,
  sensorSpec,
  SimSensor,
} from '../src/drivers/shared/bluez/simulator/sensors.js';
import { BluezSimulator } from '../src/drivers/shared/bluez/simulator/simulator.js';
import { systemClock } from '../src/machines/clock.js';
import { eventually } from './helpers/eventually.js';
import { advance, simulatedClock } from './helpers/time.js';

// The BLE bus runtime against the fake BlueZ on a private dbus-daemon: sensors' readings as link data,
// repeats dropped, encrypted BTHome with its key, unknown sensors reported, the watchdog asking for
// recovery steps, and bluetoothd restarts, power-offs and adapter removal handled without a new runtime.

const DBUS_DAEMON = findDbusDaemon();
if (DBUS_DAEMON === undefined) {
  console.warn('ble-runtime.test.ts: dbus-daemon is not installed (apt-get install dbus-daemon); skipped');
}

const ADAPTER_ID = 'ble_hci0';

interface Rig {
  simulator: BluezSimulator;
  runtime: BleBusRuntime;
  events: BusEvent[];
  heard: HeardSensor[];
  warnings: string[];
  stats: DbusCallStats;
}

const rigs: Rig[] = [];

async function rig(
  options: Partial<BleBusOptions> & { simulator?: ConstructorParameters<typeof BluezSimulator>[0] } = {},
): Promise<Rig> {
  const simulator = new BluezSimulator({ intervalMs: 50, restartDelayMs: 300, ...options.simulator });
  await simulator.start();
  const events: BusEvent[] = [];
  const heard: HeardSensor[] = [];
  const warnings: string[] = [];
  const stats = new DbusCallStats();
  const runtime = new BleBusRuntime('ble:hci0', {
    adapter: 'hci0',
    adapterDeviceId: ADAPTER_ID,
    sensors: [],
    busAddress: async () => simulator.address,
    watchdog: { intervalMs: 60_000, stuckAfterMs: 120_000, verifyAfterMs: 15_000 },
    clock: systemClock,
    stats,
    onHeard: (sensor) => heard.push(sensor),
    log: { info: () => undefined, warn: (m) => warnings.push(m), debug: () => undefined },
    ...options,
  });
  runtime.watchBus((event) => events.push(event));
  const made = { simulator, runtime, events, heard, warnings, stats };
  rigs.push(made);
  return made;
}

afterEach(async () => {
  for (const { runtime, simulator } of rigs.splice(0)) {
    await runtime.close();
    await simulator.stop();
  }
});

const signal = () => AbortSignal.timeout(20_000);

const until = (what: string, check: () => boolean, timeoutMs = 5_000) =>
  eventually(check, { what, timeoutMs });

function dataOf(events: BusEvent[], deviceId: string): Record<string, JsonValue>[] {
  return events.flatMap((event) =>
    event.type === 'device' && event.deviceId === deviceId && event.event.type === 'data'
      ? [event.event.result as Record<string, JsonValue>]
      : [],
  );
}

describe.skipIf(DBUS_DAEMON === undefined)('BLE bus runtime on the fake BlueZ', () => {
  it('brings the adapter up, turns advertisements into readings (deduped), reports unknown sensors once', async () => {
    const specs = defaultSensors(3, 2);
    const [plain, ruuvi, secure] = specs;
    const r = await rig({
      simulator: { sensors: specs, intervalMs: 0, seed: 2 },
      sensors: [
        { deviceId: 'plain', mac: plain!.mac, offlineAfterMs: 0 },
        { deviceId: 'secure', mac: secure!.mac, bindKey: secure!.bindKey, offlineAfterMs: 0 },
      ],
    });
    await r.runtime.connect(ADAPTER_ID, signal());
    expect(r.simulator.adapterStatus()).toMatchObject({
      powered: true,
      discovering: true,
      filter: { Transport: 'le', DuplicateData: true },
    });
    await r.runtime.connect('plain', signal());
    await r.runtime.connect('secure', signal());
    r.simulator.advertiseNow();
    await until(
      'two readings',
      () => dataOf(r.events, 'plain').length === 1 && dataOf(r.events, 'secure').length === 1,
    );
    const reading = dataOf(r.events, 'plain')[0]!;
    const sent = r.simulator.sensors[0]!.last!;
    expect(reading).toMatchObject({ format: 'bthome', rssi: sent.rssi, battery: sent.values.battery });
    expect(reading.temperature).toBeCloseTo(sent.values.temperature, 6);
    expect(dataOf(r.events, 'secure')[0]?.temperature).toBeCloseTo(
      r.simulator.sensors[2]!.last!.values.temperature,
      6,
    );
    // The Ruuvi tag is nobody's device: reported once, however often it is heard.
    await until('the unknown Ruuvi reported', () => r.heard.length === 1);
    expect(r.heard[0]).toMatchObject({
      mac: ruuvi!.mac,
      format: 'ruuvi',
      encrypted: false,
      deviceId: undefined,
    });
    r.simulator.advertiseNow();
    await until('second readings', () => dataOf(r.events, 'plain').length === 2);
    expect(r.heard).toHaveLength(1);
    expect(
      r.runtime
        .heard()
        .map((h) => h.mac)
        .sort(),
    ).toEqual(specs.map((s) => s.mac).sort());
    expect(r.stats.snapshot()['Adapter1.StartDiscovery']).toMatchObject({ calls: 1, errors: 0, timeouts: 0 });
  });

  it('says once that an encrypted sensor needs its key, and counts its unreadable advertisements as failures', async () => {
    const secure = sensorSpec('bthome', 1, { encrypted: true });
    const r = await rig({
      simulator: { sensors: [secure], intervalMs: 0 },
      sensors: [{ deviceId: 'secure', mac: secure.mac, offlineAfterMs: 0 }],
    });
    expect(secure.bindKey).toBe(EXAMPLE_BIND_KEY);
    await r.runtime.connect(ADAPTER_ID, signal());
    await r.runtime.connect('secure', signal());
    for (let i = 0; i < 3; i++) r.simulator.advertiseNow();
    await until(
      'failures',
      () => r.events.filter((e) => e.type === 'device' && e.event.type === 'failure').length === 3,
    );
    expect(r.warnings.filter((w) => w.includes('add its bind_key'))).toHaveLength(1);
    expect(dataOf(r.events, 'secure')).toEqual([]);
  });

  it('watchdog: a stuck scan asks for recovery steps; a step is verified before the next is asked for', async () => {
    const r = await rig({ watchdog: { intervalMs: 100, stuckAfterMs: 400, verifyAfterMs: 300 } });
    await r.runtime.connect(ADAPTER_ID, signal());
    await until('an advertisement', () => r.runtime.lastAdvertisementAt !== null);
    r.simulator.setStuck(true);
    await until('a recover request', () => r.events.some((e) => e.type === 'recover'), 3_000);
    const recover = r.events.find((e) => e.type === 'recover');
    expect(recover).toMatchObject({
      deviceId: ADAPTER_ID,
      reason: expect.stringMatching(/without a single advertisement \(stuck\)/),
    });
    // The supervisor runs stop_discovery: the fake stays stuck, so the next step is asked for after verifying.
    await r.runtime.runRecoveryStep('stop_discovery', ADAPTER_ID, signal());
    const asked = r.events.filter((e) => e.type === 'recover').length;
    await until('the next request', () => r.events.filter((e) => e.type === 'recover').length > asked, 3_000);
    expect(r.events.filter((e) => e.type === 'recover').at(-1)).toMatchObject({
      reason: expect.stringMatching(/still no advertisement .* after the recovery step/),
    });
    // power_cycle_adapter clears the stuck scan: healthy again, no more requests.
    const sets = r.simulator.callCount('Set(Powered)');
    await r.runtime.runRecoveryStep('power_cycle_adapter', ADAPTER_ID, signal());
    expect(r.simulator.callCount('Set(Powered)')).toBe(sets + 2);
    expect(r.simulator.adapterStatus()).toMatchObject({ powered: true, discovering: true });
    const settled = r.events.filter((e) => e.type === 'recover').length;
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(r.events.filter((e) => e.type === 'recover').length).toBe(settled);
    expect(dataOf(r.events, ADAPTER_ID).at(-1)).toMatchObject({
      adapter: 'hci0',
      powered: true,
      discovering: true,
    });
  });

  it('bluetoothd restart: bus lost, then brought up again at once and present; the adapter removed and added likewise', async () => {
    const spec = sensorSpec('bthome', 1);
    const r = await rig({
      sensors: [{ deviceId: 't', mac: spec.mac, offlineAfterMs: 0 }],
      simulator: { sensors: [spec] },
    });
    await r.runtime.connect(ADAPTER_ID, signal());
    await r.runtime.connect('t', signal());
    await r.simulator.restart(300);
    await until('lost', () => r.events.some((e) => e.type === 'lost'));
    expect(r.events.find((e) => e.type === 'lost')).toMatchObject({
      error: expect.stringMatching(/bluetoothd left the bus/),
    });
    // The supervisor releases the adapter device's link; the connection stays to watch for the return.
    await r.runtime.disconnect(ADAPTER_ID);
    await until('present', () => r.events.some((e) => e.type === 'present'), 5_000);
    expect(r.runtime.up).toBe(true);
    expect(r.simulator.adapterStatus().discovering).toBe(true);
    await r.runtime.connect(ADAPTER_ID, signal());
    await r.runtime.connect('t', signal());
    const before = dataOf(r.events, 't').length;
    await until('readings again', () => dataOf(r.events, 't').length > before);

    r.events.length = 0;
    r.simulator.removeAdapter();
    await until('lost', () => r.events.some((e) => e.type === 'lost'));
    expect(r.events.find((e) => e.type === 'lost')).toMatchObject({ error: 'adapter hci0 was removed' });
    await r.runtime.disconnect(ADAPTER_ID);
    // A connect while it is gone fails and names the problem.
    await expect(r.runtime.connect(ADAPTER_ID, signal())).rejects.toThrow(/adapter hci0 is not there/);
    r.simulator.addAdapter();
    await until('present', () => r.events.some((e) => e.type === 'present'), 5_000);
    expect(r.simulator.adapterStatus()).toMatchObject({ powered: true, discovering: true });
  });

  it('a powered-off adapter is seen by the watchdog and stop_discovery powers it on again', async () => {
    const r = await rig({ watchdog: { intervalMs: 100, stuckAfterMs: 5_000, verifyAfterMs: 200 } });
    await r.runtime.connect(ADAPTER_ID, signal());
    r.simulator.powerOff();
    await until('a recover request', () => r.events.some((e) => e.type === 'recover'));
    expect(r.events.find((e) => e.type === 'recover')).toMatchObject({
      reason: 'BLE watchdog: the adapter is powered off',
    });
    expect(r.events.some((e) => e.type === 'device' && e.event.type === 'failure')).toBe(true);
    await r.runtime.runRecoveryStep('stop_discovery', ADAPTER_ID, signal());
    expect(r.simulator.adapterStatus()).toMatchObject({ powered: true, discovering: true });
  });

  it('a hung D-Bus call makes the check fail within its bound, and the watchdog asks for recovery', async () => {
    const r = await rig({
      watchdog: { intervalMs: 100, stuckAfterMs: 5_000, verifyAfterMs: 200 },
      timeouts: { methodMs: 300 },
    });
    await r.runtime.connect(ADAPTER_ID, signal());
    r.simulator.hang('Properties.Get');
    const hungAt = Date.now();
    await until('a recover request', () => r.events.some((e) => e.type === 'recover'));
    expect(Date.now() - hungAt).toBeLessThan(1_000);
    expect(r.events.find((e) => e.type === 'recover')).toMatchObject({
      reason: expect.stringMatching(/D-Bus did not answer: Properties\.Get\(Powered\) .* within 300 ms/),
    });
    expect(r.stats.snapshot()['Properties.Get(Powered)']?.timeouts).toBeGreaterThanOrEqual(1);
  });

  it('a hung StartDiscovery is retried within the bring-up bound, then the connect fails naming the bound', async () => {
    const r = await rig({ timeouts: { methodMs: 200, startDiscoveryMs: 300, bringUpMs: 1_000 } });
    r.simulator.hang('StartDiscovery');
    const started = Date.now();
    await expect(r.runtime.connect(ADAPTER_ID, signal())).rejects.toThrow(
      /bringing the adapter up did not finish within 1000 ms/,
    );
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(r.simulator.callCount('StartDiscovery')).toBeGreaterThanOrEqual(2);
    r.simulator.unhang();
    await r.runtime.connect(ADAPTER_ID, signal());
    expect(r.runtime.up).toBe(true);
  });

  it('times the silence of a sensor on the clock it is given (simulated time)', async () => {
    const spec = sensorSpec('pvvx', 1);
    const clock = simulatedClock();
    const r = await rig({
      sensors: [{ deviceId: 't', mac: spec.mac, offlineAfterMs: 60_000 }],
      simulator: { sensors: [spec], intervalMs: 0 },
      silenceCheckMs: 1_000,
      clock,
    });
    await r.runtime.connect(ADAPTER_ID, signal());
    await r.runtime.connect('t', signal());
    const lost = () => r.events.some((e) => e.type === 'device' && e.event.type === 'lost');
    await advance(clock, 60_000, 1_000);
    expect(lost()).toBe(false);
    await advance(clock, 1_000, 1_000);
    expect(lost()).toBe(true);
    expect(r.events.find((e) => e.type === 'device' && e.event.type === 'lost')).toMatchObject({
      event: { error: 'not heard for 61 s (offline after 60000 ms)' },
    });
  });

  it('a sensor not heard for offline_after_ms is lost, and its next connect waits until it is heard', async () => {
    const spec = sensorSpec('pvvx', 1);
    const r = await rig({
      sensors: [{ deviceId: 't', mac: spec.mac, offlineAfterMs: 300 }],
      simulator: { sensors: [spec], intervalMs: 0 },
      silenceCheckMs: 50,
    });
    await r.runtime.connect(ADAPTER_ID, signal());
    await r.runtime.connect('t', signal());
    await until('lost', () => r.events.some((e) => e.type === 'device' && e.event.type === 'lost'));
    const lost = r.events.find((e) => e.type === 'device' && e.event.type === 'lost');
    expect(lost).toMatchObject({
      deviceId: 't',
      event: { error: expect.stringMatching(/not heard for \d+ s/) },
    });
    let connected = false;
    const connecting = r.runtime.connect('t', signal()).then(() => (connected = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(connected).toBe(false);
    r.simulator.advertiseNow();
    await connecting;
    expect(connected).toBe(true);
  });

  it('sensors have no recovery steps of their own, and a sensor without a MAC says what to add', async () => {
    const r = await rig({ sensors: [{ deviceId: 'nomac', mac: '', offlineAfterMs: 0 }] });
    await expect(r.runtime.runRecoveryStep('power_cycle_adapter', 'nomac', signal())).rejects.toThrow(
      /nomac is a BLE sensor: it has no recovery step of its own/,
    );
    await expect(r.runtime.connect('nomac', signal())).rejects.toThrow(/nomac has no mac: add mac:/);
    await expect(r.runtime.runRecoveryStep('reopen', ADAPTER_ID, signal())).rejects.toThrow(
      /no recovery step "reopen"/,
    );
  });
});

describe('BLE sensor decoder', () => {
  it('reports a sensor nobody configured when first heard, and again only when heard stronger', () => {
    const spec = sensorSpec('bthome', 1);
    const sensor = new SimSensor(spec);
    const decoder = new SensorDecoder({ busId: 'ble:hci0', adapter: 'hci0' }, [], () => undefined);
    const reported: (number | undefined)[] = [];
    const hear = (rssi: number, at: number) =>
      decoder.decode(
        spec.mac,
        { address: spec.mac, rssi, serviceData: sensor.next().serviceData },
        at,
        (heard) => reported.push(heard.rssi),
      );
    hear(-85, 1_000);
    hear(-88, 1_100);
    hear(-70, 1_200);
    hear(-70, 1_300);
    hear(-72, 1_400);
    // First heard faint (a neighbour's? auto_add leaves it), then near enough: auto_add hears it again.
    expect(reported).toEqual([-85, -70]);
  });

  it('drops a repeated advertisement (same packet id) and publishes the next', () => {
    const spec = sensorSpec('bthome', 1);
    const sensor = new SimSensor(spec);
    const decoder = new SensorDecoder(
      { busId: 'ble:hci0', adapter: 'hci0' },
      [{ deviceId: 't', mac: spec.mac, offlineAfterMs: 0 }],
      () => undefined,
    );
    const advertisement = sensor.next();
    const props = { address: spec.mac, rssi: -60, serviceData: advertisement.serviceData };
    expect(decoder.decode(spec.mac, props, 1_000, () => undefined)).toMatchObject({
      kind: 'reading',
      deviceId: 't',
    });
    expect(decoder.decode(spec.mac, props, 1_100, () => undefined)).toEqual({ kind: 'none' });
    const next = { ...props, serviceData: sensor.next().serviceData };
    expect(decoder.decode(spec.mac, next, 1_200, () => undefined)).toMatchObject({
      kind: 'reading',
      result: { format: 'bthome', rssi: -60 },
    });
  });
});
