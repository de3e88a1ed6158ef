import { fail, hexByte } from './errors.js';
import { productName } from './productNames.js';
import { bcdDigits } from './values.js';
import type { MbusSlaveInfo } from './types.js';

// The fixed part in front of the records of a variable data structure (CI 72, EN 13757-3 §6.3):
//
//   id (4 bytes BCD, least significant first)  manufacturer (2)  version (1)  medium (1)
//   access number (1)  status (1)  signature (2)

export const VARIABLE_HEADER_BYTES = 12;

/** The 8 digits of a little-endian BCD id; a nibble above 9 stays a hex digit (as libmbus prints it). */
export function bcdIdentifier(data: Uint8Array, offset: number): string {
  return bcdDigits(data.subarray(offset, offset + 4));
}

/** The three letters of a FLAG manufacturer code: 5 bits each, 'A' = 1. */
export function manufacturerCode(low: number, high: number): string {
  const code = low | (high << 8);
  return [10, 5, 0].map((shift) => String.fromCharCode(((code >> shift) & 0x1f) + 64)).join('');
}

// libmbus's names, including its spelling, so the medium reads the same in both tools.
const MEDIUM_NAMES: Record<number, string> = {
  0x00: 'Other',
  0x01: 'Oil',
  0x02: 'Electricity',
  0x03: 'Gas',
  0x04: 'Heat: Outlet',
  0x05: 'Steam',
  0x06: 'Warm water (30-90°C)',
  0x07: 'Water',
  0x08: 'Heat Cost Allocator',
  0x09: 'Compressed Air',
  0x0a: 'Cooling load meter: Outlet',
  0x0b: 'Cooling load meter: Inlet',
  0x0c: 'Heat: Inlet',
  0x0d: 'Heat / Cooling load meter',
  0x0e: 'Bus/System',
  0x0f: 'Unknown Medium',
  0x10: 'Irrigation Water',
  0x11: 'Water Logger',
  0x12: 'Gas Logger',
  0x13: 'Gas Converter',
  0x14: 'Calorific value',
  0x15: 'Hot water (>90°C)',
  0x16: 'Cold water',
  0x17: 'Dual water',
  0x18: 'Pressure',
  0x19: 'A/D Converter',
  0x1a: 'Smoke Detector',
  0x1b: 'Ambient Sensor',
  0x1c: 'Gas Detector',
  0x20: 'Breaker: Electricity',
  0x21: 'Valve: Gas or Water',
  0x25: 'Customer Unit: Display Device',
  0x28: 'Waste Water',
  0x29: 'Garbage',
  0x30: 'Service Unit',
  0x36: 'Radio Converter: System',
  0x37: 'Radio Converter: Meter',
};

/** Codes the standard reserves; libmbus names them "Reserved" (and 1D–1F, 35, 40+ "Unknown medium"). */
const RESERVED_MEDIA = new Set([
  0x22, 0x23, 0x24, 0x26, 0x27, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x31, 0x32, 0x33, 0x34, 0x38, 0x39, 0x3a,
  0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
]);

export function mediumName(medium: number): string {
  const name = MEDIUM_NAMES[medium];
  if (name !== undefined) return name;
  if (RESERVED_MEDIA.has(medium)) return 'Reserved';
  return `Unknown medium (0x${hexByte(medium).toLowerCase()})`;
}

export function decodeVariableHeader(data: Uint8Array): MbusSlaveInfo {
  if (data.length < VARIABLE_HEADER_BYTES) {
    fail(
      'bad_data',
      `variable data header needs ${VARIABLE_HEADER_BYTES} bytes (id, manufacturer, version, medium, access number, status, signature), got ${data.length}`,
    );
  }
  const manufacturer = manufacturerCode(data[4] ?? 0, data[5] ?? 0);
  const version = data[6] ?? 0;
  const medium = data[7] ?? 0;
  return {
    id: bcdIdentifier(data, 0),
    manufacturer,
    version,
    product_name: productName({ manufacturer, version, medium, idHighByte: data[3] ?? 0 }),
    medium: mediumName(medium),
    access_number: data[8] ?? 0,
    status: data[9] ?? 0,
    signature: (data[10] ?? 0) | ((data[11] ?? 0) << 8),
  };
}
