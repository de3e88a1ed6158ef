import { expect, it } from 'vitest';
import { defaultSensors, EXAMPLE_BIND_KEY } from '../src/drivers/shared/bluez/simulator/sensors.js';
import { BluezSimulator } from '../src/drivers/shared/bluez/simulator/simulator.js';
import { BluezGatewayRig, describeWithBluez } from './helpers/bluezGatewayRig.js';
import type { Subscriber } from './helpers/gatewayRig.js';

// BLE end to end: the fake BlueZ on a private dbus-daemon, the gateway in this process talking to it
// over D-Bus exactly as to the system bus, and mosquitto. Sensors reach Home Assistant with no
// per-device config; a hung call fails within its bound; a stuck adapter is healed by the ladder in
// order, and the power-cycle rate limit holds; bluetoothd restarts and adapter removal recover without a
// process restart. Each recovery is timed and printed.

const rig = new BluezGatewayRig('ble');
let simulator: BluezSimulator | undefined;
let base = 'ble';

interface Event {
  type: string;
  data: { step?: string; outcome?: string; detail?: string; deviceId?: string; actorId?: string };
}

async function start(options: { watchdog?: string; supervisor?: string } = {}): Promise<Subscriber> {
  const sim = new BluezSimulator({
    sensors: defaultSensors(3, 4),
    seed: 4,
    intervalMs: 100,
    restartDelayMs: 500,
  });
  simulator = sim;
  const watchdog = options.watchdog ?? '{ interval_ms: 300, stuck_after_ms: 1000, verify_after_ms: 700 }';
  const run = await rig.run({
    simulator: sim,
    config: () => [
      'health: { interval_ms: 300 }',
      'ble:',
      `  - { adapter: hci0, bus_address: '${sim.address}', watchdog: ${watchdog} }`,
      'device_defaults: { reconnect: { initial_ms: 300, max_ms: 1000, max_attempts: 100 } }',
      // The encrypted thermometer, configured with its key; the others are found by themselves.
      'devices:',
      `  - { id: secure_thermo, driver: ble, mac: '${secureMac()}', bind_key: ${EXAMPLE_BIND_KEY} }`,
      options.supervisor ?? '',
    ],
  });
  base = run.base;
  return run.sub;
}

const secureMac = () => simulator?.sensors.find((sensor) => sensor.spec.bindKey)?.spec.mac ?? '';

const SENSORS = () =>
  (simulator?.sensors ?? []).map((sensor) =>
    sensor.spec.bindKey ? 'secure_thermo' : `ble_${sensor.spec.mac.replace(/:/g, '').toLowerCase()}`,
  );

const events = (sub: Subscriber) => sub.json<Event>(`${base}/bridge/event`);
const recoveries = (sub: Subscriber) => events(sub).filter((event) => event.type === 'recovery');

describeWithBluez('BLE: gateway ↔ fake BlueZ over D-Bus ↔ mosquitto', () => {
  rig.register();

  it('adds every sensor heard, announces it to Home Assistant and publishes its readings', async () => {
    const sub = await start();
    const ids = SENSORS();
    await sub.waitFor(
      'every sensor online',
      () => ids.every((id) => sub.on(`${base}/${id}/availability`).at(-1)?.payload === 'online'),
      15_000,
    );
    await sub.waitFor('temperature discovery', () =>
      sub.messages.some(
        (m) =>
          m.topic === `homeassistant/sensor/fieldbridge_${ids[0]}/temperature/config` && m.payload !== '',
      ),
    );
    const discovery = JSON.parse(
      sub.on(`homeassistant/sensor/fieldbridge_${ids[0]}/temperature/config`).at(-1)?.payload ?? '{}',
    );
    expect(discovery).toMatchObject({
      device_class: 'temperature',
      unit_of_measurement: '°C',
      expire_after: 600,
    });
    await sub.waitFor('rssi discovery', () =>
      sub.messages.some((m) => m.topic === `homeassistant/sensor/fieldbridge_${ids[0]}/rssi/config`),
    );
    await sub.waitFor('a reading', () => sub.on(`${base}/${ids[1]}/reading`).length > 0);
    const reading = sub.json<Record<string, unknown>>(`${base}/${ids[1]}/reading`).at(-1);
    expect(reading).toMatchObject({ format: 'ruuvi' });
    expect(typeof reading?.temperature).toBe('number');
    // The encrypted one is read with its key, under its configured id only (no auto-added twin).
    await sub.waitFor('an encrypted reading', () => sub.on(`${base}/secure_thermo/reading`).length > 0);
    expect(
      typeof sub.json<{ temperature?: number }>(`${base}/secure_thermo/reading`).at(-1)?.temperature,
    ).toBe('number');
    const twin = `ble_${secureMac().replace(/:/g, '').toLowerCase()}`;
    expect(sub.messages.some((m) => m.topic.startsWith(`${base}/${twin}`))).toBe(false);
    await sub.waitFor('adapter discovery', () =>
      sub.messages.some(
        (m) => m.topic === 'homeassistant/binary_sensor/fieldbridge_ble_hci0/discovering/config',
      ),
    );
    await sub.waitFor(
      'the adapter says it discovers',
      () => sub.json<{ discovering?: boolean }>(`${base}/ble_hci0`).at(-1)?.discovering === true,
    );
  }, 30_000);

  it('heals a stuck adapter by the ladder in order (a hung Set fails within its bound), then the power-cycle rate limit holds', async () => {
    const sub = await start({
      supervisor:
        "supervisor: { buses: { 'ble:hci0': { ladder_reset_after_ms: 300, restart_backoff: { min_ms: 100, max_ms: 500 } } } }",
    });
    const ids = SENSORS();
    const online = () => ids.every((id) => sub.on(`${base}/${id}/availability`).at(-1)?.payload === 'online');
    await sub.waitFor('every sensor online', online, 15_000);
    const sim = simulator!;
    const readingsOf = () => sub.on(`${base}/${ids[0]}/reading`).length;

    // Stuck, and a power cycle that cannot help: its Set(Powered) hangs.
    const stuckAt = Date.now();
    sim.hang('Set(Powered)');
    sim.setStuck(true);
    await sub
      .waitFor(
        'restart_actor started',
        () => recoveries(sub).some((e) => e.data.step === 'restart_actor' && e.data.outcome === 'started'),
        20_000,
      )
      .catch((error: unknown) => {
        console.log(
          JSON.stringify(sub.json(`${base}/ble_hci0`).slice(-3)),
          Date.now() - stuckAt,
          new Date().toISOString(),
        );
        console.log(sim.status().join('\n'));
        throw error;
      });
    // What restarting the actor would bring in the field: the next connection's scan delivers.
    sim.unhang();
    sim.setStuck(false);
    const before = readingsOf();
    await sub.waitFor('readings again', () => readingsOf() > before, 10_000);
    console.log(`BLE stuck adapter: healed by the ladder ${Date.now() - stuckAt} ms after it got stuck`);
    const started = recoveries(sub)
      .filter((e) => e.data.outcome === 'started')
      .map((e) => e.data.step);
    expect(started).toEqual(['stop_discovery', 'power_cycle_adapter', 'restart_actor']);
    const cycle = sub.on(`${base}/bridge/event`).filter((m) => m.payload.includes('power_cycle_adapter'));
    const failed = recoveries(sub).find(
      (e) => e.data.step === 'power_cycle_adapter' && e.data.outcome === 'failed',
    );
    expect(failed?.data.detail).toMatch(/Properties\.Set\(Powered\) .*no answer within 5000 ms/);
    const stepMs = (cycle.at(-1)?.at ?? 0) - (cycle[0]?.at ?? 0);
    console.log(
      `BLE hung Set(Powered): the power cycle failed ${stepMs} ms after it started (bound 5000 ms)`,
    );
    expect(stepMs).toBeLessThan(6_500);

    // Nine more power cycles by request: ten in the hour with the ladder's.
    for (let i = 0; i < 9; i++) {
      const count = recoveries(sub).length;
      await sub.publish(
        `${base}/bridge/request/device/recover`,
        JSON.stringify({ id: 'ble_hci0', step: 'power_cycle_adapter' }),
      );
      await sub.waitFor(`power cycle ${i + 2} done`, () =>
        recoveries(sub)
          .slice(count)
          .some((e) => e.data.outcome === 'succeeded' || e.data.outcome === 'failed'),
      );
    }
    const sets = sim.callCount('Set(Powered)');

    // Stuck again once the ladder is back on its first rung (healthy for ladder_reset_after_ms, seen at
    // the supervisor's next 5 s housekeeping): stop_discovery, then the eleventh power cycle is refused,
    // said once, and the watchdog waits instead of asking again.
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    const mark = recoveries(sub).length;
    sim.setStuck(true);
    await sub.waitFor(
      'refused in the ladder',
      () =>
        recoveries(sub)
          .slice(mark)
          .some((e) => e.data.step === 'power_cycle_adapter' && e.data.outcome === 'rate_limited'),
      10_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const after = recoveries(sub).slice(mark);
    expect(after.filter((e) => e.data.outcome === 'started').map((e) => e.data.step)).toEqual([
      'stop_discovery',
    ]);
    expect(after.filter((e) => e.data.outcome === 'rate_limited')).toHaveLength(1);
    expect(sim.callCount('Set(Powered)')).toBe(sets);
    // Health shows it: the adapter is degraded, so ble_ok is false.
    await sub.waitFor(
      'ble_ok false',
      () =>
        sub.json<{ health?: { ble_ok?: boolean } }>(`${base}/bridge/health`).at(-1)?.health?.ble_ok === false,
      5_000,
    );
  }, 60_000);

  it('recovers from a bluetoothd restart and from the adapter being removed, without a process restart', async () => {
    const sub = await start();
    const ids = SENSORS();
    const online = () => ids.every((id) => sub.on(`${base}/${id}/availability`).at(-1)?.payload === 'online');
    const offline = () =>
      ids.every((id) => sub.on(`${base}/${id}/availability`).at(-1)?.payload === 'offline');
    await sub.waitFor('every sensor online', online, 15_000);
    const sim = simulator!;
    const readings = () => sub.on(`${base}/${ids[0]}/reading`).length;

    const restarting = sim.restart(500);
    await sub.waitFor('every sensor offline (bluetoothd gone)', offline, 5_000);
    await restarting;
    const back = Date.now();
    let count = readings();
    await sub.waitFor('every sensor online again', online, 10_000);
    await sub.waitFor('a new reading', () => readings() > count, 10_000);
    console.log(`BLE bluetoothd restart: readings again ${Date.now() - back} ms after org.bluez returned`);
    expect(Date.now() - back).toBeLessThan(3_000);

    sim.removeAdapter();
    await sub.waitFor('every sensor offline (adapter removed)', offline, 5_000);
    await sub.waitFor(
      'ble_ok false',
      () =>
        sub.json<{ health?: { ble_ok?: boolean } }>(`${base}/bridge/health`).at(-1)?.health?.ble_ok === false,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    sim.addAdapter();
    const added = Date.now();
    count = readings();
    await sub.waitFor('every sensor online again', online, 10_000);
    await sub.waitFor('a new reading', () => readings() > count, 10_000);
    console.log(`BLE adapter removed and added: readings again ${Date.now() - added} ms after it was added`);
    expect(Date.now() - added).toBeLessThan(3_000);
    await sub.waitFor(
      'ble_ok true',
      () =>
        sub.json<{ health?: { ble_ok?: boolean } }>(`${base}/bridge/health`).at(-1)?.health?.ble_ok === true,
    );
  }, 40_000);
});
