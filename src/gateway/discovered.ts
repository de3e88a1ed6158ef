import { type DeviceConfig, deviceSchema, type FieldbridgeConfig } from '../config/index.js';
import { DRIVER_MODULES, DRIVERS } from '../drivers/registry.js';
import type { DiscoveredDevice } from '../persistence/index.js';
import { freeId } from '../drivers/shared/freeId.js';

// Kept until the M-Bus line scan imports it from its own folder.

// The devices the gateway runs = the config file's devices + the devices scans found (kept in the
// database), plus the devices the drivers' lines imply (an adapter device per `ble:` or `dali:` line). A
// found device never overrides a configured one: same id, or the same device configured by hand (its
// driver's sameDevice: same meter, same BLE sensor), and the configured entry wins.

/** The devices the lines imply, parsed; they go first: on their bus, the other devices start after them. */
export function impliedDevices(config: FieldbridgeConfig): DeviceConfig[] {
  const taken = new Set(config.devices.map((device) => device.id));
  return DRIVER_MODULES.flatMap((driver) =>
    (driver.config.impliedDevices?.(config, (wanted) => freeId(wanted, taken)) ?? []).map((entry) =>
      deviceSchema.parse(entry),
    ),
  );
}

/** Whether a found device is one configured by hand (same driver, and its driver says it is the same). */
function sameDevice(found: DeviceConfig, configured: DeviceConfig): boolean {
  if (found.driver !== configured.driver) return false;
  return DRIVERS[found.driver].config.sameDevice?.(found, configured) ?? false;
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
  const devices = [...impliedDevices(config), ...config.devices];
  const skipped: string[] = [];
  for (const found of discovered) {
    const parsed = deviceSchema.safeParse(found.config);
    if (!parsed.success) {
      skipped.push(
        `${found.id}: stored entry no longer valid (${parsed.error.issues[0]?.message ?? 'invalid'})`,
      );
      continue;
    }
    const device = DRIVERS[parsed.data.driver].config.updateFound?.(config, parsed.data) ?? parsed.data;
    const same = (other: DeviceConfig) => sameDevice(device, other);
    // Ids that differ only in case collide in topics and Home Assistant (see checkUniqueDeviceIds).
    const clash = devices.find((other) => other.id.toLowerCase() === device.id.toLowerCase() || same(other));
    if (clash) {
      // The same device configured by hand wins quietly; an unrelated device with the id is worth a line.
      if (!same(clash)) skipped.push(`${found.id}: the id is taken by a configured device`);
      continue;
    }
    devices.push(device);
  }
  return { config: { ...config, devices }, skipped };
}
