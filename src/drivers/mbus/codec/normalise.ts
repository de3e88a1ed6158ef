import { DIF, type RecordBlock } from './records.js';
import type { MbusRecord } from './types.js';
import { describeValue, VIF_MAIN_EXTENSION } from './vif.js';
import type { ValueMeaning } from './vifMeaning.js';
import {
  bcdDigits,
  bcdNumber,
  dateG,
  dateTimeF,
  dateTimeI,
  hexBytes,
  isDecimalBcd,
  real32,
  signedInteger,
  variableValue,
} from './values.js';

// One record block → one MbusRecord: the function, storage number, tariff and subunit from the DIF and
// DIFEs, the value from the data field, and its unit, quantity and scaling from the VIF, the way libmbus
// -n reports them.

const FUNCTIONS = ['Instantaneous value', 'Maximum value', 'Minimum value', 'Value during error state'];

/** Storage number: DIF bit 6, then 4 bits from each DIFE. Arithmetic, not bit shifts: it can pass 32 bits. */
function storageNumber(dif: number, difes: readonly number[]): number {
  let value = (dif & DIF.STORAGE_LSB) >> 6;
  let weight = 2;
  for (const dife of difes) {
    value += (dife & 0x0f) * weight;
    weight *= 16;
  }
  return value;
}

function tariff(difes: readonly number[]): number {
  return difes.reduce((value, dife, i) => value + ((dife & 0x30) >> 4) * 4 ** i, 0);
}

function subunit(difes: readonly number[]): number {
  return difes.reduce((value, dife, i) => value + ((dife & 0x40) >> 6) * 2 ** i, 0);
}

interface DecodedData {
  /** The number before scaling, or the string value. */
  raw: number | string;
  numeric: boolean;
}

function isDateTimeVif(vif: number, firstVife: number): boolean {
  if ((vif & 0x7f) === 0x6d) return true;
  // FD 30 start of tariff and FD 70 battery change are dates too; libmbus decodes them as type F/I.
  const code = firstVife & 0x7f;
  return vif === VIF_MAIN_EXTENSION && (code === 0x30 || code === 0x70);
}

function decodeData(block: RecordBlock): DecodedData {
  const { data } = block;
  const vif = block.vif ?? 0;
  const firstVife = block.vifes[0] ?? 0;
  switch (block.dif & DIF.DATA_FIELD) {
    case 0x0: // no data
    case 0x8: // selection for readout: a request, nothing to read
      return { raw: '', numeric: false };
    case 0x2:
      return (vif & 0x7f) === 0x6c ? { raw: dateG(data), numeric: false } : integer(data);
    case 0x4:
      return isDateTimeVif(vif, firstVife) ? { raw: dateTimeF(data), numeric: false } : integer(data);
    case 0x6:
      return isDateTimeVif(vif, firstVife) ? { raw: dateTimeI(data), numeric: false } : integer(data);
    case 0x1:
    case 0x3:
    case 0x7:
      return integer(data);
    case 0x5:
      return { raw: real32(data), numeric: true };
    case 0x9:
    case 0xa:
    case 0xb:
    case 0xc:
    case 0xe:
      return { raw: bcdNumber(data), numeric: true };
    case 0xd:
      return variableValue(block.lvar ?? 0, data);
    default: // 0xF: special functions, shown as bytes
      return { raw: hexBytes(data), numeric: false };
  }
}

function integer(data: Uint8Array): DecodedData {
  return { raw: signedInteger(data), numeric: true };
}

/** raw × 10^exponent, divided for negative exponents so 56108 × 10^-2 is 561.08, not 561.0800000000001. */
function scaled(raw: number, meaning: ValueMeaning): number {
  const decimal = meaning.exponent >= 0 ? raw * 10 ** meaning.exponent : raw / 10 ** -meaning.exponent;
  return decimal * meaning.multiplier + meaning.offset;
}

function manufacturerRecord(block: RecordBlock): MbusRecord {
  const bytes = hexBytes(block.data);
  return {
    function: block.kind === 'more_records_follow' ? 'More records follow' : 'Manufacturer specific',
    storage_number: 0,
    tariff: 0,
    device: 0,
    unit: '',
    quantity: '',
    value: bytes,
    raw: { value: bytes, unit: '', scale: 0, dif: hexBytes([block.dif]), vif: '' },
  };
}

export function normaliseRecord(block: RecordBlock): MbusRecord {
  if (block.kind !== 'data' || block.vif === undefined) return manufacturerRecord(block);
  const meaning = describeValue(block.vif, block.vifes, block.plainTextUnit);
  const decoded = decodeData(block);
  const bcd = (block.dif & 0x08) !== 0 && (block.dif & DIF.DATA_FIELD) !== DIF.VARIABLE_LENGTH;
  // BCD with non-decimal digits (meters mark errors with A–F): keep the digits as the meter sent them.
  const rawValue = bcd && decoded.numeric && !isDecimalBcd(block.data) ? bcdDigits(block.data) : decoded.raw;
  const value =
    typeof decoded.raw === 'number' && decoded.numeric ? scaled(decoded.raw, meaning) : decoded.raw;
  return {
    function: FUNCTIONS[(block.dif & DIF.FUNCTION) >> 4] ?? FUNCTIONS[0] ?? '',
    storage_number: storageNumber(block.dif, block.difes),
    tariff: tariff(block.difes),
    device: subunit(block.difes),
    unit: meaning.unit,
    quantity: meaning.quantity,
    value,
    raw: {
      value: rawValue,
      unit: meaning.rawUnit,
      scale: decoded.numeric ? meaning.exponent : 0,
      dif: hexBytes([block.dif, ...block.difes]),
      vif: hexBytes([block.vif, ...block.vifes]),
    },
  };
}
