import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { deviceSchema, type DeviceConfig, MASK, maskSecrets, parseConfig } from '../src/config/index.js';
import { type DemoEnvironment, demoConfig, demoConfigYaml } from '../src/config/demo.js';
import { isSecretPath } from '../src/config/mask.js';
import {
  type BusEvent,
  type BusRuntime,
  type DriverModule,
  RESTART_ACTOR_STEP,
} from '../src/drivers/contract.js';
import { DRIVER_MODULES, DRIVERS, recoveryStepsFor } from '../src/drivers/registry.js';
import { SIMULATED_ADAPTER, simulatedBluezOf } from '../src/drivers/shared/bluez/simulator/perGateway.js';
import { simulatedDaliAdaptersOf } from '../src/drivers/dali/simulatedAdapters.js';
import { simulatedDaliCentersOf } from '../src/drivers/dalicenter/simulatedGateways.js';
import { GatewayOpenContext } from '../src/hosting/openContext.js';
import { SimulatedBusRuntime } from '../src/drivers/shared/simulatedRuntime.js';
import { eventually } from './helpers/eventually.js';
import { settle, simulatedClock } from './helpers/time.js';

// The driver contract (issue 17): every driver in the registry, the generic simulated one included,
// goes through the same invariants on its `simulated` transport (the in-process simulators: M-Bus
// meters, a fake hasseb adapter, a fake BlueZ on a private dbus-daemon). A new driver is picked up
// from DRIVER_MODULES by itself; it gets a SIMULATORS entry when its simulator can do something the
// driver reports unasked (so the watcher invariants see events) or keeps state per bus.

/** What this test knows of a driver's simulator (test-side knowledge: the contract has no such hook). */
interface SimulatorHarness {
  /**
   * The devices of the bus the invariants run on, as `devices:` entries of a config file, when the
   * demo's devices of the driver leave a kind of device out (BLE's adapter device). Each one is checked.
   */
  devices?: readonly string[];
  /**
   * Makes the simulated hardware of a bus do what the driver reports unasked: an advertisement, an
   * unplug and replug. Absent for a driver that reports nothing unasked (M-Bus is master-driven).
   */
  disturb?(bus: Bus): Promise<void> | void;
  /** Whether `disturb` makes a connected device report a device event (not only a bus event). */
  deviceEvents?: boolean;
}

const SIMULATORS: Partial<Record<string, SimulatorHarness>> = {
  dali: {
    disturb: async ({ busId, context }) => {
      const adapters = simulatedDaliAdaptersOf(context).get(busId);
      if (!adapters) return;
      adapters.unplug();
      await settle();
      adapters.replug();
    },
  },
  ble: {
    devices: [
      '{ id: contract_ble_adapter, driver: ble, transport: simulated, role: adapter }',
      '{ id: demo_thermometer, driver: ble, transport: simulated }',
    ],
    // Without dbus-daemon the BLE driver's simulated transport falls back to the generic device.
    disturb: ({ runtime, device, context }) =>
      runtime instanceof SimulatedBusRuntime
        ? disturbGeneric(runtime, device.id)
        : void simulatedBluezOf(context).get(SIMULATED_ADAPTER)?.simulator.advertiseNow(),
    deviceEvents: true,
  },
  dalicenter: {
    devices: [
      '{ id: demo_dalicenter, driver: dalicenter, transport: simulated, serial: 6A242121110E, role: gateway }',
      '{ id: contract_dc_light, driver: dalicenter, transport: simulated, serial: 6A242121110E, role: light, dev_type: "0101", channel: 0, address: 0 }',
      '{ id: contract_dc_group, driver: dalicenter, transport: simulated, serial: 6A242121110E, role: group, channel: 0, group_id: 0 }',
      '{ id: contract_dc_panel, driver: dalicenter, transport: simulated, serial: 6A242121110E, role: panel, dev_type: "0304", channel: 0, address: 22 }',
    ],
    // The gateway pushes what happens on its line: a light switched at the wall, a key pressed, a reboot.
    disturb: async ({ busId, context }) => {
      const gateway = simulatedDaliCentersOf(context).get(busId);
      if (!gateway) return;
      gateway.push.lightChanged(0, { on: true, brightness: 500 });
      gateway.push.panelKey(22, 1, 'press');
      await settle();
      await gateway.reboot(50);
      await gateway.whenUp();
    },
    deviceEvents: true,
  },
  simulated: {
    disturb: ({ runtime, device }) =>
      runtime instanceof SimulatedBusRuntime ? disturbGeneric(runtime, device.id) : undefined,
    deviceEvents: true,
  },
};

function disturbGeneric(runtime: SimulatedBusRuntime, deviceId: string): void {
  runtime.pushData(deviceId, { temperature: 20 });
  runtime.unplug();
  runtime.plug();
}

/**
 * Invariants a driver does not keep yet, checked exactly like the boundary test's offenders: the
 * invariant must still fail for that driver's device (it.fails), so fixing it fails here until the
 * entry goes. Keyed by `<driver>/<device id>`.
 */
const KNOWN_GAPS: Partial<Record<string, readonly Invariant[]>> = {};

type Invariant =
  'abort' | 'disconnect' | 'close' | 'unsubscribe' | 'no events after disconnect' | 'unknown recovery step';

const DEMO: DemoEnvironment = { broker: { kind: 'embedded', port: 1883 }, available: [] };
const DEMO_WITH_BLUEZ: DemoEnvironment = { ...DEMO, available: DRIVER_MODULES.map((module) => module.name) };

/** The demo's devices of one driver. */
function demoDevices(module: DriverModule, environment = DEMO): DeviceConfig[] {
  return demoConfig(environment).devices.filter((device) => device.driver === module.name);
}

/** The devices of the bus the runtime invariants run on: the harness's, else the demo's. */
function busDevices(module: DriverModule): DeviceConfig[] {
  const entries = SIMULATORS[module.name]?.devices;
  if (!entries) return demoDevices(module);
  return parseConfig(['devices:', ...entries.map((entry) => `  - ${entry}`)].join('\n'), {}).devices;
}

const PROMPTLY_MS = 2_000;

/** Fails unless `promise` resolves or rejects within PROMPTLY_MS (real time). */
async function settlesPromptly(promise: Promise<unknown>, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), PROMPTLY_MS);
  });
  const outcome = await Promise.race([
    promise.then(
      () => 'resolved' as const,
      () => 'rejected' as const,
    ),
    late,
  ]);
  clearTimeout(timer);
  expect(outcome, `${what} still pending after ${PROMPTLY_MS} ms`).not.toBe('pending');
}

interface Bus {
  runtime: BusRuntime;
  busId: string;
  device: DeviceConfig;
  /** The devices before it on the bus, which the gateway starts first (BLE's adapter device). */
  before: readonly DeviceConfig[];
  clock: ReturnType<typeof simulatedClock>;
  /** What the gateway hands its openers (a simulated bus's fake hardware is kept per context). */
  context: GatewayOpenContext;
  harness: SimulatorHarness;
  /** Awaits `promise` while simulated time runs (a simulated device's delays are on the clock). */
  during<T>(promise: Promise<T>): Promise<T>;
}

const opened: BusRuntime[] = [];
const contexts: GatewayOpenContext[] = [];

const clocksRunning: NodeJS.Timeout[] = [];

afterEach(async () => {
  for (const timer of clocksRunning.splice(0)) clearInterval(timer);
  await Promise.all(opened.splice(0).map((runtime) => runtime.close()));
});

afterAll(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

/** One bus of the driver on its simulated transport, with `deviceId` among its devices. */
async function openBus(module: DriverModule, deviceId: string): Promise<Bus> {
  const busId = `contract:${module.name}`;
  const devices = busDevices(module);
  const device = devices.find((candidate) => candidate.id === deviceId);
  const open = module.transports.simulated;
  if (!device || !open)
    throw new Error(`driver ${module.name}: no device ${deviceId} or no simulated transport`);
  const harness = SIMULATORS[module.name] ?? {};
  const clock = simulatedClock();
  // Simulated time also runs while a test waits for what a runtime reports unasked (a BLE runtime's
  // adapter report and sensor silence are on its clock): ten times faster than real time.
  clocksRunning.push(setInterval(() => clock.increment(100), 10));
  const context = new GatewayOpenContext(clock);
  contexts.push(context);
  const runtime = await open(busId, devices, context);
  opened.push(runtime);
  const during = async <T>(promise: Promise<T>): Promise<T> => {
    let done = false;
    const watched = promise.finally(() => {
      done = true;
    });
    watched.catch(() => undefined);
    for (let turns = 0; !done && turns < 2_000; turns++) {
      clock.increment(10);
      await settle();
    }
    return watched;
  };
  const before = devices.slice(0, devices.indexOf(device));
  return { runtime, busId, device, before, clock, context, harness, during };
}

const signal = () => AbortSignal.timeout(10_000);

/** Events for `deviceId` (device events) or for the whole bus. */
const deviceEventsOf = (events: BusEvent[], deviceId: string) =>
  events.filter((event) => event.type === 'device' && event.deviceId === deviceId);

/** Connects the device, after the devices before it on its bus, as the gateway starts them. */
async function connected(bus: Bus): Promise<void> {
  for (const device of [...bus.before, bus.device])
    await bus.during(bus.runtime.connect(device.id, signal()));
}

/** Lets a disturbance reach the runtime (D-Bus signals, hotplug watches) before checking nothing came. */
const quietPeriod = () => new Promise((resolve) => setTimeout(resolve, 200));

const invariants: Record<Invariant, (module: DriverModule, deviceId: string) => Promise<void>> = {
  async abort(module, deviceId) {
    const bus = await openBus(module, deviceId);
    const { runtime, device } = bus;
    await settlesPromptly(runtime.connect(device.id, AbortSignal.abort()), 'connect, signal aborted before');
    const connecting = new AbortController();
    const connect = runtime.connect(device.id, connecting.signal);
    connecting.abort();
    await settlesPromptly(connect, 'connect, signal aborted while it runs');

    await connected(bus);
    await settlesPromptly(
      runtime.execute(device.id, 'poll', null, AbortSignal.abort()),
      'execute, signal aborted before',
    );
    const executing = new AbortController();
    const execute = runtime.execute(device.id, 'poll', null, executing.signal);
    executing.abort();
    await settlesPromptly(execute, 'execute, signal aborted while it runs');
  },

  async disconnect(module, deviceId) {
    const bus = await openBus(module, deviceId);
    const { runtime, device } = bus;
    await expect(runtime.disconnect(device.id), 'never connected').resolves.toBeUndefined();
    await connected(bus);
    await expect(runtime.disconnect(device.id)).resolves.toBeUndefined();
    await expect(runtime.disconnect(device.id), 'twice').resolves.toBeUndefined();
    await expect(runtime.disconnect('no_such_device'), 'an unknown device').resolves.toBeUndefined();
  },

  async close(module, deviceId) {
    const bus = await openBus(module, deviceId);
    const events: BusEvent[] = [];
    bus.runtime.watchBus((event) => events.push(event));
    await connected(bus);
    if (bus.harness.disturb) {
      await bus.harness.disturb(bus);
      await eventually(() => events.length > 0, { what: `an event from ${module.name}'s disturbance` });
    }
    await bus.runtime.close();
    events.length = 0;
    await bus.harness.disturb?.(bus);
    await quietPeriod();
    bus.clock.increment(600_000);
    await settle();
    expect(events, 'watcher callbacks after close').toEqual([]);
    await expect(bus.runtime.close(), 'close twice').resolves.toBeUndefined();
  },

  async unsubscribe(module, deviceId) {
    const bus = await openBus(module, deviceId);
    const stopped: BusEvent[] = [];
    const kept: BusEvent[] = [];
    const unsubscribe = bus.runtime.watchBus((event) => stopped.push(event));
    bus.runtime.watchBus((event) => kept.push(event));
    await connected(bus);
    // What came while connecting is the watcher's due (a sensor may advertise at once): only later
    // callbacks break the contract.
    const heardBefore = stopped.length;
    const keptBefore = kept.length;
    unsubscribe();
    if (bus.harness.disturb) {
      await bus.harness.disturb(bus);
      await eventually(() => kept.length > keptBefore, {
        what: `an event from ${module.name}'s disturbance`,
      });
    }
    await quietPeriod();
    expect(stopped.slice(heardBefore), 'callbacks of an unsubscribed watcher').toEqual([]);
  },

  async 'no events after disconnect'(module, deviceId) {
    const bus = await openBus(module, deviceId);
    const events: BusEvent[] = [];
    bus.runtime.watchBus((event) => events.push(event));
    await connected(bus);
    if (bus.harness.disturb && bus.harness.deviceEvents) {
      await eventually(
        async () => {
          await bus.harness.disturb?.(bus);
          await settle();
          return deviceEventsOf(events, bus.device.id).length > 0;
        },
        { what: `a device event of ${bus.device.id} while connected`, intervalMs: 100 },
      );
    }
    await bus.runtime.disconnect(bus.device.id);
    events.length = 0;
    await bus.harness.disturb?.(bus);
    await quietPeriod();
    bus.clock.increment(600_000);
    await settle();
    expect(deviceEventsOf(events, bus.device.id), 'device events after disconnect').toEqual([]);
  },

  async 'unknown recovery step'(module, deviceId) {
    const bus = await openBus(module, deviceId);
    const { runtime, device } = bus;
    await connected(bus);
    await expect(bus.during(runtime.runRecoveryStep('no_such_step', device.id, signal()))).rejects.toThrow(
      /no_such_step/,
    );
  },
};

describe.each(DRIVER_MODULES.map((module) => [module.name, module] as const))(
  'driver %s keeps the contract',
  (name, module) => {
    for (const { id } of busDevices(module)) {
      describe(id, () => {
        for (const [invariant, check] of Object.entries(invariants) as [
          Invariant,
          typeof invariants.abort,
        ][]) {
          const known = KNOWN_GAPS[`${name}/${id}`]?.includes(invariant) ?? false;
          (known ? it.fails : it)(`${invariant}${known ? ' (known gap)' : ''}`, () => check(module, id));
        }
      });
    }
  },
);

describe.each(DRIVER_MODULES.map((module) => [module.name, module] as const))(
  'driver module %s',
  (name, module) => {
    it('is registered under its name, with a simulated transport', () => {
      expect(DRIVERS[name as keyof typeof DRIVERS]).toBe(module);
      expect(module.definition.name).toBe(name);
      expect(DRIVER_MODULES.filter((other) => other.name === name)).toHaveLength(1);
      expect(Object.keys(module.transports)).toContain('simulated');
    });

    it('has demo devices that the config schema accepts, on its simulated transport', () => {
      const raw = [DEMO, DEMO_WITH_BLUEZ].flatMap((environment) => {
        const yaml = parseYaml(demoConfigYaml(environment)) as { devices: unknown[] };
        return yaml.devices.filter((device) => (device as { driver?: unknown }).driver === name);
      });
      expect(raw.length, `the demo has no device of driver ${name}`).toBeGreaterThan(0);
      for (const device of raw) {
        const parsed = deviceSchema.safeParse(device);
        expect(parsed.error?.message, JSON.stringify(device)).toBeUndefined();
        expect(parsed.data?.transport).toBe('simulated');
      }
    });

    it('climbs a recovery ladder that ends with restart_actor', () => {
      expect(module.definition.recoverySteps.at(-1)?.name).toBe(RESTART_ACTOR_STEP);
      for (const device of [...demoDevices(module), ...demoDevices(module, DEMO_WITH_BLUEZ)]) {
        expect(recoveryStepsFor(device).at(-1)?.name, device.id).toBe(RESTART_ACTOR_STEP);
      }
    });

    it('has its secret device keys masked by maskSecrets', () => {
      const keys = secretKeysOf(name);
      const [demo] = demoDevices(module);
      if (!demo) throw new Error(`the demo has no device of driver ${name}`);
      for (const key of keys) {
        const secret = SECRET_CANDIDATES.find(
          (value) => deviceSchema.safeParse({ id: 'x', driver: name, [key]: value }).success,
        );
        expect(secret, `no value of ${name}.${key} the schema accepts`).toBeDefined();
        const config = parseConfig(
          JSON.stringify({ devices: [{ id: demo.id, driver: name, transport: 'simulated', [key]: secret }] }),
          {},
        );
        const masked = JSON.stringify(maskSecrets(config));
        expect(masked, `${name}.${key}`).not.toContain(String(secret));
        expect(masked).toContain(JSON.stringify(MASK));
      }
    });
  },
);

/** Values a secret key may take (a 16-byte key in hex, a password). */
const SECRET_CANDIDATES = ['0123456789abcdef0123456789abcdef', 'contract-test-secret'];

/** The secret keys a driver declares; isSecretPath must agree with each. */
function secretKeysOf(driver: string): string[] {
  const module = DRIVER_MODULES.find((candidate) => candidate.name === driver);
  if (!module) throw new Error(`the registry has no driver ${driver}`);
  const keys = [...(module.config.secretKeys ?? [])];
  for (const key of keys) expect(isSecretPath(['devices', 0, key]), `${driver}.${key}`).toBe(true);
  return keys;
}

describe.each(DRIVER_MODULES.filter((module) => module.scan).map((module) => [module.name, module] as const))(
  'driver %s scans through the capability its runtime lends',
  (_name, module) => {
    it('lends a scan capability on its simulated bus (the gateway never asks a runtime its class)', async () => {
      const [device] = demoDevices(module);
      if (!device) throw new Error(`the demo has no device of driver ${module.name}`);
      const bus = await openBus(module, device.id);
      const lent = Object.values(bus.runtime.capabilities ?? {}).filter((capability) => capability);
      expect(lent.length, `${module.name}'s runtime lends nothing to scan with`).toBeGreaterThan(0);
    });
  },
);

describe('the secret check', () => {
  it('finds the BLE bind key (so an empty key list is not a vacuous pass everywhere)', () => {
    expect(DRIVER_MODULES.flatMap((module) => secretKeysOf(module.name))).toContain('bind_key');
  });
});
