import { z } from 'zod';
import {
  commonFields,
  identityFields,
  simulationNeedsSimulatedTransport,
} from '../../config/fields/deviceFields.js';
import {
  macAddress,
  msAtLeast,
  nonEmptyString,
  pollIntervalMs,
  whenFieldsValid,
  wholeNumber,
} from '../../config/fields/fields.js';
import type { DriverConfig, FieldReader } from '../contract.js';
import { FAMILY_TABLES, RENOGY_FAMILIES } from './codec/index.js';

// A Renogy device in the configuration file: three lines are enough (id, driver, mac); the family is
// guessed from the name the device advertises, the Modbus id found by asking (0xFF first, then the
// address register, notes §2.3). A Renogy device is connected to only when configured: one central at a
// time, so the phone app must find it free between polls.

/** Poll every minute, as renogy-bt and renogy-ha do (notes §3.4): the app gets the device in between. */
export const DEFAULT_RENOGY_POLL_MS = FAMILY_TABLES.controller.pacing.defaultPollIntervalMs;
/** Connect, services and characteristics within this (BlueZ's own LE connect gives up after ~20 s). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
/**
 * A poll is a connect plus a few paced reads (0.5 s apart, 2 s each at most): the machines' default
 * operation bound of 5 s is too short for it.
 */
const DEFAULT_OPERATION_TIMEOUTS = { poll: 60_000, set: 60_000 };

const dbusAddress = () =>
  z.string().regex(/^unix:path=\/\S+$/, 'must be a D-Bus address like unix:path=/run/dbus/system_bus_socket');

export const renogyDeviceSchema = z
  .strictObject({
    ...identityFields,
    driver: z.literal('renogy'),
    transport: z.enum(['bluez', 'simulated']).default('bluez'),
    /** The BlueZ adapter the BLE line supervises (hci0): connects on one adapter are serialised. */
    adapter: nonEmptyString().default('hci0'),
    /** The BT-1/BT-2 module's or the device's own BLE address (a simulated one gets its own). */
    mac: macAddress().optional(),
    /**
     * What is behind the module; absent: guessed from the advertised name (BT-TH-… is a controller,
     * RTMShunt… a Smart Shunt).
     */
    family: z.enum(RENOGY_FAMILIES).optional(),
    /** The Modbus id; absent: 0xFF, then the candidates of `topology`, the address register decides. */
    device_id: wholeNumber(1, 255).optional(),
    /** Several devices behind one BT-2 answer their own ids (daisy chain, Communication Hub). */
    topology: z.enum(['standalone', 'daisy_chain', 'hub']).default('standalone'),
    /** Hard bound of connect + services + characteristics. */
    connect_timeout_ms: msAtLeast(1_000).default(DEFAULT_CONNECT_TIMEOUT_MS),
    /** Another D-Bus than the system bus (tests use a private one). */
    bus_address: dbusAddress().optional(),
    ...commonFields,
    poll_interval_ms: pollIntervalMs().default(DEFAULT_RENOGY_POLL_MS),
    timeouts: commonFields.timeouts.transform((timeouts) => ({ ...DEFAULT_OPERATION_TIMEOUTS, ...timeouts })),
  })
  .superRefine(simulationNeedsSimulatedTransport, whenFieldsValid('transport', 'simulation'))
  .superRefine(
    (device, ctx) => {
      if (device.transport !== 'simulated' && device.mac === undefined) {
        ctx.addIssue({ code: 'custom', path: ['mac'], message: "is required: the BT module's BLE address" });
      }
    },
    whenFieldsValid('transport', 'mac'),
  )
  .superRefine(
    (device, ctx) => {
      if (device.family === 'shunt' && device.device_id !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['device_id'],
          message: 'a Smart Shunt speaks no Modbus: it has no device_id (remove it)',
        });
      }
    },
    whenFieldsValid('family', 'device_id'),
  );

export type RenogyDevice = z.output<typeof renogyDeviceSchema>;

/**
 * The bus of Renogy devices: one per adapter (`renogy:hci0`), whose runtime takes the adapter's
 * connected-BLE host (one D-Bus connection, one connect at a time, the BLE line's discovery paused).
 */
export function renogyBus(fields: FieldReader): string {
  if (fields('transport') === 'simulated') return 'renogy:simulated';
  const adapter = fields('adapter');
  return `renogy:${typeof adapter === 'string' ? adapter : 'hci0'}`;
}

/** The same physical device: the same module address. */
function sameRenogyDevice(a: RenogyDevice, b: RenogyDevice): boolean {
  return a.mac === b.mac && a.device_id === b.device_id;
}

export const renogyConfig: DriverConfig<RenogyDevice, never> = {
  device: renogyDeviceSchema,
  defaultTransport: 'bluez',
  busOf: renogyBus,
  sameDevice: sameRenogyDevice,
};
