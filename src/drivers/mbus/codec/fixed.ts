import { fail } from './errors.js';
import { bcdIdentifier } from './header.js';
import type { MbusRecord, MbusSlaveInfo } from './types.js';
import { bcdDigits, bcdNumber, isDecimalBcd, signedInteger } from './values.js';

// The fixed data structure (CI 73, EN 1434-3 / the old M-Bus standard): 16 bytes with two counters.
//
//   id (4 BCD)  access number  status  counter 1 type  counter 2 type  counter 1 (4)  counter 2 (4)
//
// Status bit 7: counters binary (1) or BCD (0); bit 6: values stored at a fixed date (1) or actual (0).
// The medium is spread over the top two bits of both type bytes; the low 6 bits are each counter's unit.

export const FIXED_DATA_BYTES = 16;

const MEDIA = [
  'Other',
  'Oil',
  'Electricity',
  'Gas',
  'Heat',
  'Steam',
  'Hot Water',
  'Water',
  'H.C.A.',
  'Reserved',
  'Gas Mode 2',
  'Heat Mode 2',
  'Hot Water Mode 2',
  'Water Mode 2',
  'H.C.A. Mode 2',
  'Reserved',
];

interface FixedUnit {
  /** libmbus's unit string. */
  raw: string;
  unit: string;
  quantity: string;
  exponent: number;
}

function decades(raws: string[], unit: string, quantity: string, firstExponent: number): FixedUnit[] {
  return raws.map((raw, i) => ({ raw, unit, quantity, exponent: firstExponent + i }));
}

// Index = unit code (low 6 bits of the type byte). libmbus -n prints these counters unnormalised, so
// the normalised side is ours, from the standard's table: libmbus's own table has slips (every W code
// scaled by 1, ml/h off by ten) and its unit strings swap codes 0D and 0E ("MJ", "100 kJ").
const FIXED_UNITS: FixedUnit[] = [
  { raw: 'h,m,s', unit: '', quantity: 'Time (h,m,s)', exponent: 0 },
  { raw: 'D,M,Y', unit: '', quantity: 'Date (D,M,Y)', exponent: 0 },
  ...decades(
    ['Wh', '10 Wh', '100 Wh', 'kWh', '10 kWh', '100 kWh', 'MWh', '10 MWh', '100 MWh'],
    'Wh',
    'Energy',
    0,
  ),
  ...decades(['kJ', '10 kJ', '100 kJ', 'MJ', '10 MJ', '100 MJ', 'GJ', '10 GJ', '100 GJ'], 'J', 'Energy', 3),
  ...decades(['W', '10 W', '100 W', 'kW', '10 kW', '100 kW', 'MW', '10 MW', '100 MW'], 'W', 'Power', 0),
  ...decades(
    ['kJ/h', '10 kJ/h', '100 kJ/h', 'MJ/h', '10 MJ/h', '100 MJ/h', 'GJ/h', '10 GJ/h', '100 GJ/h'],
    'J/h',
    'Power',
    3,
  ),
  ...decades(
    ['ml', '10 ml', '100 ml', 'l', '10 l', '100 l', 'm^3', '10 m^3', '100 m^3'],
    'm^3',
    'Volume',
    -6,
  ),
  ...decades(
    ['ml/h', '10 ml/h', '100 ml/h', 'l/h', '10 l/h', '100 l/h', 'm^3/h', '10 m^3/h', '100 m^3/h'],
    'm^3/h',
    'Volume flow',
    -6,
  ),
  { raw: '1e-3 °C', unit: '°C', quantity: 'Temperature', exponent: -3 },
  { raw: 'units for HCA', unit: 'Units for H.C.A.', quantity: 'H.C.A.', exponent: 0 },
  ...['reserved', 'reserved', 'reserved', 'reserved'].map((raw) => ({
    raw,
    unit: 'Reserved',
    quantity: 'Reserved',
    exponent: 0,
  })),
  { raw: 'reserved but historic', unit: '', quantity: 'historic', exponent: 0 },
  { raw: 'without units', unit: '', quantity: 'No units', exponent: 0 },
];

function counterRecord(status: number, type: number, bytes: Uint8Array): MbusRecord {
  const unit = FIXED_UNITS[type & 0x3f] ?? { raw: 'unknown', unit: '', quantity: '', exponent: 0 };
  const binary = (status & 0x80) !== 0;
  const number = binary ? signedInteger(bytes) : bcdNumber(bytes);
  const rawValue = binary || isDecimalBcd(bytes) ? number : bcdDigits(bytes);
  const value = unit.exponent >= 0 ? number * 10 ** unit.exponent : number / 10 ** -unit.exponent;
  return {
    function: status & 0x40 ? 'Stored value' : 'Actual value',
    storage_number: 0,
    tariff: 0,
    device: 0,
    unit: unit.unit,
    quantity: unit.quantity,
    value,
    raw: { value: rawValue, unit: unit.raw, scale: unit.exponent, dif: '', vif: '' },
  };
}

export function decodeFixedData(data: Uint8Array): { slave: MbusSlaveInfo; records: MbusRecord[] } {
  if (data.length !== FIXED_DATA_BYTES) {
    fail('bad_data', `fixed data structure must be ${FIXED_DATA_BYTES} bytes, got ${data.length}`);
  }
  const status = data[5] ?? 0;
  const type1 = data[6] ?? 0;
  const type2 = data[7] ?? 0;
  const slave: MbusSlaveInfo = {
    id: bcdIdentifier(data, 0),
    manufacturer: '',
    version: 0,
    product_name: '',
    medium: MEDIA[((type1 & 0xc0) >> 6) | ((type2 & 0xc0) >> 4)] ?? 'Other',
    access_number: data[4] ?? 0,
    status,
    signature: 0,
  };
  return {
    slave,
    records: [
      counterRecord(status, type1, data.subarray(8, 12)),
      counterRecord(status, type2, data.subarray(12, 16)),
    ],
  };
}
