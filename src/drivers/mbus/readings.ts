import type { JsonValue } from '../contract.js';
import type { MbusRecord } from './codec/types.js';
import type { Readout } from './master.js';

// A meter readout as fieldbridge publishes it: one flat value per record under a key a person can read
// (`energy`, `volume_flow`, `flow_temperature_max`, `energy_s1` for storage 1), the meter's identity, and
// the records themselves with unit, quantity and raw value, which Home Assistant discovery is built from.

const FUNCTION_SUFFIX: Record<string, string> = {
  'Instantaneous value': '',
  'Maximum value': '_max',
  'Minimum value': '_min',
  'Value during error state': '_error',
};

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '') || 'value'
  );
}

/** The record's key in the device state: quantity, function, then storage/tariff/subunit when not 0. */
export function recordKey(record: MbusRecord): string {
  let key = slug(record.quantity || record.function);
  key += FUNCTION_SUFFIX[record.function] ?? `_${slug(record.function)}`;
  if (record.storage_number > 0) key += `_s${record.storage_number}`;
  if (record.tariff > 0) key += `_t${record.tariff}`;
  if (record.device > 0) key += `_d${record.device}`;
  return key;
}

export type PublishedRecord = {
  key: string;
  function: string;
  storage_number: number;
  tariff: number;
  device: number;
  unit: string;
  quantity: string;
  value: number | string;
  raw: { value: number | string; unit: string; scale: number };
};

export type MeterIdentity = {
  id: string;
  secondary_address: string;
  manufacturer: string;
  medium: string;
  version: number;
  product_name: string;
};

// Type aliases, not interfaces: only aliases are assignable to JsonValue's index signature.
export type MeterReading = {
  meter: MeterIdentity;
  access_number: number;
  status: number;
  records: PublishedRecord[];
  [key: string]: JsonValue;
};

/** Keys made unique in record order: a second record with the same key gets `_2`, and so on. */
function uniqueKeys(records: readonly MbusRecord[]): string[] {
  const seen = new Map<string, number>();
  return records.map((record) => {
    const key = recordKey(record);
    const count = (seen.get(key) ?? 0) + 1;
    seen.set(key, count);
    return count === 1 ? key : `${key}_${count}`;
  });
}

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** A wall-clock time in the gateway's time zone, as ISO 8601 with the offset in force then. */
function localIso(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const zone = `${offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return (
    `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}${zone}`
  );
}

/**
 * A meter's time point as Home Assistant's `date` and `timestamp` sensors read it. M-Bus dates carry no
 * time zone: a meter's clock is set to local time, so a date and time is taken as the gateway's local
 * time and gets its UTC offset (a time in a DST gap moves forward with the clock). A date stays a date.
 * A field the meter left unset or invalid ("2000-00-00", day 0, month 13) is null: unknown in HA.
 */
export function meterTimePoint(text: string): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2}))?$/.exec(text);
  if (!match) return null;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = match
    .slice(1)
    .map((part) => Number(part ?? 0));
  const date = new Date(year, month - 1, day, hour, minute, second);
  const valid =
    date.getFullYear() === year &&
    date.getMonth() === month - 1 &&
    date.getDate() === day &&
    hour < 24 &&
    minute < 60 &&
    second < 60;
  if (!valid) return null;
  return match[4] === undefined ? text : localIso(date);
}

/** The quantities (as libmbus -n names them) that are points in time, and HA's device class for each. */
export const TIME_POINTS: Readonly<Record<string, 'timestamp' | 'date'>> = {
  'Time point (date & time)': 'timestamp',
  'Time point (date)': 'date',
};

function isTimePoint(record: { quantity: string; value: number | string }): boolean {
  return record.quantity in TIME_POINTS && typeof record.value === 'string';
}

export function meterReading(readout: Readout): MeterReading {
  const first = readout.telegrams[0];
  const slave = first?.slave;
  const records = readout.telegrams.flatMap((telegram) => telegram.records);
  const keys = uniqueKeys(records);
  const published: PublishedRecord[] = records.map((record, index) => ({
    key: keys[index] ?? recordKey(record),
    function: record.function,
    storage_number: record.storage_number,
    tariff: record.tariff,
    device: record.device,
    unit: record.unit,
    quantity: record.quantity,
    value: record.value,
    raw: { value: record.raw.value, unit: record.raw.unit, scale: record.raw.scale },
  }));
  const reading: MeterReading = {
    meter: {
      id: slave?.id ?? '',
      secondary_address: readout.secondary,
      manufacturer: slave?.manufacturer ?? '',
      medium: slave?.medium ?? '',
      version: slave?.version ?? 0,
      product_name: slave?.product_name ?? '',
    },
    access_number: slave?.access_number ?? 0,
    status: slave?.status ?? 0,
    records: published,
  };
  for (const record of published) {
    // Manufacturer-specific blobs stay in `records`; a flat value is for things worth a sensor.
    if (record.function === 'Manufacturer specific' || record.function === 'More records follow') continue;
    reading[record.key] = isTimePoint(record) ? meterTimePoint(String(record.value)) : record.value;
  }
  return reading;
}
