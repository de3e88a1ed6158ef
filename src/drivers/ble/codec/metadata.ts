import type { BleValue, HaStateClass, ValueMeta } from './types.js';

// Home Assistant metadata for every value name the BLE decoders produce. The decoders attach it to each
// reading (BleReading.meta, with the unit the value is really in: BTHome has mass in kg or lb, distance
// in mm or m, volume in L or mL under one name); sensorMetadata() answers for a bare key, with the usual
// unit, for callers that only have a stored key and value.

function sensor(
  deviceClass: string | undefined,
  unit: string | undefined,
  stateClass: HaStateClass | null = 'measurement',
  diagnostic = false,
): ValueMeta {
  const meta: ValueMeta = { component: 'sensor' };
  if (deviceClass !== undefined) meta.deviceClass = deviceClass;
  if (unit !== undefined) meta.unit = unit;
  if (stateClass !== null) meta.stateClass = stateClass;
  if (diagnostic) meta.diagnostic = true;
  return meta;
}

function binary(deviceClass: string | undefined): ValueMeta {
  return deviceClass === undefined
    ? { component: 'binary_sensor' }
    : { component: 'binary_sensor', deviceClass };
}

/** Numeric and text values by name. Device classes and units as Home Assistant's sensor platform spells them. */
const SENSORS: Readonly<Record<string, ValueMeta>> = {
  temperature: sensor('temperature', '°C'),
  dew_point: sensor('temperature', '°C'),
  humidity: sensor('humidity', '%'),
  moisture: sensor('moisture', '%'),
  pressure: sensor('pressure', 'hPa'),
  illuminance: sensor('illuminance', 'lx'),
  mass: sensor('weight', 'kg'),
  battery: sensor('battery', '%'),
  voltage: sensor('voltage', 'V'),
  current: sensor('current', 'A'),
  power: sensor('power', 'W'),
  // Meter readings: Home Assistant's energy dashboard needs total/total_increasing to build statistics.
  energy: sensor('energy', 'kWh', 'total_increasing'),
  gas: sensor('gas', 'm³', 'total_increasing'),
  water: sensor('water', 'L', 'total'),
  volume: sensor('volume', 'L', 'total'),
  precipitation: sensor('precipitation', 'mm', 'total_increasing'),
  volume_storage: sensor('volume_storage', 'L'),
  volume_flow_rate: sensor('volume_flow_rate', 'm³/h'),
  pm25: sensor('pm25', 'µg/m³'),
  pm10: sensor('pm10', 'µg/m³'),
  carbon_dioxide: sensor('carbon_dioxide', 'ppm'),
  volatile_organic_compounds: sensor('volatile_organic_compounds', 'µg/m³'),
  conductivity: sensor('conductivity', 'µS/cm'),
  distance: sensor('distance', 'mm'),
  duration: sensor('duration', 's'),
  speed: sensor('speed', 'm/s'),
  // No Home Assistant device class for these; the unit alone says what they are.
  acceleration: sensor(undefined, 'm/s²'),
  gyroscope: sensor(undefined, '°/s'),
  rotation: sensor(undefined, '°'),
  direction: sensor(undefined, '°'),
  rotational_speed: sensor(undefined, 'rpm'),
  uv_index: sensor(undefined, 'UV index'),
  count: sensor(undefined, undefined),
  channel: sensor(undefined, undefined, null),
  light_level: sensor(undefined, undefined),
  timestamp: sensor('timestamp', undefined, null),
  text: sensor(undefined, undefined, null),
  raw: sensor(undefined, undefined, null),
  // Ruuvi: acceleration in g (its own convention), radio and sequence numbers as diagnostics.
  acceleration_x: sensor(undefined, 'g'),
  acceleration_y: sensor(undefined, 'g'),
  acceleration_z: sensor(undefined, 'g'),
  movement_counter: sensor(undefined, undefined),
  measurement_sequence: sensor(undefined, undefined, null, true),
  tx_power: sensor('signal_strength', 'dBm', 'measurement', true),
  // The driver adds the advertisement's RSSI under bthome-ble's name for it.
  signal_strength: sensor('signal_strength', 'dBm', 'measurement', true),
  rssi: sensor('signal_strength', 'dBm', 'measurement', true),
};

/** On/off values by name: BTHome's binary sensors (named after their device class) and pvvx's flags. */
const BINARY_SENSORS: Readonly<Record<string, ValueMeta>> = {
  generic: binary(undefined),
  ...Object.fromEntries(
    [
      'power',
      'opening',
      'battery',
      'battery_charging',
      'carbon_monoxide',
      'cold',
      'connectivity',
      'door',
      'garage_door',
      'gas',
      'heat',
      'light',
      'lock',
      'moisture',
      'motion',
      'moving',
      'occupancy',
      'plug',
      'presence',
      'problem',
      'running',
      'safety',
      'smoke',
      'sound',
      'tamper',
      'vibration',
      'window',
    ].map((name) => [name, binary(name)]),
  ),
  reed_switch: binary(undefined),
  trigger_output: binary(undefined),
  trigger_by_thresholds: binary(undefined),
  temperature_trigger: binary(undefined),
  humidity_trigger: binary(undefined),
};

/** A copy, so a caller that adjusts its meta (a unit) cannot change the table. */
function copy(meta: ValueMeta | undefined): ValueMeta | undefined {
  return meta === undefined ? undefined : { ...meta };
}

/**
 * Home Assistant metadata for a value key the decoders produce ("temperature", "humidity_2", "door"),
 * with the unit that name usually has. A few names are both a number and an on/off value in BTHome
 * (power, battery, moisture, gas): pass the value and a boolean picks the binary_sensor. Undefined for
 * keys no decoder produces. Prefer BleReading.meta when you have the reading: it has the exact unit.
 */
export function sensorMetadata(key: string, value?: BleValue): ValueMeta | undefined {
  const name = key in SENSORS || key in BINARY_SENSORS ? key : key.replace(/_\d+$/, '');
  if (typeof value === 'boolean') return copy(BINARY_SENSORS[name]);
  return copy(SENSORS[name] ?? BINARY_SENSORS[name]);
}

/** The table entry for a name, for the decoders (throws on a typo in a decoder's own table). */
export function metaFor(name: string, component: 'sensor' | 'binary_sensor', unit?: string): ValueMeta {
  const meta = copy(component === 'sensor' ? SENSORS[name] : BINARY_SENSORS[name]);
  if (meta === undefined) throw new Error(`no ${component} metadata for "${name}"`);
  if (unit !== undefined) meta.unit = unit;
  return meta;
}
