// Schema of one `devices[]` entry, discriminated on `driver`: the union of the registered drivers'
// device schemas (src/drivers/<name>/config.ts). Every device gets its effective `bus` filled in, and
// simulated ones their complete `simulation` block, so consumers never re-derive them.
//
// Built on first use, not when this module loads: the registry imports the drivers, and driver code
// may import config modules, so whichever of the two loads first must not need the other finished.

import { z } from 'zod';
import { fieldsOf } from '../drivers/contract.js';
import { DRIVER_MODULES, DRIVERS, DRIVER_NAMES, type RegisteredDriver } from '../drivers/registry.js';
import { simulationSchema } from './fields/deviceFields.js';
import { listAlternatives } from './fields/suggest.js';

export { DRIVER_NAMES } from '../drivers/registry.js';

/** A device as its driver's schema parses it (before its bus is filled in). */
type ParsedDevice = RegisteredDriver extends infer Module
  ? Module extends { config: { device: z.ZodType<infer Device> } }
    ? Device
    : never
  : never;

export type DriverName = ParsedDevice['driver'];

/** One validated device; narrow on `driver` for the driver-specific keys. */
export type DeviceConfig = ParsedDevice & { bus: string };

/** The bus a device runs on when it does not name one: its driver's rule (one sub-supervisor per physical bus). */
function defaultBus(device: ParsedDevice): string {
  return DRIVERS[device.driver].config.busOf(fieldsOf(device));
}

function completeDevice(device: ParsedDevice): DeviceConfig {
  const bus = device.bus ?? defaultBus(device);
  if (device.transport === 'simulated' && device.simulation === undefined) {
    return { ...device, bus, simulation: simulationSchema.parse({}) };
  }
  return { ...device, bus };
}

function unknownDriverMessage(device: unknown): string {
  const expectedDrivers = `expected ${listAlternatives([...DRIVER_NAMES])}`;
  const driver = typeof device === 'object' && device !== null ? Reflect.get(device, 'driver') : undefined;
  if (driver === undefined) return `is required (${expectedDrivers})`;
  return `unknown driver ${JSON.stringify(driver)} (${expectedDrivers})`;
}

function buildDeviceSchema(): z.ZodType<DeviceConfig> {
  const [first, ...rest] = DRIVER_MODULES.map((module) => module.config.device);
  if (first === undefined) throw new Error('no driver is registered');
  const union = z.discriminatedUnion('driver', [first, ...rest], {
    error: (issue) => (issue.code === 'invalid_union' ? unknownDriverMessage(issue.input) : undefined),
  });
  // The union's options are typed as any driver's device; ParsedDevice names the registered ones.
  return union.transform((device) => completeDevice(device as ParsedDevice));
}

export const deviceSchema: z.ZodType<DeviceConfig> = z.lazy(buildDeviceSchema);
