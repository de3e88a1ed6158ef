import { metaFor } from './metadata.js';
import type { ValueMeta } from './types.js';

// The BTHome v2 object table (bthome.io/format): object id → name, size, encoding and factor. Names and
// factors follow bthome-ble (the Home Assistant integration's parser), so a payload decodes to the same
// keys and numbers here as in Home Assistant's own BTHome integration. All multi-byte data is
// little-endian.

export type BthomeKind =
  /** An integer times a factor. */
  | 'number'
  /** One byte, 0 = off, anything else = on. */
  | 'binary'
  /** Button event: one byte, the event type. */
  | 'button'
  /** Dimmer event: event type, then the number of steps. */
  | 'dimmer'
  /** Length byte, then UTF-8. */
  | 'text'
  /** Length byte, then bytes (reported as hex). */
  | 'raw'
  /** uint32 seconds since 1970 (UTC). */
  | 'timestamp'
  /** 0x00: uint8, for dropping repeated advertisements; reported in BleReading.packetId. */
  | 'packet_id'
  /** 0xF0: uint16, reported in BleReading.deviceTypeId. */
  | 'device_type'
  /** 0xF1 (4 bytes) / 0xF2 (3 bytes): one version part per byte, most significant last. */
  | 'firmware';

export interface BthomeObject {
  id: number;
  /** The value's key in BleReading.values (before any _1/_2 suffix); for events, the event's key. */
  key: string;
  kind: BthomeKind;
  /** Data bytes after the id; 0 for text and raw, whose first data byte is their length. */
  length: number;
  signed: boolean;
  /**
   * value = raw × factor. Kept as an integer numerator over a power of ten (0.35 = 35 / 100) so the
   * division is exact: 1346067 / 100 gives 13460.67, where 1346067 × 0.01 gives 13460.670000000002.
   */
  numerator: number;
  denominator: number;
  meta?: ValueMeta;
}

function decimals(factor: number): number {
  let places = 0;
  while (Math.round(factor * 10 ** places) !== factor * 10 ** places && places < 9) places++;
  return places;
}

function numberObject(
  id: number,
  key: string,
  length: number,
  factor: number,
  signed: boolean,
  unit: string | undefined,
): BthomeObject {
  const denominator = 10 ** decimals(factor);
  const numerator = Math.round(factor * denominator);
  return {
    id,
    key,
    kind: 'number',
    length,
    signed,
    numerator,
    denominator,
    meta: metaFor(key, 'sensor', unit),
  };
}

function binaryObject(id: number, key: string): BthomeObject {
  const meta = metaFor(key, 'binary_sensor');
  return { id, key, kind: 'binary', length: 1, signed: false, numerator: 1, denominator: 1, meta };
}

function special(id: number, key: string, kind: BthomeKind, length: number): BthomeObject {
  const meta = kind === 'text' || kind === 'raw' || kind === 'timestamp' ? metaFor(key, 'sensor') : undefined;
  const object: BthomeObject = { id, key, kind, length, signed: false, numerator: 1, denominator: 1 };
  if (meta) object.meta = meta;
  return object;
}

/** Unsigned and signed numbers; the unit only where it differs from the name's usual one. */
const n = (id: number, key: string, length: number, factor = 1, unit?: string): BthomeObject =>
  numberObject(id, key, length, factor, false, unit);
const s = (id: number, key: string, length: number, factor = 1, unit?: string): BthomeObject =>
  numberObject(id, key, length, factor, true, unit);

const OBJECTS: readonly BthomeObject[] = [
  special(0x00, 'packet_id', 'packet_id', 1),
  n(0x01, 'battery', 1),
  s(0x02, 'temperature', 2, 0.01),
  n(0x03, 'humidity', 2, 0.01),
  n(0x04, 'pressure', 3, 0.01),
  n(0x05, 'illuminance', 3, 0.01),
  n(0x06, 'mass', 2, 0.01, 'kg'),
  n(0x07, 'mass', 2, 0.01, 'lb'),
  s(0x08, 'dew_point', 2, 0.01),
  n(0x09, 'count', 1),
  n(0x0a, 'energy', 3, 0.001),
  n(0x0b, 'power', 3, 0.01),
  n(0x0c, 'voltage', 2, 0.001),
  n(0x0d, 'pm25', 2),
  n(0x0e, 'pm10', 2),
  binaryObject(0x0f, 'generic'),
  binaryObject(0x10, 'power'),
  binaryObject(0x11, 'opening'),
  n(0x12, 'carbon_dioxide', 2),
  n(0x13, 'volatile_organic_compounds', 2),
  n(0x14, 'moisture', 2, 0.01),
  binaryObject(0x15, 'battery'),
  binaryObject(0x16, 'battery_charging'),
  binaryObject(0x17, 'carbon_monoxide'),
  binaryObject(0x18, 'cold'),
  binaryObject(0x19, 'connectivity'),
  binaryObject(0x1a, 'door'),
  binaryObject(0x1b, 'garage_door'),
  binaryObject(0x1c, 'gas'),
  binaryObject(0x1d, 'heat'),
  binaryObject(0x1e, 'light'),
  binaryObject(0x1f, 'lock'),
  binaryObject(0x20, 'moisture'),
  binaryObject(0x21, 'motion'),
  binaryObject(0x22, 'moving'),
  binaryObject(0x23, 'occupancy'),
  binaryObject(0x24, 'plug'),
  binaryObject(0x25, 'presence'),
  binaryObject(0x26, 'problem'),
  binaryObject(0x27, 'running'),
  binaryObject(0x28, 'safety'),
  binaryObject(0x29, 'smoke'),
  binaryObject(0x2a, 'sound'),
  binaryObject(0x2b, 'tamper'),
  binaryObject(0x2c, 'vibration'),
  binaryObject(0x2d, 'window'),
  n(0x2e, 'humidity', 1),
  n(0x2f, 'moisture', 1),
  special(0x3a, 'button', 'button', 1),
  special(0x3c, 'dimmer', 'dimmer', 2),
  n(0x3d, 'count', 2),
  n(0x3e, 'count', 4),
  s(0x3f, 'rotation', 2, 0.1),
  n(0x40, 'distance', 2, 1, 'mm'),
  n(0x41, 'distance', 2, 0.1, 'm'),
  n(0x42, 'duration', 3, 0.001),
  n(0x43, 'current', 2, 0.001),
  n(0x44, 'speed', 2, 0.01),
  s(0x45, 'temperature', 2, 0.1),
  n(0x46, 'uv_index', 1, 0.1),
  n(0x47, 'volume', 2, 0.1, 'L'),
  n(0x48, 'volume', 2, 1, 'mL'),
  n(0x49, 'volume_flow_rate', 2, 0.001),
  n(0x4a, 'voltage', 2, 0.1),
  n(0x4b, 'gas', 3, 0.001),
  n(0x4c, 'gas', 4, 0.001),
  n(0x4d, 'energy', 4, 0.001),
  n(0x4e, 'volume', 4, 0.001, 'L'),
  n(0x4f, 'water', 4, 0.001),
  special(0x50, 'timestamp', 'timestamp', 4),
  n(0x51, 'acceleration', 2, 0.001),
  n(0x52, 'gyroscope', 2, 0.001),
  special(0x53, 'text', 'text', 0),
  special(0x54, 'raw', 'raw', 0),
  n(0x55, 'volume_storage', 4, 0.001),
  n(0x56, 'conductivity', 2),
  s(0x57, 'temperature', 1),
  s(0x58, 'temperature', 1, 0.35),
  s(0x59, 'count', 1),
  s(0x5a, 'count', 2),
  s(0x5b, 'count', 4),
  s(0x5c, 'power', 4, 0.01),
  s(0x5d, 'current', 2, 0.001),
  n(0x5e, 'direction', 2, 0.01),
  n(0x5f, 'precipitation', 2, 0.1),
  n(0x60, 'channel', 1),
  n(0x61, 'rotational_speed', 2),
  s(0x62, 'speed', 4, 0.000001),
  s(0x63, 'acceleration', 4, 0.000001),
  n(0x64, 'light_level', 1),
  special(0xf0, 'device_type_id', 'device_type', 2),
  special(0xf1, 'firmware_version', 'firmware', 4),
  special(0xf2, 'firmware_version', 'firmware', 3),
];

/** Object id → definition. */
export const BTHOME_OBJECTS: ReadonlyMap<number, BthomeObject> = new Map(
  OBJECTS.map((object) => [object.id, object]),
);

/** Button event codes (object 0x3A); 0x00 means "no event" (a multi-button device's idle buttons). */
export const BUTTON_EVENTS: ReadonlyMap<number, string> = new Map([
  [0x00, 'none'],
  [0x01, 'press'],
  [0x02, 'double_press'],
  [0x03, 'triple_press'],
  [0x04, 'long_press'],
  [0x05, 'long_double_press'],
  [0x06, 'long_triple_press'],
  [0x80, 'hold_press'],
]);

/** Dimmer event codes (object 0x3C); the second byte is the number of steps turned. */
export const DIMMER_EVENTS: ReadonlyMap<number, string> = new Map([
  [0x00, 'none'],
  [0x01, 'rotate_left'],
  [0x02, 'rotate_right'],
]);
