import { fail } from '../codec/errors.js';
import { encodeFrame } from '../codec/frames.js';
import { C_FIELD, CI_FIELD, type SecondaryAddress, secondaryAddressBytes } from '../codec/master.js';
import type { DataCoding, RecordFunction, SimRecord } from './meters.js';

// The meter's side of the application layer (EN 13757-3): a RSP_UD long frame with CI 72 (variable data
// structure), its 12-byte header and the DIF/VIF records. The decoder in codec/ reads the same bytes; the
// two are written independently on purpose, so a mistake in one shows up as a failing test of the other.

/** The 72 header after the 8 bytes of the secondary address. */
export interface TelegramHeader {
  address: SecondaryAddress;
  accessNumber: number;
  /** Status byte: 0 = no error. */
  status: number;
}

/** DIF 1F as the last record: the meter has more records, ask again (toggled FCB) for the next telegram. */
export const MORE_RECORDS_FOLLOW = 0x1f;
const HEADER_BYTES = 12;
/** A long frame carries at most 252 data bytes: the header, the records and the 1F marker must fit. */
export const MAX_RECORD_BYTES = 252 - HEADER_BYTES - 1;

const CODING: Record<DataCoding, { dif: number; bytes: number }> = {
  int16: { dif: 0x02, bytes: 2 },
  int24: { dif: 0x03, bytes: 3 },
  int32: { dif: 0x04, bytes: 4 },
  bcd8: { dif: 0x0c, bytes: 4 },
  date: { dif: 0x02, bytes: 2 }, // type G
  datetime: { dif: 0x04, bytes: 4 }, // type F
};

const FUNCTION_BITS: Record<RecordFunction, number> = {
  instantaneous: 0x00,
  maximum: 0x10,
  minimum: 0x20,
  error: 0x30,
};

/** DIF and DIFEs: the storage number's lowest bit lives in the DIF, the rest and the tariff in DIFEs. */
function encodeDif(record: SimRecord): number[] {
  const { storage, tariff } = record;
  if (!Number.isInteger(storage) || storage < 0 || storage > 0x1ff) {
    fail('bad_argument', `${record.name}: storage number must be 0-511, got ${storage}`);
  }
  if (!Number.isInteger(tariff) || tariff < 0 || tariff > 3) {
    fail('bad_argument', `${record.name}: tariff must be 0-3 (one DIFE), got ${tariff}`);
  }
  const dif = CODING[record.coding].dif | FUNCTION_BITS[record.function] | ((storage & 1) << 6);
  const upperStorage = storage >> 1;
  if (upperStorage === 0 && tariff === 0) return [dif];
  // One DIFE holds 4 more storage bits and 2 tariff bits; enough for every record the meters send.
  if (upperStorage > 0x0f) {
    fail('bad_argument', `${record.name}: storage number ${storage} needs more than one DIFE`);
  }
  return [dif | 0x80, upperStorage | (tariff << 4)];
}

function encodeInteger(raw: number, bytes: number): Buffer {
  // Out-of-range values are clamped: a meter shows its maximum rather than a wrapped, wrong sign.
  const limit = 2 ** (8 * bytes - 1);
  const clamped = Math.min(limit - 1, Math.max(-limit, raw));
  const out = Buffer.alloc(bytes);
  out.writeIntLE(clamped, 0, bytes);
  return out;
}

function encodeBcd(raw: number, bytes: number): Buffer {
  // A BCD register rolls over like the mechanical counter it imitates.
  let rest = Math.max(0, raw) % 10 ** (2 * bytes);
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) {
    const pair = rest % 100;
    out[i] = ((Math.floor(pair / 10) << 4) | (pair % 10)) & 0xff;
    rest = Math.floor(rest / 100);
  }
  return out;
}

/** Year, month, day of a date type G or F: years 2000-2099 only (the hundred-year bits stay 0). */
function dateBytes(date: Date): [number, number] {
  const year = Math.min(99, Math.max(0, date.getUTCFullYear() - 2000));
  return [date.getUTCDate() | ((year & 0x07) << 5), (date.getUTCMonth() + 1) | ((year & 0x78) << 1)];
}

function encodeValue(record: SimRecord): Buffer {
  const { coding, value } = record;
  if (coding === 'date') return Buffer.from(dateBytes(new Date(value)));
  if (coding === 'datetime') {
    // Type F: minute, hour, then the type G date; UTC so a test's expectation does not depend on TZ.
    const date = new Date(value);
    return Buffer.from([date.getUTCMinutes(), date.getUTCHours(), ...dateBytes(date)]);
  }
  const raw = Math.round(value / 10 ** record.exponent);
  const { bytes } = CODING[coding];
  return coding === 'bcd8' ? encodeBcd(raw, bytes) : encodeInteger(raw, bytes);
}

/** The bytes of one data record: DIF, DIFEs, VIF, VIFEs, data. */
export function encodeRecord(record: SimRecord): Buffer {
  if (record.vif.length === 0) fail('bad_argument', `${record.name}: a record needs a VIF`);
  return Buffer.concat([Buffer.from(encodeDif(record)), Buffer.from(record.vif), encodeValue(record)]);
}

/** The 12-byte header of CI 72: id, manufacturer, version, medium, access number, status, signature. */
export function encodeHeader(header: TelegramHeader): Buffer {
  const bytes = Buffer.alloc(HEADER_BYTES);
  secondaryAddressBytes(header.address).copy(bytes, 0);
  bytes[8] = header.accessNumber & 0xff;
  bytes[9] = header.status & 0xff;
  // Signature 0000: no encryption.
  return bytes;
}

/**
 * Groups encoded records into telegrams: at most `maxRecords` each (0 = no limit) and never more than
 * fits in a long frame. Always at least one telegram, possibly with no records.
 */
export function splitTelegrams(records: readonly Buffer[], maxRecords: number): Buffer[][] {
  const telegrams: Buffer[][] = [];
  let current: Buffer[] = [];
  let size = 0;
  for (const record of records) {
    if (record.length > MAX_RECORD_BYTES)
      fail('bad_argument', `a record of ${record.length} bytes never fits`);
    const full = maxRecords > 0 && current.length >= maxRecords;
    if (current.length > 0 && (full || size + record.length > MAX_RECORD_BYTES)) {
      telegrams.push(current);
      current = [];
      size = 0;
    }
    current.push(record);
    size += record.length;
  }
  telegrams.push(current);
  return telegrams;
}

/** A whole RSP_UD frame from the meter at primary `address`. */
export function encodeRspUd(
  address: number,
  header: TelegramHeader,
  records: readonly Buffer[],
  moreRecordsFollow: boolean,
): Buffer {
  const parts = [encodeHeader(header), ...records];
  if (moreRecordsFollow) parts.push(Buffer.from([MORE_RECORDS_FOLLOW]));
  return encodeFrame({
    kind: 'long',
    c: C_FIELD.RSP_UD,
    a: address,
    ci: CI_FIELD.VARIABLE_DATA,
    data: Buffer.concat(parts),
  });
}
