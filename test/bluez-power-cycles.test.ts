import { afterEach, describe, expect, it } from 'vitest';
import { bleDriver } from '../src/drivers/ble/index.js';
import { BleBusRuntime } from '../src/drivers/ble/runtime.js';
import { RenogyBusRuntime } from '../src/drivers/renogy/runtime.js';
import { ConnectedHost } from '../src/drivers/shared/bluez/connectedHost.js';
import {
  ADAPTER_POWER_CYCLES_PER_HOUR,
  PowerCycleBudget,
  PowerCycleRefused,
} from '../src/drivers/shared/bluez/powerCycles.js';
import { findDbusDaemon } from '../src/drivers/shared/bluez/simulator/daemon.js';
import { BluezSimulator } from '../src/drivers/shared/bluez/simulator/simulator.js';
import { climb, FRESH_LADDER } from '../src/machines/ladder.js';
import { type GatewayClock, systemClock } from '../src/machines/clock.js';
import { rejectionOf, SHORT_TIMEOUTS } from './helpers/gattRig.js';

// The power cycles of an adapter have one hourly limit, whoever runs them: the BLE line's ladder (its
// watchdog) and a Renogy device's ladder take from the same count. A cycle refused by it is a named
// failure of the step, logged, and the line's ladder goes on to restart_actor instead of asking again.

const HAVE_DBUS = findDbusDaemon() !== undefined;
if (!HAVE_DBUS) console.warn('bluez-power-cycles.test.ts: dbus-daemon is not installed; skipped');

const LIMIT = ADAPTER_POWER_CYCLES_PER_HOUR;
const HOUR_MS = 3_600_000;

describe('the power cycles of one adapter', () => {
  it('counts every user against one hourly limit and frees a cycle when the oldest leaves the hour', () => {
    const budget = new PowerCycleBudget('hci0', 3);
    budget.take('Renogy device solar', 0);
    budget.take('Renogy device solar', 1_000);
    budget.take('the BLE line ble:hci0', 2_000);
    const refused = (() => {
      try {
        budget.take('the BLE line ble:hci0', 3_000);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(refused).toBeInstanceOf(PowerCycleRefused);
    expect((refused as PowerCycleRefused).message).toBe(
      'power_cycle_adapter refused for the BLE line ble:hci0: adapter hci0 was power-cycled 3 times in the last hour (2 by Renogy device solar, 1 by the BLE line ble:hci0; limit 3, shared by the BLE line and the connected devices of the adapter); the next is allowed in 3597 s',
    );
    expect((refused as PowerCycleRefused).retryAt).toBe(HOUR_MS);
    // A refusal counts nothing; the first cycle leaving the hour frees one.
    expect(budget.recent(3_000)).toBe(3);
    budget.take('the BLE line ble:hci0', HOUR_MS);
    expect(budget.recent(HOUR_MS)).toBe(3);
  });
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const signal = () => AbortSignal.timeout(20_000);

/** A BLE line and a Renogy bus on one adapter of the fake BlueZ, sharing its host as a gateway does. */
async function sharedAdapter() {
  const simulator = new BluezSimulator({ sensors: [], intervalMs: 0 });
  await simulator.start();
  cleanups.push(() => simulator.stop());
  let now = 1_000_000;
  const clock: GatewayClock = { ...systemClock, now: () => now };
  const host = new ConnectedHost('hci0', {
    busAddress: () => Promise.resolve(simulator.address),
    timeouts: SHORT_TIMEOUTS,
  });
  cleanups.push(() => host.close());
  const warnings: string[] = [];
  const log = (prefix: string) => ({
    info: () => undefined,
    warn: (line: string) => warnings.push(`${prefix}: ${line}`),
    debug: () => undefined,
  });
  const line = new BleBusRuntime('ble:hci0', {
    adapter: 'hci0',
    adapterDeviceId: 'ble_hci0',
    sensors: [],
    busAddress: () => Promise.resolve(simulator.address),
    watchdog: { intervalMs: 600_000, stuckAfterMs: 600_000, verifyAfterMs: 15_000 },
    clock,
    timeouts: SHORT_TIMEOUTS,
    host,
    connection: host.connection,
    powerCycles: host.powerCycles,
    log: log('line'),
  });
  cleanups.push(() => line.close());
  await line.connect('ble_hci0', signal());
  const renogy = new RenogyBusRuntime('renogy:hci0', {
    host,
    devices: [
      {
        deviceId: 'solar',
        mac: 'C4:D3:6A:00:00:01',
        family: 'controller',
        modbusId: undefined,
        topology: 'standalone',
        connectTimeoutMs: 3_000,
      },
    ],
    clock,
    log: log('renogy'),
  });
  cleanups.push(() => renogy.close());
  return {
    simulator,
    line,
    renogy,
    warnings,
    tick: () => {
      now += 60_000;
    },
    /** The hour's power cycles, spent one a minute by the line or by the Renogy device. */
    spend: async (by: 'line' | 'renogy') => {
      for (let cycle = 0; cycle < LIMIT; cycle += 1) {
        now += 60_000;
        if (by === 'line') await line.runRecoveryStep('power_cycle_adapter', 'ble_hci0', signal());
        else await renogy.runRecoveryStep('power_cycle_adapter', 'solar', signal());
      }
    },
    powerSets: () => simulator.callCount('Set(Powered)'),
  };
}

describe.skipIf(!HAVE_DBUS)('one hourly limit for the BLE line and Renogy on one adapter', () => {
  it('after the limit spent by Renogy, the line’s watchdog ladder is refused and goes on to restart_actor', async () => {
    const rig = await sharedAdapter();
    await rig.spend('renogy');
    expect(rig.powerSets()).toBe(2 * LIMIT);

    // The line's watchdog finds the scan stuck; its ladder has run stop_discovery already.
    const steps = bleDriver.definition.recoverySteps;
    const first = climb(steps, FRESH_LADDER, 0);
    if (first.kind !== 'run') throw new Error('the ladder should run stop_discovery');
    const second = climb(steps, first.ladder, 1_000);
    expect(second).toMatchObject({ kind: 'run', step: 'power_cycle_adapter' });
    if (second.kind !== 'run') return;
    rig.tick();
    const refused = await rejectionOf(rig.line.runRecoveryStep(second.step, 'ble_hci0', signal()));
    expect(refused).toBeInstanceOf(PowerCycleRefused);
    expect((refused as Error).message).toMatch(
      /^power_cycle_adapter refused for the BLE line ble:hci0: adapter hci0 was power-cycled 10 times in the last hour \(10 by Renogy device solar; limit 10/,
    );
    expect(rig.powerSets()).toBe(2 * LIMIT);
    expect(rig.warnings.filter((line) => line.startsWith('line: power_cycle_adapter refused'))).toHaveLength(
      1,
    );
    // The ladder's own count allows the step, so nothing holds it: the failed step lets it climb on.
    expect(climb(steps, second.ladder, 2_000)).toMatchObject({ kind: 'run', step: 'restart_actor' });
    expect(rig.line.up).toBe(true);
  }, 30_000);

  it('after the limit spent by the line, a Renogy device’s power cycle is refused', async () => {
    const rig = await sharedAdapter();
    await rig.spend('line');
    expect(rig.powerSets()).toBe(2 * LIMIT);
    rig.tick();
    const refused = await rejectionOf(rig.renogy.runRecoveryStep('power_cycle_adapter', 'solar', signal()));
    expect(refused).toBeInstanceOf(PowerCycleRefused);
    expect((refused as Error).message).toMatch(/\(10 by the BLE line ble:hci0; limit 10/);
    expect(rig.powerSets()).toBe(2 * LIMIT);
    expect(
      rig.warnings.filter((line) => line.startsWith('renogy: power_cycle_adapter refused')),
    ).toHaveLength(1);
  }, 30_000);
});
