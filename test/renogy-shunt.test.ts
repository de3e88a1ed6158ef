import { afterEach, describe, expect, it } from 'vitest';
import { findDbusDaemon } from '../src/drivers/shared/bluez/simulator/daemon.js';
import { SHUNT_VALUES, shuntOf, smartShunt } from '../src/drivers/renogy/simulator/devices.js';
import { fastClock, pollFailure, pollOnce, renogyRuntimeRig, renogySpec } from './helpers/renogyRuntime.js';

// The Smart Shunt 300 through the Renogy runtime on the fake BlueZ: no Modbus, ever; its c411 found
// under whatever service holds it; the first live frame of each session decoded (history frames and
// the 61 D2 prefix of the stream skipped); a shunt that streams nothing live fails by name, and the
// ladder's reconnect reads it again once it does. The runtime's clock runs five times fast (the 3 s
// wait for a frame is 0.6 s here); the fake BlueZ and the shunt's stream run on the wall clock.

const HAVE_DBUS = findDbusDaemon() !== undefined;
if (!HAVE_DBUS) console.warn('renogy-shunt.test.ts: dbus-daemon is not installed; skipped');

const SHUNT = 'C4:D3:6A:00:30:01';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function rig(family?: 'shunt', known = true, onLog?: (line: string) => void) {
  const { runtime, devices, logs } = await renogyRuntimeRig(
    cleanups,
    [smartShunt(SHUNT, 60)],
    [renogySpec('shunt', SHUNT, family === undefined ? {} : { family })],
    fastClock(5),
    { known, ...(onLog ? { onLog } : {}) },
  );
  const [device] = devices;
  if (device === undefined) throw new Error('no virtual shunt');
  return { runtime, device, shunt: shuntOf(device.spec), logs };
}

describe.skipIf(!HAVE_DBUS)('Renogy Smart Shunt on the fake BlueZ', () => {
  it('reads a shunt known by its name from its live frames, writing nothing, and lets it go', async () => {
    const { runtime, device, shunt } = await rig();
    for (let poll = 0; poll < 3; poll += 1) {
      expect(await pollOnce(runtime, 'shunt')).toEqual({ family: 'shunt', ...SHUNT_VALUES });
      expect(device.connected).toBe(false);
    }
    // The stream had history and prefixed frames in it; not one write went to the shunt.
    expect(shunt.sent.history).toBeGreaterThan(0);
    expect(shunt.sent.prefixed).toBeGreaterThan(0);
    expect(shunt.writes).toEqual([]);
    shunt.update({ current: 3.2, battery_temperature: -4.5 });
    expect(await pollOnce(runtime, 'shunt')).toMatchObject({ current: 3.2, battery_temperature: -4.5 });
  });

  it('a shunt BlueZ has not heard yet is scanned for, and read as a shunt from the name it advertises', async () => {
    const { runtime, shunt } = await rig(undefined, false);
    expect(await pollOnce(runtime, 'shunt')).toEqual({ family: 'shunt', ...SHUNT_VALUES });
    expect(shunt.writes).toEqual([]);
  });

  it('a shunt streaming no live frame fails as no_live_frame; reconnect reads it once it does', async () => {
    const { runtime, shunt, logs } = await rig();
    await pollOnce(runtime, 'shunt');
    shunt.silent = true;
    expect(await pollFailure(runtime, 'shunt')).toBe('no_live_frame');
    await expect(runtime.runRecoveryStep('reconnect', 'shunt', AbortSignal.timeout(10_000))).rejects.toThrow(
      /no_live_frame: no live frame within 3000 ms of subscribing \(\d+ bytes of history or noise received\)/,
    );
    shunt.silent = false;
    const events: unknown[] = [];
    runtime.watchBus((event) => events.push(event));
    await runtime.runRecoveryStep('reconnect', 'shunt', AbortSignal.timeout(10_000));
    expect(events).toEqual([
      expect.objectContaining({
        deviceId: 'shunt',
        event: expect.objectContaining({ type: 'data', result: { family: 'shunt', ...SHUNT_VALUES } }),
      }),
    ]);
    expect(logs).toContain('shunt: read again after no_live_frame');
    expect(shunt.writes).toEqual([]);
  });

  it('a garbled live frame is dropped, named in the log, and the next good frame is the reading', async () => {
    const seen: string[] = [];
    const { runtime, shunt } = await rig('shunt', true, (line) => {
      seen.push(line);
      // The first garbled frame was judged: the stream turns good again within the same session.
      if (line.includes('implausible')) shunt.garbleLiveFrames = 0;
    });
    shunt.garbleLiveFrames = Infinity;
    expect(await pollOnce(runtime, 'shunt')).toEqual({ family: 'shunt', ...SHUNT_VALUES });
    expect(seen.filter((line) => line.includes('implausible'))).toEqual([
      expect.stringMatching(
        /^shunt: implausible current -?[\d.]+ A is outside -500\.\.500 A; voltage [\d.]+ V is outside 6\.\.80 V; battery_soc [\d.]+ % is outside 0\.\.100 %: live frame dropped \(logged once for current,voltage,battery_soc\)$/,
      ),
    ]);
  });

  it('a shunt streaming only garbled live frames fails as implausible_frame, logged once per kind; reconnect heals it', async () => {
    const { runtime, shunt, logs } = await rig('shunt');
    await runtime.connect('shunt', AbortSignal.timeout(5_000));
    shunt.garbleLiveFrames = Infinity;
    for (let poll = 0; poll < 2; poll += 1) {
      await expect(runtime.execute('shunt', 'poll', null, AbortSignal.timeout(20_000))).rejects.toThrow(
        /^implausible_frame: \d+ live frames? within 3000 ms of subscribing, none plausible \(the last: current -?[\d.]+ A is outside -500\.\.500 A; voltage [\d.]+ V is outside 6\.\.80 V; battery_soc [\d.]+ % is outside 0\.\.100 %\)$/,
      );
    }
    expect(shunt.sent.garbled).toBeGreaterThan(2);
    // Many frames over two polls, one line for the kind (each failed poll is logged on its own).
    expect(logs.filter((line) => line.startsWith('shunt: implausible'))).toHaveLength(1);
    shunt.garbleLiveFrames = 0;
    await runtime.runRecoveryStep('reconnect', 'shunt', AbortSignal.timeout(10_000));
    expect(logs).toContain('shunt: read again after implausible_frame');
    expect(await pollOnce(runtime, 'shunt')).toEqual({ family: 'shunt', ...SHUNT_VALUES });
  });

  it('refuses a load switch without connecting: a shunt has no load output', async () => {
    const { runtime, device } = await rig('shunt');
    await runtime.connect('shunt', AbortSignal.timeout(5_000));
    await expect(
      runtime.execute('shunt', 'set', { load_on: true }, AbortSignal.timeout(5_000)),
    ).rejects.toThrow(/shunt is a shunt: it has no load output/);
    expect(device.connectCalls).toBe(0);
  });

  it('a shunt without c411 (services missing) fails as missing_characteristics', async () => {
    const { runtime, device } = await rig('shunt');
    await runtime.connect('shunt', AbortSignal.timeout(5_000));
    device.faults.servicesMissing = true;
    expect(await pollFailure(runtime, 'shunt')).toBe('missing_characteristics');
    device.faults.servicesMissing = false;
    expect((await pollOnce(runtime, 'shunt')).voltage).toBe(SHUNT_VALUES.voltage);
  });
});
