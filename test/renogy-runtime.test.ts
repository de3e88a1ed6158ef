import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../src/machines/clock.js';
import { findDbusDaemon } from '../src/drivers/shared/bluez/simulator/daemon.js';
import type { FakeGattDevice } from '../src/drivers/shared/bluez/simulator/gattDevice.js';
import { RenogyBusRuntime } from '../src/drivers/renogy/runtime.js';
import type { RenogyDeviceSpec } from '../src/drivers/renogy/reader.js';
import {
  bt1Controller,
  bt2BatteryHub,
  peripheralOf,
  proBattery,
} from '../src/drivers/renogy/simulator/devices.js';
import { renogyRuntimeRig, renogySpec } from './helpers/renogyRuntime.js';

// The Renogy runtime against virtual devices on the fake BlueZ over a private dbus-daemon: a BT-1 with
// a charge controller (family guessed from its name, id found through 0xFF and its address register),
// a BT-2 on a hub of batteries (0xFF collides there: the hub's ids are tried), a Pro battery whose
// characteristics also appear under a second service; the load switched with its state from the
// device; every failure named, the session dropped and the next poll good again.

const HAVE_DBUS = findDbusDaemon() !== undefined;
if (!HAVE_DBUS) console.warn('renogy-runtime.test.ts: dbus-daemon is not installed; skipped');

const CONTROLLER = 'C4:D3:6A:00:00:01';
const HUB = 'C4:D3:6A:00:00:02';
const PRO = 'C4:D3:6A:00:00:03';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const spec = renogySpec;

async function rig(devices: RenogyDeviceSpec[] = []) {
  const {
    simulator,
    host,
    runtime,
    devices: fakes,
    logs,
  } = await renogyRuntimeRig(
    cleanups,
    [bt1Controller(CONTROLLER), bt2BatteryHub(HUB), proBattery(PRO)],
    [
      spec('solar', CONTROLLER),
      spec('house_battery', HUB, { family: 'battery', topology: 'hub' }),
      spec('pro', PRO),
      ...devices,
    ],
    systemClock,
  );
  const [controller, hub, pro] = fakes as [FakeGattDevice, FakeGattDevice, FakeGattDevice];
  return { simulator, host, runtime, controller, hub, pro, logs };
}

const signal = () => AbortSignal.timeout(20_000);

async function poll(runtime: RenogyBusRuntime, id: string): Promise<Record<string, unknown>> {
  await runtime.connect(id, signal());
  return (await runtime.execute(id, 'poll', null, signal())) as Record<string, unknown>;
}

describe.skipIf(!HAVE_DBUS)('Renogy runtime on the fake BlueZ', () => {
  it('reads a controller behind a BT-1: family from its name, id from its address register, values in SI', async () => {
    const { runtime, controller } = await rig();
    const reading = await poll(runtime, 'solar');
    expect(reading).toMatchObject({
      family: 'controller',
      device_id: 1,
      model: 'RNG-CTRL-RVR40',
      battery_soc: 87,
      battery_voltage: 13.2,
      battery_current: 4.5,
      pv_power: 57,
      power_generation_total: 56100,
      charging_state: 'mppt',
      load_on: false,
    });
    // 0xFF first, then its own id; the link let go after the poll (the phone app may connect).
    const requests = peripheralOf(controller.spec).requests;
    expect(requests[0]?.startsWith('ff03')).toBe(true);
    expect(requests.slice(1).every((hex) => hex.startsWith('0103'))).toBe(true);
    expect(controller.connected).toBe(false);
    // Paced as the notes say (§3.4): 0.5 s after each answer before the next request.
    const times = peripheralOf(controller.spec).requestTimes;
    const gaps = times.slice(1).map((at, index) => at - (times[index] ?? 0));
    expect(gaps.length).toBeGreaterThanOrEqual(3);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(480);
  });

  it('finds the batteries of a hub by their ids (0xFF collides there) and a Pro battery under two services', async () => {
    const { runtime, pro } = await rig();
    const hub = await poll(runtime, 'house_battery');
    expect(hub).toMatchObject({ family: 'battery', device_id: 0x30, voltage: 13.3, full_capacity: 100 });
    expect(hub.battery_soc).toBe(80);
    const battery = await poll(runtime, 'pro');
    expect(battery).toMatchObject({
      family: 'battery',
      device_id: 0x30,
      current: 2.5,
      remaining_capacity: 85,
    });
    expect(pro.connected).toBe(false);
  });

  it('a device that refuses its address register is read at the id that answered (0xFF)', async () => {
    const { runtime, controller } = await rig();
    peripheralOf(controller.spec).refuseNext(2);
    const reading = await poll(runtime, 'solar');
    expect(reading).toMatchObject({ device_id: 0xff, battery_soc: 87 });
  });

  it('switches the load and publishes what the device reads back, not the command', async () => {
    const { runtime, controller } = await rig();
    await poll(runtime, 'solar');
    const after = (await runtime.execute('solar', 'set', { load_on: true }, signal())) as Record<
      string,
      unknown
    >;
    expect(after.load_on).toBe(true);
    const image = peripheralOf(controller.spec).images[0];
    expect(image?.value('load_on')).toBe(true);
    // The write went out as 0x06 to 0x010A with 1.
    expect(peripheralOf(controller.spec).requests.some((hex) => hex.startsWith('0106010a0001'))).toBe(true);
  });

  it('names each failure, drops the session and reads again at the next poll', async () => {
    const { runtime, controller, logs } = await rig();
    await poll(runtime, 'solar');
    const failures: string[] = [];
    const expectFailure = async (kind: string) => {
      const error = await runtime.execute('solar', 'poll', null, signal()).then(
        () => undefined,
        (caught: unknown) => caught as { kind?: string },
      );
      failures.push(error?.kind ?? 'none');
      expect(error?.kind).toBe(kind);
      expect(controller.connected).toBe(false);
      await poll(runtime, 'solar');
    };
    controller.faults.failConnects('abort');
    await expectFailure('connect_aborted');
    controller.faults.failConnects('in_progress');
    await expectFailure('in_progress');
    controller.faults.garbleNext((bytes) => bytes.map((b, i) => (i === bytes.length - 1 ? b ^ 0xff : b)));
    await expectFailure('garbage_answer');
    controller.faults.dropPiece(1);
    await expectFailure('no_answer');
    peripheralOf(controller.spec).refuseNext(4);
    await expectFailure('exception');
    // A late copy of the previous answer ahead of this one: the link is out of step, never trusted.
    peripheralOf(controller.spec).replayNext();
    await expectFailure('stale_session');
    expect(failures).toHaveLength(6);
    expect(logs.some((line) => line.includes('read again after'))).toBe(true);
  });

  it('remove_device: BlueZ forgets the device; the next poll scans until it is heard again (no BLE line here)', async () => {
    const { runtime, controller } = await rig();
    await poll(runtime, 'solar');
    await runtime.runRecoveryStep('remove_device', 'solar', signal());
    expect(controller.exported).toBe(false);
    expect((await poll(runtime, 'solar')).battery_soc).toBe(87);
    expect(controller.exported).toBe(true);
    await expect(runtime.runRecoveryStep('no_such_step', 'solar', signal())).rejects.toThrow(/no_such_step/);
  });

  it('reconnect: a fresh session at once, its reading reported as the device’s data', async () => {
    const { runtime } = await rig();
    await runtime.connect('solar', signal());
    const events: unknown[] = [];
    runtime.watchBus((event) => events.push(event));
    await runtime.runRecoveryStep('reconnect', 'solar', signal());
    expect(events).toEqual([
      expect.objectContaining({ deviceId: 'solar', event: expect.objectContaining({ type: 'data' }) }),
    ]);
  });

  it('power_cycle_adapter: the adapter off and on, at most ten times an hour per adapter', async () => {
    const { runtime, simulator } = await rig();
    await runtime.connect('solar', signal());
    for (let cycle = 0; cycle < 10; cycle += 1) {
      await runtime.runRecoveryStep('power_cycle_adapter', 'solar', signal());
    }
    expect(simulator.callCount('Set(Powered)')).toBe(20);
    // The eleventh in the hour is refused, whichever device of the adapter asks.
    await expect(runtime.runRecoveryStep('power_cycle_adapter', 'pro', signal())).rejects.toThrow(
      /power-cycled 10 times in the last hour/,
    );
    expect(simulator.callCount('Set(Powered)')).toBe(20);
    expect((await poll(runtime, 'solar')).battery_soc).toBe(87);
  });

  it('a restarted bus reads on a fresh D-Bus connection of the same adapter', async () => {
    const { runtime, host } = await rig();
    await poll(runtime, 'solar');
    const before = await host.gatt();
    await runtime.close();
    const again = new RenogyBusRuntime('renogy:hci0', {
      host,
      devices: [spec('solar', CONTROLLER)],
      clock: systemClock,
      log: { info: () => undefined, warn: () => undefined, debug: () => undefined },
    });
    cleanups.push(() => again.close());
    expect((await poll(again, 'solar')).battery_soc).toBe(87);
    expect(await host.gatt()).not.toBe(before);
  });

  it('a hung Connect fails within its bound', async () => {
    const { runtime, controller } = await rig();
    controller.faults.hangConnects = true;
    await runtime.connect('solar', signal());
    const started = Date.now();
    const error = (await runtime.execute('solar', 'poll', null, signal()).catch((e: unknown) => e)) as {
      kind?: string;
    };
    expect(error.kind).toBe('connect_timeout');
    expect(Date.now() - started).toBeLessThan(3_000 + 1_500);
    controller.faults.hangConnects = false;
    expect((await poll(runtime, 'solar')).battery_soc).toBe(87);
  });
});
