import type { EntityDescriptor } from '../bridge/entities.js';
import { describeIssues } from '../describeIssues.js';
import type { DeviceConfig, DriverName } from '../config/index.js';
import type {
  DeviceValues,
  DriverModule,
  ForgetKey,
  RecoveryStepSpec,
  ScanCapability,
  TransportCallMetric,
} from './contract.js';
import { commandSchema, entitiesOf as entitiesOfCapabilities } from './shared/capabilities.js';
import { bleDriver } from './ble/index.js';
import { daliDriver } from './dali/index.js';
import { daliCenterDriver } from './dalicenter/index.js';
import { mbusDriver } from './mbus/index.js';
import { renogyDriver } from './renogy/index.js';
import { simulatedDriver } from './simulated/index.js';

// The one place that lists the drivers. Everything outside a driver's folder reaches a driver through
// this list; adding a driver is its folder plus its import and its entry in REGISTERED here.
//
// Every driver offers `simulated`, a protocol-level simulation of that driver in-process (M-Bus meters
// on the meter simulator, DALI lamps on a fake hasseb adapter, BLE sensors on a fake BlueZ), so the
// whole gateway runs without hardware; the `simulated` driver is the generic fault-injecting device.

const REGISTERED = [
  mbusDriver,
  daliDriver,
  bleDriver,
  daliCenterDriver,
  renogyDriver,
  simulatedDriver,
] as const;

/** Each registered module with its own device and line types (the config types derive from them). */
export type RegisteredDriver = (typeof REGISTERED)[number];

export const DRIVER_MODULES: readonly DriverModule[] = REGISTERED;

/** The `driver:` values, in registry order. */
export const DRIVER_NAMES: readonly DriverName[] = REGISTERED.map((module) => module.name);

export type { DeviceValues } from './contract.js';

/** The drivers by name (every DriverName is the name of a registered module: it derives from them). */
export const DRIVERS = Object.fromEntries(
  DRIVER_MODULES.map((module) => [module.name, module] as const),
) as Readonly<Record<DriverName, DriverModule>>;

/** The Home Assistant entities of a device, from its driver's capabilities and its last state. */
export function entitiesOf(device: DeviceConfig, state: DeviceValues | undefined): EntityDescriptor[] {
  return entitiesOfCapabilities(DRIVERS[device.driver].capabilities(device, state));
}

/**
 * Why a command's fields are refused, or undefined when the device accepts them: checked before the
 * command is queued, so an out-of-range value is an error answer, never a clamp or a retry, and a field
 * no capability of the device offers is refused.
 */
export function invalidCommand(
  device: DeviceConfig,
  operation: 'set' | 'get',
  args: unknown,
): string | undefined {
  const schema = commandSchema(DRIVERS[device.driver].capabilities(device, undefined), operation);
  if (!schema) return `driver ${device.driver} has no "${operation}" command`;
  const result = schema.safeParse(args);
  return result.success ? undefined : describeIssues(result.error, 'field');
}

/** The recovery ladder of a device's bus: its driver's, or the device's own (TCP M-Bus lines). */
export function recoveryStepsFor(device: DeviceConfig): readonly RecoveryStepSpec[] {
  const driver = DRIVERS[device.driver];
  return driver.recoveryStepsFor?.(device) ?? driver.definition.recoverySteps;
}

/** Why a device cannot run in this build, or undefined when its driver and transport are available. */
export function unavailableTransport(device: DeviceConfig): string | undefined {
  const entry = DRIVERS[device.driver];
  if (entry.transports[device.transport]) return undefined;
  const available = Object.keys(entry.transports).join(', ');
  return `transport "${device.transport}" of driver ${device.driver} is not available in this version of fieldbridge (available: ${available})`;
}

/** The driver of a `driver:` value read from a config not validated yet; undefined for an unknown one. */
export function driverNamed(name: unknown): DriverModule | undefined {
  return DRIVER_MODULES.find((module) => module.name === name);
}

/**
 * What a found device (its stored config entry) is remembered by when it is removed on request: its
 * driver and that driver's forget key (DriverModule.forgetKey); undefined when its driver keeps none.
 */
export function forgetKeyOf(
  found: Readonly<Record<string, unknown>>,
): { driver: string; key: ForgetKey } | undefined {
  const driver = driverNamed(found.driver);
  const key = driver?.forgetKey?.(found);
  return driver && key ? { driver: driver.name, key } : undefined;
}

/** The series of the drivers whose transport calls have one of their own (GatewayMetrics), by driver. */
export function transportCallMetrics(): Record<string, TransportCallMetric> {
  return Object.fromEntries(
    DRIVER_MODULES.flatMap((driver) =>
      driver.transportCallMetric ? [[driver.name, driver.transportCallMetric] as const] : [],
    ),
  );
}

// --- scans

/** The drivers whose lines can be scanned (`bridge/request/scan`, `POST /trigger-scan`), by name. */
export function scannableDrivers(): string[] {
  return DRIVER_MODULES.filter((driver) => driver.scan).map((driver) => driver.name);
}

/** How a driver's lines are scanned, or undefined when its devices cannot be found by a scan. */
export function scanCapabilityOf(driver: string): ScanCapability | undefined {
  return DRIVER_MODULES.find((candidate) => candidate.name === driver)?.scan;
}
