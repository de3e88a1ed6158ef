import type { DeviceConfig } from '../../config/index.js';
import { DEFAULT_BLE_OFFLINE_AFTER_MS } from './lineConfig.js';
import type { JsonValue } from '../contract.js';
import { sensorMetadata } from './codec/index.js';
import { binary, type Capability, numeric, text, type ValueOptions } from '../shared/capabilities.js';

// What BLE devices offer Home Assistant, from their last state (a sensor says what it measures only
// when heard): one entity per value with the codec's device class, unit and state class, the RSSI as a
// diagnostic signal strength; the adapter device has a connectivity binary sensor (discovering) and the
// time of the last advertisement it heard.

/**
 * State keys that are not entities: not measurements, or counters that are noise to a user (Ruuvi's
 * measurement sequence counts advertisements; it stays in the state and readings, for deduplication).
 */
const NOT_VALUES = new Set([
  'format',
  'units',
  'events',
  'last_seen',
  'stale',
  'adapter',
  'powered',
  'measurement_sequence',
]);

const NAMES: Record<string, string> = {
  rssi: 'RSSI',
  pm25: 'PM2.5',
  pm10: 'PM10',
  uv_index: 'UV index',
  tx_power: 'TX power',
  volatile_organic_compounds: 'VOC',
  carbon_dioxide: 'CO₂',
};

function entityName(key: string): string {
  const suffix = /_(\d+)$/.exec(key)?.[1];
  const base = suffix === undefined ? key : key.slice(0, -suffix.length - 1);
  const name = NAMES[base] ?? base.charAt(0).toUpperCase() + base.slice(1).replace(/_/g, ' ');
  return suffix === undefined ? name : `${name} ${suffix}`;
}

function isAdapter(device: DeviceConfig): boolean {
  return device.driver === 'ble' && device.role === 'adapter';
}

/** Values only: sensors advertise, nothing is commanded or asked of them. */
export function bleCapabilities(
  device: DeviceConfig,
  state: Record<string, JsonValue> | undefined,
): Capability[] {
  if (isAdapter(device)) {
    return [
      binary('discovering', { deviceClass: 'connectivity' }),
      text('last_advertisement', { deviceClass: 'timestamp', category: 'diagnostic' }),
    ];
  }
  const units = state?.units;
  const capabilities: Capability[] = [];
  for (const [key, value] of Object.entries(state ?? {})) {
    if (NOT_VALUES.has(key) || (typeof value === 'object' && value !== null)) continue;
    const meta = sensorMetadata(key, value);
    if (meta === undefined) continue;
    const unit =
      units !== null && typeof units === 'object' && !Array.isArray(units) && typeof units[key] === 'string'
        ? units[key]
        : meta.unit;
    const options: ValueOptions = {
      name: entityName(key),
      ...(meta.deviceClass ? { deviceClass: meta.deviceClass } : {}),
      ...(unit ? { unit } : {}),
      ...(meta.stateClass ? { stateClass: meta.stateClass } : {}),
      ...(meta.diagnostic ? { category: 'diagnostic' as const } : {}),
    };
    if (meta.component === 'binary_sensor') capabilities.push(binary(key, options));
    else capabilities.push(typeof value === 'number' ? numeric(key, options) : text(key, options));
  }
  return capabilities;
}

const MODELS: Record<string, { manufacturer: string; model: string }> = {
  bthome: { manufacturer: 'BTHome', model: 'BTHome v2 sensor' },
  ruuvi: { manufacturer: 'Ruuvi', model: 'RuuviTag' },
  atc1441: { manufacturer: 'Xiaomi', model: 'Thermometer (ATC1441 firmware)' },
  pvvx: { manufacturer: 'Xiaomi', model: 'Thermometer (pvvx firmware)' },
};

/** Manufacturer and model for HA's device registry, from what the device advertised. */
export function bleModel(
  state: Record<string, JsonValue> | undefined,
): { manufacturer: string; model: string } | undefined {
  if (typeof state?.adapter === 'string') return { manufacturer: 'BlueZ', model: 'Bluetooth adapter' };
  return typeof state?.format === 'string' ? MODELS[state.format] : undefined;
}

/** A sensor unheard for its offline_after_ms is unavailable in HA; the adapter has the bridge's default. */
export function bleExpireAfterS(device: DeviceConfig): number | undefined {
  if (device.driver !== 'ble' || device.role === 'adapter') return undefined;
  const ms = device.offline_after_ms ?? DEFAULT_BLE_OFFLINE_AFTER_MS;
  return ms > 0 ? Math.ceil(ms / 1000) : undefined;
}
