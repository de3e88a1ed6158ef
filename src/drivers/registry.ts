import { describeIssues } from '../describeIssues.js';
import type { DeviceConfig, DriverName } from '../config/index.js';
import type { DriverModule, RecoveryStepSpec } from './contract.js';
import { bleDriver } from './ble/index.js';
import { daliDriver } from './dali/index.js';
import { mbusDriver } from './mbus/index.js';
import { simulatedDriver } from './simulated/index.js';

// The one place that lists the drivers. Everything outside a driver's folder reaches a driver through
// this list; adding a driver is its folder plus one line here.
//
// Every driver offers `simulated`, a protocol-level simulation of that driver in-process (M-Bus meters
// on the meter simulator, DALI lamps on a fake hasseb adapter, BLE sensors on a fake BlueZ), so the
// whole gateway runs without hardware; the `simulated` driver is the generic fault-injecting device.

export const DRIVER_MODULES: readonly DriverModule[] = [mbusDriver, daliDriver, bleDriver, simulatedDriver];

export type { DeviceValues } from './contract.js';

/** The drivers by name. */
export const DRIVERS: Record<DriverName, DriverModule> = {
  mbus: mbusDriver,
  dali: daliDriver,
  ble: bleDriver,
  simulated: simulatedDriver,
};

/** Why a command's fields are refused, or undefined when the driver accepts them. */
export function invalidCommand(
  driver: DriverName,
  operation: 'set' | 'get',
  args: unknown,
): string | undefined {
  const schema = DRIVERS[driver].commands[operation];
  if (!schema) return `driver ${driver} has no "${operation}" command`;
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
