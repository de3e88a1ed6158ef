import { afterEach, describe, expect, it } from 'vitest';
import { findDbusDaemon } from '../src/drivers/shared/bluez/simulator/daemon.js';
import { INVERTER_VALUES, inverter, peripheralOf } from '../src/drivers/renogy/simulator/devices.js';
import { fastClock, pollFailure, pollOnce, renogyRuntimeRig, renogySpec } from './helpers/renogyRuntime.js';

// An inverter with built-in BLE through the Renogy runtime on the fake BlueZ, with renogy-ble's
// session quirks (notes §4.5): 1 s after connecting its ffd4 is read once, before any request (the
// virtual inverter answers nothing on a link where it was not), requests 0.3 s apart, 10 s for each
// answer, and the main 4000 read sent a second time when the first got no answer. The runtime's
// clock runs ten times fast (a 10 s timeout is 1 s here).

const HAVE_DBUS = findDbusDaemon() !== undefined;
if (!HAVE_DBUS) console.warn('renogy-inverter.test.ts: dbus-daemon is not installed; skipped');

const INVERTER = 'C4:D3:6A:00:40:01';
const FACTOR = 10;
/** The inverter's main read at its own id: 4000 × 10 (§7.1). */
const MAIN_READ = '20030fa0000ac04a';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function rig() {
  const clock = fastClock(FACTOR);
  const { runtime, devices } = await renogyRuntimeRig(
    cleanups,
    [inverter(INVERTER)],
    [renogySpec('inverter', INVERTER)],
    clock,
  );
  const [device] = devices;
  if (device === undefined) throw new Error('no virtual inverter');
  return { runtime, clock, peripheral: peripheralOf(device.spec) };
}

describe.skipIf(!HAVE_DBUS)('Renogy inverter on the fake BlueZ', () => {
  it('reads ffd4 once per session before the first request, then reads the inverter paced 0.3 s apart', async () => {
    const { runtime, peripheral } = await rig();
    const reading = await pollOnce(runtime, 'inverter');
    expect(reading).toMatchObject({
      family: 'inverter',
      device_id: 0x20,
      model: 'RIV1230RCH-SPS',
      ac_input_voltage: INVERTER_VALUES.ac_input_voltage,
      battery_voltage: INVERTER_VALUES.battery_voltage,
      battery_current: INVERTER_VALUES.battery_current,
      charging_state: 'constant_voltage',
      load_active_power: INVERTER_VALUES.load_active_power,
    });
    expect(peripheral.initReads).toHaveLength(1);
    expect(peripheral.initReads[0]).toBeLessThanOrEqual(peripheral.requestTimes[0] ?? 0);
    const times = peripheral.requestTimes;
    const gaps = times.slice(1).map((at, index) => (at - (times[index] ?? 0)) * FACTOR);
    expect(gaps.length).toBeGreaterThanOrEqual(8);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(280);
    // A new session needs it again.
    await pollOnce(runtime, 'inverter');
    expect(peripheral.initReads).toHaveLength(2);
  });

  it('sends the main 4000 read a second time when the first gets no answer', async () => {
    const { runtime, peripheral } = await rig();
    await pollOnce(runtime, 'inverter');
    const before = peripheral.requests.length;
    peripheral.ignoreNext(1);
    expect(await pollOnce(runtime, 'inverter')).toMatchObject({ ac_output_voltage: 113.1 });
    expect(peripheral.requests.slice(before, before + 2)).toEqual([MAIN_READ, MAIN_READ]);
  });

  it('gives up after two attempts of 10 s each, as no_answer, and reads at the next poll', async () => {
    const { runtime, clock, peripheral } = await rig();
    await pollOnce(runtime, 'inverter');
    peripheral.ignoreNext(2);
    const started = clock.now();
    expect(await pollFailure(runtime, 'inverter')).toBe('no_answer');
    expect(clock.now() - started).toBeGreaterThanOrEqual(20_000);
    expect((await pollOnce(runtime, 'inverter')).battery_soc).toBe(60);
  });
});
