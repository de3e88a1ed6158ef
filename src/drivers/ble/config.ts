import { z } from 'zod';
import {
  commonFields,
  identityFields,
  simulationNeedsSimulatedTransport,
} from '../../config/fields/deviceFields.js';
import {
  bindKey,
  macAddress,
  nonEmptyString,
  offlineAfterMs,
  whenFieldsValid,
} from '../../config/fields/fields.js';
import type { DriverConfig } from '../contract.js';
import { bleAdapterEntries } from './adapterDevices.js';
import { type BleLine, bleBus, bleSection, bleWatchdogSchema, dbusAddress } from './lineConfig.js';

// BLE in the configuration file: sensors and adapters under `devices:`, adapters under `ble:`, one bus
// per adapter.

export const bleDeviceSchema = z
  .strictObject({
    ...identityFields,
    driver: z.literal('ble'),
    transport: z.enum(['bluez', 'simulated']).default('bluez'),
    adapter: nonEmptyString().default('hci0'),
    /** `adapter`: the adapter itself (brought up, watched, recovered); absent or `sensor`: a sensor. */
    role: z.enum(['sensor', 'adapter']).optional(),
    mac: macAddress().optional(),
    bind_key: bindKey().optional(),
    /** Sensors: not heard for this long and the device is unavailable (default 10 minutes; 0: never). */
    offline_after_ms: offlineAfterMs().optional(),
    /** Adapter devices: another D-Bus than the system bus. */
    bus_address: dbusAddress().optional(),
    /** Adapter devices: the watchdog's timing. */
    watchdog: bleWatchdogSchema.optional(),
    ...commonFields,
  })
  .superRefine(simulationNeedsSimulatedTransport, whenFieldsValid('transport', 'simulation'))
  .superRefine(
    (device, ctx) => {
      const adapter = device.role === 'adapter';
      const wrong = adapter
        ? (['mac', 'bind_key', 'offline_after_ms'] as const).filter((key) => device[key] !== undefined)
        : (['bus_address', 'watchdog'] as const).filter((key) => device[key] !== undefined);
      for (const key of wrong) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: adapter
            ? 'belongs to a sensor, not to an adapter device (role: adapter)'
            : 'belongs to the adapter device (role: adapter, or a line under ble:), not to a sensor',
        });
      }
    },
    whenFieldsValid('role', 'mac', 'bind_key', 'offline_after_ms', 'bus_address', 'watchdog'),
  );

export type BleDevice = z.output<typeof bleDeviceSchema>;

/** The same physical sensor: a BLE device with this MAC (whatever adapter it was configured on). */
function sameBleSensor(a: BleDevice, b: BleDevice): boolean {
  return a.mac !== undefined && a.mac === b.mac;
}

export const bleConfig: DriverConfig<BleDevice, BleLine> = {
  device: bleDeviceSchema,
  defaultTransport: 'bluez',
  busOf: bleBus,
  lines: { schema: bleSection, busOf: bleBus },
  impliedDevices: bleAdapterEntries,
  // The AES key of an encrypted BTHome sensor.
  secretKeys: ['bind_key'],
  sameDevice: sameBleSensor,
};
