import { createActor } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import { BusRegistry } from '../src/hosting/busRegistry.js';
import type { BusEvent, BusRuntime, JsonValue } from '../src/drivers/contract.js';
import { DRIVERS } from '../src/drivers/registry.js';
import { AdapterWatch } from '../src/drivers/ble/watchdog.js';
import { bindSupervisorTree } from '../src/hosting/supervisorActors.js';
import type { AdapterCheck, WatchdogSettings } from '../src/drivers/ble/watchdogMachine.js';
import type { GatewayNotice } from '../src/machines/notices.js';
import { DEFAULT_DEVICE_POLICY, DEFAULT_SUPERVISOR_POLICY } from '../src/machines/policy.js';
import { advance, simulatedClock } from './helpers/time.js';

// The BLE adapter's recovery end to end on simulated time: the real watchdog (AdapterWatch and its
// machine) on an adapter whose scan can get stuck, the real bus supervisor with the BLE driver's
// ladder and the production supervisor policy (ladder_reset_after_ms 10 minutes). What the soak found
// (docs/RELIABILITY.md, Findings 2): a second stuck scan within ten minutes started at restart_actor,
// which cannot clear a scan that needs a power cycle, and so was never repaired.

const ADAPTER = 'ble_hci0';
const BUS = 'ble:hci0';
/** The soak's watchdog: looks every 2 s, stuck after 8 s of silence, a step checked 4 s after it. */
const WATCHDOG: WatchdogSettings = { intervalMs: 2_000, stuckAfterMs: 8_000, verifyAfterMs: 4_000 };
const STEP_MS = 100;
/** The adapter device's policy as the gateway configures it (src/drivers/ble/sensorDevices.ts): degraded at the first failure. */
const ADAPTER_POLICY = { ...DEFAULT_DEVICE_POLICY, health: { failureThreshold: 1 } };

type Clock = ReturnType<typeof simulatedClock>;

/**
 * One adapter as the watchdog sees it. Healthy, advertisements arrive all the time; stuck, Discovering
 * stays true and none arrives until a power cycle clears it (when `powerCycleHelps`). stop_discovery
 * and a new connection (restart_actor) restart discovery and nothing else, as on a wedged controller.
 */
class StuckableAdapterBus implements BusRuntime {
  readonly busId = BUS;
  powerCycleHelps = true;
  /** bluetoothd hung: no D-Bus call is answered, so checks and steps fail until it is set back. */
  hung = false;
  readonly stepsRun: string[] = [];
  #stuckSince: number | null = null;
  #discoveringSince = 0;
  readonly #watchers = new Set<(event: BusEvent) => void>();
  readonly #watch: AdapterWatch;

  constructor(private readonly clock: Clock) {
    const quiet = () => undefined;
    this.#watch = new AdapterWatch({
      adapter: 'hci0',
      deviceId: ADAPTER,
      settings: WATCHDOG,
      clock,
      check: () =>
        this.hung
          ? Promise.reject(new Error('Properties.Get(Powered) got no answer within 5000 ms'))
          : Promise.resolve(this.#check()),
      emit: (event) => {
        for (const watcher of this.#watchers) watcher(event);
      },
      log: { info: quiet, warn: quiet, debug: quiet },
    });
  }

  getStuck(): void {
    this.#stuckSince = this.clock.now();
  }

  async connect(): Promise<void> {
    await this.#wait(50);
    this.#discoveringSince = this.clock.now();
    this.#watch.start();
    // As the BLE runtime does: the adapter's state right after it connected, stuck or not.
    this.clock.setTimeout(() => void this.#watch.report(), 50);
  }

  disconnect(): Promise<void> {
    this.#watch.stop();
    return Promise.resolve();
  }

  execute(): Promise<JsonValue> {
    return Promise.reject(new Error('not used by these tests'));
  }

  watchBus(onEvent: (event: BusEvent) => void): () => void {
    this.#watchers.add(onEvent);
    return () => this.#watchers.delete(onEvent);
  }

  async runRecoveryStep(step: string): Promise<void> {
    this.stepsRun.push(step);
    this.#watch.stepStarted(step);
    await this.#wait(STEP_MS);
    if (this.hung) {
      this.#watch.stepDone(step, false);
      throw new Error(`${step}: no answer from bluetoothd`);
    }
    if (step === 'power_cycle_adapter' && this.powerCycleHelps) this.#stuckSince = null;
    this.#discoveringSince = this.clock.now();
    this.#watch.stepDone(step, true);
  }

  close(): Promise<void> {
    this.#watch.stop();
    return Promise.resolve();
  }

  #check(): AdapterCheck {
    return {
      present: true,
      powered: true,
      discovering: true,
      discoveringSince: this.#discoveringSince,
      lastAdvertisementAt: this.#stuckSince ?? this.clock.now(),
      expectsAdvertisements: true,
    };
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }
}

function bleTree() {
  const clock = simulatedClock();
  const adapter = new StuckableAdapterBus(clock);
  const registry = new BusRegistry();
  registry.define(BUS, () => adapter);
  const notices: GatewayNotice[] = [];
  const tree = bindSupervisorTree({ registry, sink: (notice) => notices.push(notice), clock });
  const root = createActor(tree.logic, {
    clock,
    input: {
      restartBackoff: DEFAULT_SUPERVISOR_POLICY.restartBackoff,
      buses: [
        {
          busId: BUS,
          driver: 'ble',
          recoverySteps: DRIVERS.ble.definition.recoverySteps,
          policy: DEFAULT_SUPERVISOR_POLICY,
          devices: [{ deviceId: ADAPTER, restart: 'permanent', policy: ADAPTER_POLICY }],
        },
      ],
    },
  });
  root.start();
  const recoveries = () =>
    notices.filter(
      (n): n is Extract<GatewayNotice, { type: 'supervisor.recovery' }> => n.type === 'supervisor.recovery',
    );
  return {
    clock,
    adapter,
    root,
    /** The steps the ladder started, in order (restart_actor included, which the supervisor runs). */
    started: () =>
      recoveries()
        .filter((r) => r.outcome === 'started')
        .map((r) => r.step),
    /** How many steps ended failed. */
    failed: () => recoveries().filter((r) => r.outcome === 'failed').length,
    /** What each completed step turned out to be: `step outcome`, in order. */
    verdicts: () =>
      recoveries()
        .filter((r) => r.outcome === 'verified' || r.outcome === 'did_not_help')
        .map((r) => `${r.step} ${r.outcome}`),
    watch: () => {
      const bus = tree.buses.get(BUS);
      if (!bus) throw new Error(`bus ${BUS} is not running`);
      return bus.getSnapshot().context.watches[ADAPTER];
    },
  };
}

let running: ReturnType<typeof bleTree> | undefined;

afterEach(() => {
  running?.root.stop();
  running = undefined;
});

describe('BLE adapter recovery: watchdog and ladder together', () => {
  it('repairs two stuck scans a minute apart the same way: stop_discovery, then power_cycle_adapter', async () => {
    const t = (running = bleTree());
    await advance(t.clock, 5_000, 100);
    expect(t.started()).toEqual([]);

    t.adapter.getStuck();
    await advance(t.clock, 30_000, 100);
    expect(t.started()).toEqual(['stop_discovery', 'power_cycle_adapter']);
    // The watchdog verified the power cycle (advertisements again): the ladder is back on its first rung.
    expect(t.watch()).toMatchObject({
      ladder: { rung: 0 },
      unverifiedStep: null,
      lastRecovery: { step: 'power_cycle_adapter', outcome: 'verified' },
    });

    // A minute after the first stuck scan, well within ladder_reset_after_ms (10 minutes).
    await advance(t.clock, 30_000, 100);
    t.adapter.getStuck();
    await advance(t.clock, 30_000, 100);
    expect(t.started()).toEqual([
      'stop_discovery',
      'power_cycle_adapter',
      'stop_discovery',
      'power_cycle_adapter',
    ]);
    expect(t.adapter.stepsRun).toEqual(t.started());
    // Said on bridge/event as it happened: the restart of discovery did not help, the power cycle did.
    expect(t.verdicts()).toEqual([
      'stop_discovery did_not_help',
      'power_cycle_adapter verified',
      'stop_discovery did_not_help',
      'power_cycle_adapter verified',
    ]);
    expect(t.watch()?.ladder).toMatchObject({
      rung: 0,
      history: { power_cycle_adapter: [expect.any(Number), expect.any(Number)] },
    });
  });

  it('a step the watchdog finds did not help never resets the ladder, not even the healthy-looking restart', async () => {
    const t = (running = bleTree());
    await advance(t.clock, 5_000, 100);
    t.adapter.powerCycleHelps = false;
    t.adapter.getStuck();
    while (!t.started().includes('restart_actor') && t.clock.now() < 60_000) await advance(t.clock, 100);
    // Neither step helped: the watchdog asked again after each, and the ladder went on to its last rung.
    expect(t.started()).toEqual(['stop_discovery', 'power_cycle_adapter', 'restart_actor']);
    expect(t.watch()?.ladder.rung).toBe(2);
    expect(t.verdicts()).toEqual(['stop_discovery did_not_help', 'power_cycle_adapter did_not_help']);
    // The restarted adapter connects and reports its state, which looks healthy until the watchdog
    // finds the scan stuck again: that is no verification, so the ladder stays on restart_actor
    // instead of starting over from stop_discovery.
    await advance(t.clock, 60_000, 100);
    const afterRestart = t.started().slice(3);
    expect(afterRestart.length).toBeGreaterThan(0);
    expect(new Set(afterRestart)).toEqual(new Set(['restart_actor']));
    expect(t.watch()).toMatchObject({ ladder: { rung: 2 }, unverifiedStep: null });
  });

  it('a hang that clears by itself ends the incident: the next stuck scan starts from stop_discovery again', async () => {
    const t = (running = bleTree());
    await advance(t.clock, 5_000, 100);
    // bluetoothd hangs: the watchdog asks for a step, stop_discovery fails (no answer), and so does
    // the power cycle it asks for next; then bluetoothd answers again and the checks pass.
    t.adapter.hung = true;
    while (t.failed() < 2 && t.clock.now() < 60_000) await advance(t.clock, 100);
    t.adapter.hung = false;
    await advance(t.clock, 20_000, 100);
    expect(t.started()).toEqual(['stop_discovery', 'power_cycle_adapter']);
    expect(t.failed()).toBe(2);
    expect(t.watch()).toMatchObject({ status: 'connected.healthy', ladder: { rung: 0 } });

    // A stuck scan a minute later is a new incident: repaired as the first one of a run is.
    await advance(t.clock, 60_000, 100);
    t.adapter.getStuck();
    await advance(t.clock, 30_000, 100);
    expect(t.started().slice(2)).toEqual(['stop_discovery', 'power_cycle_adapter']);
    expect(t.verdicts().at(-1)).toBe('power_cycle_adapter verified');
    expect(t.watch()?.ladder.rung).toBe(0);
  });
});
