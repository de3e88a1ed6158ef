// `ble:` — BlueZ adapters to listen on. Each line becomes an adapter device (`ble_<adapter>`: the adapter
// brought up and watched by the watchdog), and with `auto_add` every sensor heard on it in one of the
// `formats` and near enough (`auto_add_min_rssi`), or on its `allow` list, becomes a device by itself
// (stored in the database, see src/drivers/ble/sensorDevices.ts), so a user's BTHome thermometers reach Home
// Assistant with no per-device config, and the neighbours' do not.

import { z } from 'zod';
import { macAddress, msAtLeast, nonEmptyString, offlineAfterMs } from '../../config/fields/fields.js';
import { type FieldReader, fieldsOf } from '../contract.js';

export const BLE_FORMATS = ['bthome', 'ruuvi', 'atc'] as const;
export type BleFormatName = (typeof BLE_FORMATS)[number];

/**
 * auto_add takes a sensor heard at least this strong (dBm) when the line has no allow-list: a sensor in
 * the same flat is usually heard at -40 to -75 dBm, a neighbour's through a wall or a street below it.
 */
export const DEFAULT_AUTO_ADD_MIN_RSSI = -75;

/** Ten minutes: a sensor not heard for this long is unavailable. */
export const DEFAULT_BLE_OFFLINE_AFTER_MS = 600_000;

/** A D-Bus address dbus-next can open here: a socket file (abstract sockets need usocket, left out). */
export function dbusAddress() {
  return z
    .string()
    .regex(/^unix:path=\/\S+$/, 'must be a D-Bus address like unix:path=/run/dbus/system_bus_socket');
}

/** The adapter watchdog: how often it looks, when a silent scan is stuck, when a recovery step is checked. */
export const bleWatchdogSchema = z.strictObject({
  interval_ms: msAtLeast(100).default(60_000),
  stuck_after_ms: msAtLeast(1_000).default(120_000),
  verify_after_ms: msAtLeast(100).default(15_000),
});

const bleLine = z.strictObject({
  /** The BlueZ adapter (hci0, hci1, …). */
  adapter: nonEmptyString().default('hci0'),
  /** `simulated`: a fake BlueZ with a few sensors, started inside the gateway (demo, tests). */
  transport: z.enum(['bluez', 'simulated']).default('bluez'),
  /** Another D-Bus than the system bus (tests use a private one). */
  bus_address: dbusAddress().optional(),
  /** Which sensors auto_add takes: BTHome v2, Ruuvi (data format 5), Xiaomi ATC1441/pvvx firmware. */
  formats: z
    .array(z.enum(BLE_FORMATS))
    .min(1, 'must name at least one format')
    .default(() => [...BLE_FORMATS]),
  /** Sensors heard in these formats (near enough, or allowed) become devices by themselves. */
  auto_add: z.boolean().default(true),
  /** Without an allow-list, auto_add and scans take only sensors heard at least this strong (dBm). */
  auto_add_min_rssi: z.number().int().min(-127).max(20).default(DEFAULT_AUTO_ADD_MIN_RSSI),
  /** Only these MACs are added, at any signal strength (none given: those near enough). */
  allow: z.array(macAddress()).optional(),
  /** What the sensors found here get as `offline_after_ms`. */
  offline_after_ms: offlineAfterMs().default(DEFAULT_BLE_OFFLINE_AFTER_MS),
  watchdog: bleWatchdogSchema.prefault({}),
});

export type BleLine = z.output<typeof bleLine>;

export const bleSection = z
  .array(bleLine)
  .default(() => [])
  .superRefine((lines, ctx) => {
    const seen = new Map<string, number>();
    lines.forEach((line, index) => {
      const key = `${line.transport}:${line.adapter}`;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, index);
      else {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'adapter'],
          message: `adapter ${line.adapter} (${line.transport}) is already a BLE line (ble[${first}])`,
        });
      }
    });
  });

/**
 * The bus of BLE devices and lines: one per adapter (`ble:hci0`), one for every simulated one. The one
 * rule for BLE bus ids (DriverModule.config.busOf and lines.busOf).
 */
export function bleBus(fields: FieldReader): string {
  if (fields('transport') === 'simulated') return 'ble:simulated';
  const adapter = fields('adapter');
  return `ble:${typeof adapter === 'string' ? adapter : 'hci0'}`;
}

/** The bus of a line's devices. */
export function bleLineBus(line: Pick<BleLine, 'adapter' | 'transport'>): string {
  return bleBus(fieldsOf(line));
}
