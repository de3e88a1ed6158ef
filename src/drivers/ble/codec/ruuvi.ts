import { fail, formatMac, hexByte } from './errors.js';
import { metaFor } from './metadata.js';
import type { BleReading, BleValue, ValueMeta } from './types.js';

// Ruuvi data format 5 ("RAWv2", ruuvi-sensor-protocols dataformat_05.md): manufacturer data of company
// 0x0499. BlueZ's Device1.ManufacturerData gives the 24 bytes after the company id; all big-endian:
//
//   0      format (5)
//   1-2    temperature      int16   × 0.005 °C          0x8000 = not available
//   3-4    humidity         uint16  × 0.0025 %          0xFFFF
//   5-6    pressure         uint16  + 50000 Pa          0xFFFF
//   7-12   acceleration x/y/z  int16 mg each            0x8000
//   13-14  power info: battery (11 bits, + 1600 mV)     2047
//                      tx power (5 bits, × 2 − 40 dBm)  31
//   15     movement counter uint8                       0xFF
//   16-17  measurement sequence uint16                  0xFFFF
//   18-23  MAC                                          FF:FF:FF:FF:FF:FF
//
// A "not available" field decodes as null, so Home Assistant shows "unknown" instead of a bogus −163.84 °C.

export const RUUVI_COMPANY_ID = 0x0499;
export const RUUVI_FORMAT_5 = 0x05;
const LENGTH = 24;

const META: Readonly<Record<string, ValueMeta>> = {
  temperature: metaFor('temperature', 'sensor'),
  humidity: metaFor('humidity', 'sensor'),
  pressure: metaFor('pressure', 'sensor'),
  acceleration_x: metaFor('acceleration_x', 'sensor'),
  acceleration_y: metaFor('acceleration_y', 'sensor'),
  acceleration_z: metaFor('acceleration_z', 'sensor'),
  voltage: metaFor('voltage', 'sensor'),
  tx_power: metaFor('tx_power', 'sensor'),
  movement_counter: metaFor('movement_counter', 'sensor'),
  measurement_sequence: metaFor('measurement_sequence', 'sensor'),
};

/**
 * Decodes Ruuvi data format 5: the 24 bytes BlueZ gives for company 0x0499, or 26 bytes that still
 * start with the company id (99 04, as in a raw advertisement dump).
 */
export function decodeRuuvi(manufacturerData: Uint8Array): BleReading {
  let data = Buffer.from(manufacturerData);
  if (data.length === LENGTH + 2 && data[0] === 0x99 && data[1] === 0x04) data = data.subarray(2);
  if (data.length === 0) fail('too_short', 'Ruuvi manufacturer data is empty');
  if (data[0] !== RUUVI_FORMAT_5) {
    fail('bad_format', `Ruuvi data format ${hexByte(data[0] ?? 0)} is not supported (only format 5, RAWv2)`);
  }
  if (data.length < LENGTH) fail('too_short', `Ruuvi format 5 is ${LENGTH} bytes, got ${data.length}`);
  if (data.length > LENGTH) fail('bad_length', `Ruuvi format 5 is ${LENGTH} bytes, got ${data.length}`);

  const unlessNa = (raw: number, na: number, value: number): number | null => (raw === na ? null : value);
  const temperature = data.readInt16BE(1);
  const humidity = data.readUInt16BE(3);
  const pressure = data.readUInt16BE(5);
  const acceleration = [7, 9, 11].map((at) => data.readInt16BE(at));
  const power = data.readUInt16BE(13);
  const battery = power >> 5;
  const txPower = power & 0x1f;
  const movement = data.readUInt8(15);
  const sequence = data.readUInt16BE(16);
  const mac = data.subarray(18, 24);

  const values: Record<string, BleValue> = {
    temperature: unlessNa(temperature, -0x8000, temperature / 200),
    humidity: unlessNa(humidity, 0xffff, humidity / 400),
    pressure: unlessNa(pressure, 0xffff, (pressure + 50000) / 100),
    acceleration_x: unlessNa(acceleration[0] ?? 0, -0x8000, (acceleration[0] ?? 0) / 1000),
    acceleration_y: unlessNa(acceleration[1] ?? 0, -0x8000, (acceleration[1] ?? 0) / 1000),
    acceleration_z: unlessNa(acceleration[2] ?? 0, -0x8000, (acceleration[2] ?? 0) / 1000),
    voltage: unlessNa(battery, 0x7ff, (battery + 1600) / 1000),
    tx_power: unlessNa(txPower, 0x1f, txPower * 2 - 40),
    movement_counter: unlessNa(movement, 0xff, movement),
    measurement_sequence: unlessNa(sequence, 0xffff, sequence),
  };
  const meta: Record<string, ValueMeta> = {};
  for (const key of Object.keys(values)) meta[key] = { ...(META[key] ?? { component: 'sensor' }) };
  const reading: BleReading = { format: 'ruuvi', values, meta, events: [], encrypted: false, warnings: [] };
  if (sequence !== 0xffff) reading.packetId = sequence;
  if (!mac.every((byte) => byte === 0xff)) reading.mac = formatMac(mac);
  return reading;
}
