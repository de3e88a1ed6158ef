import type { FoundMeter } from '../drivers/mbus/scan.js';
import { deviceSchema, type DeviceConfig, type FieldbridgeConfig } from '../config/index.js';
import type { DiscoveredDevice } from '../persistence/index.js';
import { bleAdapterDevices, sameBleSensor } from '../drivers/ble/sensorDevices.js';
import { daliAdapterDevices } from '../drivers/dali/adapterDevices.js';
import { freeId } from './scans.js';

// The devices the gateway runs = the config file's devices + the devices scans found (kept in the
// database), plus the adapter devices of the `ble:` lines. A found device never overrides a configured
// one: same id, or the same meter (same port and address) or BLE sensor (same MAC) configured by hand,
// and the configured entry wins.

function sameMeter(a: DeviceConfig, b: DeviceConfig): boolean {
  if (a.driver !== 'mbus' || b.driver !== 'mbus') return false;
  const address = (device: typeof a) =>
    typeof device.address === 'string' ? device.address.toUpperCase() : device.address;
  return a.port === b.port && address(a) === address(b);
}

/**
 * A found meter runs at its line's baud rate as configured now, not as it was when the scan found it:
 * one serial port has one speed (the config refuses two; a changed line must not bring them back).
 */
function atLineBaud(config: FieldbridgeConfig, device: DeviceConfig): DeviceConfig {
  if (device.driver !== 'mbus') return device;
  const line = config.mbus.find((candidate) => candidate.port === device.port);
  return line === undefined || line.baud === device.baud ? device : { ...device, baud: line.baud };
}

export interface EffectiveConfig {
  config: FieldbridgeConfig;
  /** Found devices left out, and why (logged once at start). */
  skipped: string[];
}

export function withDiscovered(
  config: FieldbridgeConfig,
  discovered: readonly DiscoveredDevice[],
): EffectiveConfig {
  // The adapter devices of the `ble:` lines go first: on their bus, sensors start after the adapter.
  const devices = [...bleAdapterDevices(config), ...daliAdapterDevices(config), ...config.devices];
  const skipped: string[] = [];
  for (const found of discovered) {
    const parsed = deviceSchema.safeParse(found.config);
    if (!parsed.success) {
      skipped.push(
        `${found.id}: stored entry no longer valid (${parsed.error.issues[0]?.message ?? 'invalid'})`,
      );
      continue;
    }
    const device = atLineBaud(config, parsed.data);
    const same = (other: DeviceConfig) => sameMeter(other, device) || sameBleSensor(other, device);
    // Ids that differ only in case collide in topics and Home Assistant (see checkUniqueDeviceIds).
    const clash = devices.find((other) => other.id.toLowerCase() === device.id.toLowerCase() || same(other));
    if (clash) {
      // The same meter or BLE sensor configured by hand wins quietly; an unrelated device with the id
      // is worth a line.
      if (!same(clash)) skipped.push(`${found.id}: the id is taken by a configured device`);
      continue;
    }
    devices.push(device);
  }
  return { config: { ...config, devices }, skipped };
}

/** A meter's device entry, as a user would write it in the config file. */
export function meterDeviceEntry(
  meter: FoundMeter,
  line: { port: string; baud: number; pollIntervalMs: number },
  takenIds: Set<string>,
  knownId?: string,
): Record<string, unknown> {
  const serial = meter.secondary.slice(0, 8);
  const id = knownId ?? freeId(`mbus_${serial}`, takenIds);
  const address = 'secondary' in meter.target ? meter.target.secondary : meter.target.primary;
  const what = [meter.manufacturer, meter.medium].filter(Boolean).join(' ') || 'M-Bus meter';
  return {
    id,
    name: `${what} ${serial}`,
    driver: 'mbus',
    port: line.port,
    baud: line.baud,
    address,
    poll_interval_ms: line.pollIntervalMs,
  };
}
