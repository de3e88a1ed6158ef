import type { GatewayClock } from '../../src/machines/clock.js';
import { ConnectedHost } from '../../src/drivers/shared/bluez/connectedHost.js';
import type { FakeGattDevice, GattDeviceSpec } from '../../src/drivers/shared/bluez/simulator/gattDevice.js';
import { BluezSimulator } from '../../src/drivers/shared/bluez/simulator/simulator.js';
import type { RenogyDeviceSpec } from '../../src/drivers/renogy/reader.js';
import { RenogyBusRuntime } from '../../src/drivers/renogy/runtime.js';
import { SHORT_TIMEOUTS } from './gattRig.js';

// A Renogy runtime on the fake BlueZ over a private dbus-daemon, for the tests of one kind of virtual
// device: the devices added, a runtime reading them on `clock`, its log lines, cleanups registered.

/** A wall clock running `factor` times fast: a timer of `ms` fires after ms / factor real ms. */
export function fastClock(factor: number): GatewayClock {
  const origin = Date.now();
  return {
    setTimeout: (fn, ms) => setTimeout(fn, ms / factor),
    clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout),
    now: () => origin + (Date.now() - origin) * factor,
  };
}

export function renogySpec(
  deviceId: string,
  mac: string,
  extra: Partial<RenogyDeviceSpec> = {},
): RenogyDeviceSpec {
  return {
    deviceId,
    mac,
    family: undefined,
    modbusId: undefined,
    topology: 'standalone',
    connectTimeoutMs: 3_000,
    ...extra,
  };
}

export interface RenogyRuntimeRig {
  simulator: BluezSimulator;
  host: ConnectedHost;
  runtime: RenogyBusRuntime;
  devices: FakeGattDevice[];
  logs: string[];
}

export async function renogyRuntimeRig(
  cleanups: (() => Promise<void> | void)[],
  virtual: readonly GattDeviceSpec[],
  specs: readonly RenogyDeviceSpec[],
  clock: GatewayClock,
  options: { known?: boolean; onLog?: (line: string) => void } = {},
): Promise<RenogyRuntimeRig> {
  const simulator = new BluezSimulator({ sensors: [], intervalMs: 100 });
  // Not known: BlueZ has no object for them until a scan hears them.
  const devices = virtual.map((spec) => simulator.addGattDevice(spec, options.known ?? true));
  await simulator.start();
  cleanups.push(() => simulator.stop());
  const host = new ConnectedHost('hci0', {
    busAddress: () => Promise.resolve(simulator.address),
    timeouts: SHORT_TIMEOUTS,
  });
  cleanups.push(() => host.close());
  const logs: string[] = [];
  const logged = (line: string) => {
    logs.push(line);
    options.onLog?.(line);
  };
  const runtime = new RenogyBusRuntime('renogy:hci0', {
    host,
    devices: specs,
    clock,
    log: { info: logged, warn: logged, debug: () => undefined },
  });
  cleanups.push(() => runtime.close());
  return { simulator, host, runtime, devices, logs };
}

/** One poll of `id` (its bus connected first), as the reading. */
export async function pollOnce(runtime: RenogyBusRuntime, id: string): Promise<Record<string, unknown>> {
  const signal = AbortSignal.timeout(20_000);
  await runtime.connect(id, signal);
  return (await runtime.execute(id, 'poll', null, signal)) as Record<string, unknown>;
}

/** The failure kind a poll of `id` rejects with ('none' when it succeeds). */
export async function pollFailure(runtime: RenogyBusRuntime, id: string): Promise<string> {
  return runtime.execute(id, 'poll', null, AbortSignal.timeout(20_000)).then(
    () => 'none',
    (error: unknown) => (error as { kind?: string }).kind ?? String(error),
  );
}
