import { BusRegistry } from '../hosting/busRegistry.js';
import { DRIVERS, recoveryStepsFor } from '../drivers/registry.js';
import {
  type DeviceConfig,
  deviceBus,
  devicePolicy,
  type FieldbridgeConfig,
  supervisorPolicy,
} from '../config/index.js';
import type { ActorInspector } from '../drivers/contract.js';
import type { GatewayClock } from '../machines/clock.js';
import type { RootSupervisorInput } from '../machines/rootSupervisor.js';

// Turns the validated config into what the supervision tree starts with: the root's input (one bus
// supervisor per bus, its devices in config order) and a registry that can open each bus.

export function groupByBus(devices: readonly DeviceConfig[]): Map<string, DeviceConfig[]> {
  const buses = new Map<string, DeviceConfig[]>();
  for (const device of devices) {
    if (!device.enabled) continue;
    const busId = deviceBus(device);
    buses.set(busId, [...(buses.get(busId) ?? []), device]);
  }
  return buses;
}

export function buildTree(
  config: FieldbridgeConfig,
  clock: GatewayClock,
  inspect?: ActorInspector,
): { input: RootSupervisorInput; registry: BusRegistry } {
  const registry = new BusRegistry();
  return { input: defineTree(config, clock, registry, inspect), registry };
}

/**
 * The root's input for `config`, with every bus's runtime factory (re)defined in `registry`; the actor
 * systems a runtime runs of its own are observed by `inspect`.
 */
export function defineTree(
  config: FieldbridgeConfig,
  clock: GatewayClock,
  registry: BusRegistry,
  inspect?: ActorInspector,
): RootSupervisorInput {
  const buses = [...groupByBus(config.devices)].map(([busId, devices]) => {
    const first = devices[0] as DeviceConfig;
    const driver = DRIVERS[first.driver];
    const open = driver.transports[first.transport];
    if (!open)
      throw new Error(
        `bus ${busId}: transport ${first.transport} of driver ${first.driver} is not available`,
      );
    registry.define(busId, () => open(busId, devices, clock, inspect));
    return {
      busId,
      driver: first.driver,
      recoverySteps: recoveryStepsFor(first),
      policy: supervisorPolicy(config, busId),
      devices: devices.map((device) => ({
        deviceId: device.id,
        restart: device.restart,
        policy: devicePolicy(config, device),
      })),
    };
  });
  return { buses, restartBackoff: supervisorPolicy(config, undefined).restartBackoff };
}
