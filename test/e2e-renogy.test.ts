import { expect, it } from 'vitest';
import type { FakeGattDevice } from '../src/drivers/shared/bluez/simulator/gattDevice.js';
import { defaultSensors } from '../src/drivers/shared/bluez/simulator/sensors.js';
import { BluezSimulator } from '../src/drivers/shared/bluez/simulator/simulator.js';
import {
  bt1Controller,
  peripheralOf,
  proBattery,
  SHUNT_VALUES,
  shuntOf,
  smartShunt,
} from '../src/drivers/renogy/simulator/devices.js';
import { BluezGatewayRig, describeWithBluez } from './helpers/bluezGatewayRig.js';
import { gapsIn, readingSeqs, type Subscriber } from './helpers/gatewayRig.js';

// Renogy end to end: the gateway in this process, the fake BlueZ on a private dbus-daemon with a BT-1 +
// charge controller, a Pro battery and BTHome/Ruuvi sensors on the same adapter, and mosquitto. Both
// Renogy devices are read every poll with the right values while the sensors keep publishing; the load
// is switched from Home Assistant's command topic and its state comes from the device; faults of the
// connected devices heal without a process restart, with the step that healed them named; readings
// survive a broker restart.

const CONTROLLER = 'C4:D3:6A:00:20:01';
const BATTERY = 'C4:D3:6A:00:20:02';
/** A neighbour's controller: heard, offered, never connected to. */
const NEIGHBOUR = 'C4:D3:6A:00:20:09';
const SHUNT = 'C4:D3:6A:00:20:03';
const POLL_MS = 1_500;

const rig = new BluezGatewayRig('rn');
let base = 'rn';

interface Event {
  type: string;
  data: { step?: string; outcome?: string; detail?: string; deviceId?: string };
}

interface Rig {
  sub: Subscriber;
  sim: BluezSimulator;
  controller: FakeGattDevice;
  battery: FakeGattDevice;
  neighbour: FakeGattDevice;
  shunt: FakeGattDevice | undefined;
}

/** `shunt`: a Smart Shunt too, configured with its MAC only (its name says what it is). */
async function start(options: { shunt?: boolean } = {}): Promise<Rig> {
  const sim = new BluezSimulator({ sensors: defaultSensors(2, 4), seed: 4, intervalMs: 100 });
  const controller = sim.addGattDevice(bt1Controller(CONTROLLER));
  const battery = sim.addGattDevice(proBattery(BATTERY));
  const neighbour = sim.addGattDevice(bt1Controller(NEIGHBOUR));
  const shunt = options.shunt ? sim.addGattDevice(smartShunt(SHUNT)) : undefined;
  const renogy = () =>
    `driver: renogy, bus_address: '${sim.address}', poll_interval_ms: ${POLL_MS}, connect_timeout_ms: 2000`;
  const run = await rig.run({
    simulator: sim,
    config: () => [
      'health: { interval_ms: 300 }',
      'ble:',
      `  - { adapter: hci0, bus_address: '${sim.address}', watchdog: { interval_ms: 300, stuck_after_ms: 5000, verify_after_ms: 700 } }`,
      'device_defaults: { reconnect: { initial_ms: 300, max_ms: 1000, max_attempts: 100 }, health: { failure_threshold: 1 } }',
      "supervisor: { buses: { 'renogy:hci0': { degraded_after_ms: 1000, ladder_reset_after_ms: 300 } } }",
      'devices:',
      `  - { id: solar, name: Solar, mac: '${CONTROLLER}', ${renogy()} }`,
      `  - { id: house_battery, mac: '${BATTERY}', ${renogy()} }`,
      ...(options.shunt ? [`  - { id: shunt, mac: '${SHUNT}', ${renogy()} }`] : []),
    ],
  });
  base = run.base;
  return { sub: run.sub, sim, controller, battery, neighbour, shunt };
}

const readings = (sub: Subscriber, id: string) => sub.json<Record<string, unknown>>(`${base}/${id}/reading`);
const stateOf = (sub: Subscriber, id: string) => sub.json<Record<string, unknown>>(`${base}/${id}`).at(-1);
const recoveries = (sub: Subscriber, deviceId: string) =>
  sub
    .json<Event>(`${base}/bridge/event`)
    .filter((event) => event.type === 'recovery' && event.data.deviceId === deviceId);
const sensorIds = (sim: BluezSimulator) =>
  sim.sensors.map((sensor) => `ble_${sensor.spec.mac.replace(/:/g, '').toLowerCase()}`);

async function readingAfter(sub: Subscriber, id: string, what: string, timeoutMs = 15_000): Promise<void> {
  const count = readings(sub, id).length;
  await sub.waitFor(what, () => readings(sub, id).length > count, timeoutMs);
}

describeWithBluez('Renogy: gateway ↔ fake BlueZ (GATT) ↔ mosquitto', () => {
  rig.register();

  it('reads a controller and a battery every poll with the right values while the BTHome sensors on the adapter keep publishing', async () => {
    const { sub, sim, controller, battery, neighbour } = await start();
    await sub.waitFor('three readings of each', () =>
      ['solar', 'house_battery'].every((id) => readings(sub, id).length >= 3),
    );
    const started = Date.now();
    const sensors = sensorIds(sim);
    const before = new Map(sensors.map((id) => [id, readings(sub, id).length]));
    const polls = (id: string) => readings(sub, id).length;
    const solarBefore = polls('solar');
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const solarPolls = polls('solar') - solarBefore;
    const sensorCounts = sensors.map((id) => readings(sub, id).length - (before.get(id) ?? 0));
    console.log(
      `Renogy: ${solarPolls} controller polls in ${Date.now() - started} ms (every ${POLL_MS} ms); sensor readings meanwhile: ${sensorCounts.join(', ')}`,
    );
    expect(solarPolls).toBeGreaterThanOrEqual(3);
    for (const count of sensorCounts) expect(count).toBeGreaterThanOrEqual(5);

    expect(readings(sub, 'solar').at(-1)).toMatchObject({
      family: 'controller',
      model: 'RNG-CTRL-RVR40',
      battery_soc: 87,
      battery_voltage: 13.2,
      pv_power: 57,
      power_generation_total: 56100,
      charging_state: 'mppt',
      load_on: false,
    });
    expect(readings(sub, 'house_battery').at(-1)).toMatchObject({
      family: 'battery',
      voltage: 13.3,
      current: 2.5,
      remaining_capacity: 85,
      battery_soc: 85,
      cell_voltage_3: 3.4,
    });
    // Discovery from the readings: the SOC as a battery sensor, the load as a switch.
    const discovery = (topic: string) =>
      JSON.parse(sub.on(topic).at(-1)?.payload ?? '{}') as Record<string, unknown>;
    expect(discovery('homeassistant/sensor/fieldbridge_solar/battery_soc/config')).toMatchObject({
      device_class: 'battery',
      unit_of_measurement: '%',
    });
    expect(discovery('homeassistant/switch/fieldbridge_solar/load_on/config')).toMatchObject({
      command_topic: `${base}/solar/set`,
    });
    // A Renogy module nobody configured is offered once, with the line that would read it, and never
    // connected to.
    const offers = sub
      .json<{ type: string; data: { mac?: string; family?: string; config?: string } }>(
        `${base}/bridge/event`,
      )
      .filter((event) => event.type === 'renogy_device_heard');
    expect(offers).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ mac: NEIGHBOUR, family: 'controller' }) }),
    ]);
    expect(offers[0]?.data.config).toContain(`mac: '${NEIGHBOUR}'`);
    expect(neighbour.connectCalls).toBe(0);
    // One central at a time: between polls neither device is held.
    await sub.waitFor('a controller poll', () => polls('solar') > solarBefore + solarPolls);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(controller.connected || battery.connected).toBe(false);
  }, 60_000);

  it('switches the load from Home Assistant: the state is what the device reads back', async () => {
    const { sub, controller } = await start();
    await sub.waitFor('a reading', () => readings(sub, 'solar').length > 0);
    const payload = JSON.parse(
      sub.on('homeassistant/switch/fieldbridge_solar/load_on/config').at(-1)?.payload ?? '{}',
    ) as { payload_on?: string };
    await sub.publish(`${base}/solar/set`, payload.payload_on ?? '');
    await sub.waitFor('load on in the state', () => stateOf(sub, 'solar')?.load_on === true, 15_000);
    expect(peripheralOf(controller.spec).images[0]?.value('load_on')).toBe(true);
    // The device turns it off by itself (low voltage disconnect): the next poll says so.
    peripheralOf(controller.spec).images[0]?.update({ load_on: false });
    await sub.waitFor('load off again, from the device', () => stateOf(sub, 'solar')?.load_on === false);
  }, 40_000);

  it('heals every fault of a connected device without a process restart, naming the step that healed it', async () => {
    const { sub, sim, controller } = await start();
    await sub.waitFor('a reading', () => readings(sub, 'solar').length > 0);
    const healed: string[] = [];
    const heal = async (fault: string, inject: () => void, clear?: () => void) => {
      const mark = recoveries(sub, 'solar').length;
      const at = Date.now();
      inject();
      if (clear) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS * 2));
        clear();
      }
      await readingAfter(sub, 'solar', `a reading after ${fault}`, 30_000);
      const steps = recoveries(sub, 'solar')
        .slice(mark)
        .filter((event) => event.data.outcome === 'verified')
        .map((event) => event.data.step);
      healed.push(`${fault}: ${Date.now() - at} ms, ${steps.length > 0 ? steps.join(' → ') : 'next poll'}`);
    };
    await heal('connect abort', () => controller.faults.failConnects('abort'));
    await heal('InProgress', () => controller.faults.failConnects('in_progress'));
    await heal('lost notification piece', () => controller.faults.dropPiece(1));
    await heal('bad CRC', () =>
      controller.faults.garbleNext((bytes) => bytes.map((b, i) => (i === bytes.length - 1 ? b ^ 0xff : b))),
    );
    await heal('exception response', () => peripheralOf(controller.spec).refuseNext(4));
    await heal(
      'late reply',
      () => (controller.faults.lateMs = 2_500),
      () => (controller.faults.lateMs = 0),
    );
    await heal(
      'taken by another central',
      () => controller.faults.setTakenByOtherCentral(true),
      () => controller.faults.setTakenByOtherCentral(false),
    );
    await heal('adapter reset', () => sim.resetAdapter());

    // Services missing after a reconnect: a stale GATT cache. In BlueZ, RemoveDevice drops it and the
    // next connect discovers the services afresh; the fake's fault stands until cleared, so the test
    // clears it when the device was removed (what remove_device is for).
    const mark = recoveries(sub, 'solar').length;
    const removals = sim.callCount('RemoveDevice');
    controller.faults.servicesMissing = true;
    // (The device is back as soon as it advertises again: its RemoveDevice call is what shows.)
    await sub.waitFor('remove_device', () => sim.callCount('RemoveDevice') > removals, 30_000);
    controller.faults.servicesMissing = false;
    await readingAfter(sub, 'solar', 'a reading after services came back', 30_000);
    await sub.waitFor('remove_device verified', () =>
      recoveries(sub, 'solar')
        .slice(mark)
        .some((event) => event.data.step === 'remove_device' && event.data.outcome === 'verified'),
    );
    const steps = recoveries(sub, 'solar')
      .slice(mark)
      .filter((event) => event.data.outcome === 'started')
      .map((event) => event.data.step);
    expect(steps.slice(0, 2)).toEqual(['reconnect', 'remove_device']);
    healed.push(`services missing: ${steps.join(' → ')}`);
    console.log(`Renogy faults healed:\n  ${healed.join('\n  ')}`);
    // The battery on the same adapter was read all along.
    expect(readings(sub, 'house_battery').length).toBeGreaterThan(3);
  }, 180_000);

  it('a hung Connect fails within its bound; the sensors and the battery keep publishing meanwhile', async () => {
    const { sub, sim, controller } = await start();
    await sub.waitFor('a reading', () => readings(sub, 'solar').length > 0);
    controller.faults.hangConnects = true;
    const hungAt = Date.now();
    const sensors = sensorIds(sim);
    const before = sensors.map((id) => readings(sub, id).length);
    const batteryBefore = readings(sub, 'house_battery').length;
    // The poll under way when it hung (or the next, within POLL_MS) fails by its 2 s bound, named.
    const issue = () =>
      (
        sub.json<{ health?: { issues?: string[] } }>(`${base}/bridge/health`).at(-1)?.health?.issues ?? []
      ).find((text) => text.startsWith('solar is degraded') && text.includes('connect_timeout'));
    await sub.waitFor('solar degraded by connect_timeout', () => issue() !== undefined, 20_000);
    const failedAfter = Date.now() - hungAt;
    console.log(
      `Renogy hung Connect: failed ${failedAfter} ms after it hung (bound 2000 ms, polls every ${POLL_MS} ms): ${issue()}`,
    );
    expect(issue()).toMatch(/did not finish within 2000 ms/);
    expect(failedAfter).toBeLessThan(2_000 + POLL_MS + 2_000);
    await sub.waitFor(
      'a recovery step',
      () => recoveries(sub, 'solar').some((event) => event.data.outcome === 'started'),
      20_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(sensors.every((id, index) => readings(sub, id).length > (before[index] ?? 0) + 3)).toBe(true);
    expect(readings(sub, 'house_battery').length).toBeGreaterThan(batteryBefore);
    controller.faults.hangConnects = false;
    await readingAfter(sub, 'solar', 'a reading once Connect answers', 30_000);
  }, 60_000);

  it('reads a Smart Shunt from its stream without a write; a silent one is healed through the ladder', async () => {
    const { sub, shunt: device } = await start({ shunt: true });
    if (device === undefined) throw new Error('no virtual shunt');
    const shunt = shuntOf(device.spec);
    await sub.waitFor('two shunt readings', () => readings(sub, 'shunt').length >= 2, 20_000);
    expect(readings(sub, 'shunt').at(-1)).toMatchObject({ family: 'shunt', ...SHUNT_VALUES });
    const discovery = (topic: string) =>
      JSON.parse(sub.on(topic).at(-1)?.payload ?? '{}') as Record<string, unknown>;
    expect(discovery('homeassistant/sensor/fieldbridge_shunt/current/config')).toMatchObject({
      device_class: 'current',
      unit_of_measurement: 'A',
      state_class: 'measurement',
    });
    // Neither a switch nor a Modbus id, not even before its first reading told its family.
    expect(sub.on('homeassistant/switch/fieldbridge_shunt/load_on/config')).toEqual([]);
    expect(sub.on('homeassistant/sensor/fieldbridge_shunt/device_id/config')).toEqual([]);

    // Silent: the failure is named in the health report and the ladder climbs; once the shunt streams
    // again it is read and healthy, without a restart of the process or of its actor.
    const mark = recoveries(sub, 'shunt').length;
    shunt.silent = true;
    const health = () =>
      sub
        .json<{
          health?: { issues?: string[] };
          devices?: Record<string, { state?: string; restarts?: number }>;
        }>(`${base}/bridge/health`)
        .at(-1);
    await sub.waitFor(
      'shunt degraded by no_live_frame',
      () =>
        (health()?.health?.issues ?? []).some(
          (text) => text.startsWith('shunt is degraded') && text.includes('no_live_frame'),
        ),
      20_000,
    );
    await sub.waitFor(
      'a recovery step',
      () =>
        recoveries(sub, 'shunt')
          .slice(mark)
          .some((event) => event.data.outcome === 'started'),
      20_000,
    );
    shunt.silent = false;
    await readingAfter(sub, 'shunt', 'a shunt reading after the silence', 20_000);
    await sub.waitFor('shunt healthy', () => health()?.devices?.shunt?.state === 'connected.healthy');
    // The step that healed it is named: verified by a good read, even when a poll beside it healed first.
    await sub.waitFor('the healing step verified', () =>
      recoveries(sub, 'shunt')
        .slice(mark)
        .some((event) => event.data.outcome === 'verified'),
    );
    const steps = recoveries(sub, 'shunt')
      .slice(mark)
      .map((event) => `${event.data.step} ${event.data.outcome}`);
    console.log(`Renogy silent shunt: ${steps.join(' → ')}`);
    expect(steps[0]).toBe('reconnect started');
    expect(health()?.devices?.shunt?.restarts).toBe(0);
    expect(readings(sub, 'shunt').at(-1)).toMatchObject(SHUNT_VALUES);
    expect(shunt.writes).toEqual([]);
  }, 90_000);

  it('readings survive a broker restart', async () => {
    const { sub } = await start();
    await sub.waitFor('two readings', () => readings(sub, 'solar').length >= 2);
    await rig.broker.kill();
    await new Promise((resolve) => setTimeout(resolve, POLL_MS * 3));
    await rig.broker.restart();
    const seqs = () => readingSeqs(sub, `${base}/solar/reading`);
    const before = seqs().length;
    await sub.waitFor('readings after the restart', () => seqs().length >= before + 4, 30_000);
    // Read while the broker was away, kept in the outbox and delivered in order: none lost.
    expect(gapsIn(seqs())).toEqual([]);
    expect(gapsIn(readingSeqs(sub, `${base}/house_battery/reading`))).toEqual([]);
  }, 60_000);
});
