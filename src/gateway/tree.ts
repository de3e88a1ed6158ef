import { BusRegistry } from '../hosting/busRegistry.js';
import { DRIVERS, recoveryStepsFor } from '../drivers/registry.js';
import {
  type DeviceConfig,
  deviceBus,
  devicePolicy,
  type FieldbridgeConfig,
  supervisorPolicy,
} from '../config/index.js';
import type { GatewayOpenContext } from '../hosting/openContext.js';
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

/** The tree of `config`; its buses are opened with `context` (the gateway's clock and sinks). */
export function buildTree(
  config: FieldbridgeConfig,
  context: GatewayOpenContext,
): { input: RootSupervisorInput; registry: BusRegistry } {
  const registry = new BusRegistry(context);
  return { input: defineTree(config, registry), registry };
}

/** The root's input for `config`, with every bus's runtime factory (re)defined in `registry`. */
export function defineTree(config: FieldbridgeConfig, registry: BusRegistry): RootSupervisorInput {
  const buses = [...groupByBus(config.devices)].map(([busId, devices]) => {
    const first = devices[0] as DeviceConfig;
    const driver = DRIVERS[first.driver];
    const open = driver.transports[first.transport];
    if (!open)
      throw new Error(
        `bus ${busId}: transport ${first.transport} of driver ${first.driver} is not available`,
      );
    registry.define(busId, (context) => open(busId, devices, context));
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

/** Imports the transports the enabled devices of `config` use (see BusOpener.load). */
export async function loadTransports(config: FieldbridgeConfig): Promise<void> {
  const openers = new Set(
    config.devices.flatMap((device) =>
      device.enabled ? [DRIVERS[device.driver].transports[device.transport]] : [],
    ),
  );
  await Promise.all([...openers].map((opener) => opener?.load?.()));
}
