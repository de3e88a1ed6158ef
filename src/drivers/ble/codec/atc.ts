import { fail, formatMac } from './errors.js';
import { metaFor } from './metadata.js';
import type { BleReading, BleValue, ValueMeta } from './types.js';

// The custom firmwares for Xiaomi LYWSD03MMC and relatives (github.com/atc1441/ATC_MiThermometer,
// github.com/pvvx/ATC_MiThermometer) advertise service data of UUID 0x181A (Environmental Sensing) in
// one of two plain layouts, told apart by length:
//
//   ATC1441, 13 bytes, big-endian           pvvx "custom", 15 bytes, little-endian
//   0-5   MAC, most significant first        0-5   MAC, least significant first
//   6-7   temperature int16 × 0.1 °C          6-7   temperature int16 × 0.01 °C
//   8     humidity uint8 %                    8-9   humidity uint16 × 0.01 %
//   9     battery uint8 %                     10-11 battery uint16 mV
//   10-11 battery uint16 mV                   12    battery uint8 %
//   12    measurement counter uint8           13    measurement counter uint8
//                                             14    flags: bit 0 reed switch input, bit 1 GPIO_TRG
//                                                   output level, bit 2 output driven by the
//                                                   thresholds, bit 3 temperature trigger, bit 4
//                                                   humidity trigger
//
// The counter changes with each new measurement, so it serves as the packet id for dropping repeats.
// pvvx's encrypted and BTHome modes are not these layouts (BTHome arrives on 0xFCD2 instead).

export const ATC_UUID16 = 0x181a;
export const ATC1441_LENGTH = 13;
export const PVVX_LENGTH = 15;

function meta(keys: readonly string[], binaryKeys: readonly string[] = []): Record<string, ValueMeta> {
  const result: Record<string, ValueMeta> = {};
  for (const key of keys) result[key] = metaFor(key, 'sensor');
  for (const key of binaryKeys) result[key] = metaFor(key, 'binary_sensor');
  return result;
}

const SENSOR_KEYS = ['temperature', 'humidity', 'battery', 'voltage'] as const;
const PVVX_FLAGS = [
  'reed_switch',
  'trigger_output',
  'trigger_by_thresholds',
  'temperature_trigger',
  'humidity_trigger',
] as const;
const ATC_META = meta(SENSOR_KEYS);
const PVVX_META = meta(SENSOR_KEYS, PVVX_FLAGS);

function reading(
  format: 'atc1441' | 'pvvx',
  values: Record<string, BleValue>,
  table: Record<string, ValueMeta>,
  mac: Uint8Array,
  counter: number,
): BleReading {
  const copied: Record<string, ValueMeta> = {};
  for (const [key, value] of Object.entries(table)) copied[key] = { ...value };
  return {
    format,
    values,
    meta: copied,
    events: [],
    packetId: counter,
    encrypted: false,
    mac: formatMac(mac),
    warnings: [],
  };
}

function checkLength(data: Uint8Array, expected: number, name: string): Buffer {
  if (data.length < expected)
    fail('too_short', `${name} service data is ${expected} bytes, got ${data.length}`);
  if (data.length > expected)
    fail('bad_length', `${name} service data is ${expected} bytes, got ${data.length}`);
  return Buffer.from(data);
}

export function decodeAtc1441(serviceData: Uint8Array): BleReading {
  const data = checkLength(serviceData, ATC1441_LENGTH, 'ATC1441');
  const values = {
    temperature: data.readInt16BE(6) / 10,
    humidity: data.readUInt8(8),
    battery: data.readUInt8(9),
    voltage: data.readUInt16BE(10) / 1000,
  };
  return reading('atc1441', values, ATC_META, data.subarray(0, 6), data.readUInt8(12));
}

export function decodePvvx(serviceData: Uint8Array): BleReading {
  const data = checkLength(serviceData, PVVX_LENGTH, 'pvvx');
  const flags = data.readUInt8(14);
  const values: Record<string, BleValue> = {
    temperature: data.readInt16LE(6) / 100,
    humidity: data.readUInt16LE(8) / 100,
    battery: data.readUInt8(12),
    voltage: data.readUInt16LE(10) / 1000,
  };
  PVVX_FLAGS.forEach((key, bit) => (values[key] = (flags & (1 << bit)) !== 0));
  return reading('pvvx', values, PVVX_META, Buffer.from(data.subarray(0, 6)).reverse(), data.readUInt8(13));
}

/** Service data of UUID 0x181A: ATC1441 (13 bytes) or pvvx custom (15 bytes). */
export function decodeAtc(serviceData: Uint8Array): BleReading {
  if (serviceData.length === ATC1441_LENGTH) return decodeAtc1441(serviceData);
  if (serviceData.length === PVVX_LENGTH) return decodePvvx(serviceData);
  const problem = serviceData.length < ATC1441_LENGTH ? 'too_short' : 'bad_length';
  return fail(
    problem,
    `service data 0x181A has ${serviceData.length} bytes; ATC1441 has 13 and pvvx 15 (encrypted formats are not supported)`,
  );
}
