import { fail } from '../codec/errors.js';
import { manufacturerCode as manufacturerLetters } from '../codec/header.js';
import type { SecondaryAddress } from '../codec/master.js';

// The meters the simulator plays: who they are (primary and secondary address) and what they measure.
// Readings are a pure function of the elapsed time, so a test that fixes the clock gets fixed values,
// and counters only grow, as a real meter's registers do (until they roll over, see telegram.ts).

/** Medium codes of the header (EN 13757-3 table 3). */
export const MEDIA = {
  electricity: 0x02,
  gas: 0x03,
  heat: 0x04,
  warm_water: 0x06,
  water: 0x07,
} as const;

export type Medium = keyof typeof MEDIA;
export const MEDIUM_NAMES = Object.keys(MEDIA) as Medium[];

export interface MeterSpec {
  /** Primary address at start, 0-250. */
  address: number;
  /** Identification number: 8 decimal digits. */
  id: string;
  /** Three letters (FLAG id), e.g. KAM. */
  manufacturer: string;
  version: number;
  medium: Medium;
  /** The main counter when the simulator starts: kWh for heat and electricity, m³ for water and gas. */
  start: number;
  /** Growth of the main counter per hour (so kW, or m³/h); the instantaneous values follow from it. */
  rate: number;
  /** Records per telegram; a meter with more answers in several telegrams (DIF 1F). 0: as many as fit. */
  recordsPerTelegram: number;
  /** Share (0-1) of this meter's replies that are lost, whatever the line's `noAnswer` fault. */
  lossRate?: number;
  /** When this meter starts answering after a request (ms); default the bus's turnaround or spread. */
  answerDelayMs?: number;
}

export type DataCoding = 'int16' | 'int24' | 'int32' | 'bcd8' | 'date' | 'datetime';
export type RecordFunction = 'instantaneous' | 'maximum' | 'minimum' | 'error';

/** One data record with its physical value; telegram.ts turns it into DIF/DIFE/VIF/VIFE/data bytes. */
export interface SimRecord {
  /** What it is, for logs and tests: energy, volume, power, flow, flow_temperature… */
  name: string;
  coding: DataCoding;
  /** VIF and any VIFE bytes, as sent. */
  vif: readonly number[];
  /** The wire value is round(value / 10^exponent); the value is in Wh, m³, W, m³/h, °C, K, V or A. */
  exponent: number;
  storage: number;
  tariff: number;
  function: RecordFunction;
  /** The physical value, or epoch milliseconds for date and datetime codings. */
  value: number;
}

const HOUR_MS = 3_600_000;
/** kWh per m³ and K of water near 60 °C: ties a heat meter's power, flow and temperatures together. */
const HEAT_COEFFICIENT = 1.163;
const NOMINAL_DELTA_T = 20;

/** The 16-bit manufacturer code of three letters (EN 13757-3 5.6): KAM → 0x2C2D. */
export function manufacturerCode(letters: string): number {
  if (!/^[A-Z]{3}$/.test(letters))
    fail('bad_argument', `manufacturer must be 3 letters A-Z, got "${letters}"`);
  let code = 0;
  for (const letter of letters) code = (code << 5) | (letter.charCodeAt(0) - 64);
  return code;
}

export function secondaryAddressOf(spec: MeterSpec): SecondaryAddress {
  return {
    id: spec.id,
    manufacturer: manufacturerCode(spec.manufacturer),
    version: spec.version,
    medium: MEDIA[spec.medium],
  };
}

/** What the default meters look like, cycled: one of each medium, with plausible makers and values. */
const DEFAULT_KINDS: readonly Omit<MeterSpec, 'address' | 'id'>[] = [
  // Heat meters carry the most records: split in two telegrams so multi-telegram readout is exercised.
  { medium: 'heat', manufacturer: 'KAM', version: 0x1b, start: 12_345.6, rate: 2.5, recordsPerTelegram: 5 },
  { medium: 'water', manufacturer: 'SEN', version: 0x01, start: 523.456, rate: 0.05, recordsPerTelegram: 0 },
  {
    medium: 'electricity',
    manufacturer: 'ABB',
    version: 0x02,
    start: 4_567.89,
    rate: 0.4,
    recordsPerTelegram: 0,
  },
  { medium: 'gas', manufacturer: 'ELS', version: 0x03, start: 2_345.6, rate: 0.2, recordsPerTelegram: 0 },
  {
    medium: 'warm_water',
    manufacturer: 'SEN',
    version: 0x01,
    start: 87.654,
    rate: 0.02,
    recordsPerTelegram: 0,
  },
];

/**
 * `count` meters at primary addresses 1..count, media cycling heat, water, electricity, gas, warm water,
 * ids 1234nnnn (nnnn = the address), so `1234FFFF` selects them all and `12340002` the second.
 */
export function defaultMeters(count: number): MeterSpec[] {
  if (!Number.isInteger(count) || count < 1 || count > 250) {
    fail('bad_argument', `the number of meters must be 1-250, got ${count}`);
  }
  return Array.from({ length: count }, (_, index) => defaultMeter(index + 1));
}

/** The meter defaultMeters puts at primary address `address` (0-250; 0 is a warm water meter). */
export function defaultMeter(address: number): MeterSpec {
  const kind = DEFAULT_KINDS[(address + DEFAULT_KINDS.length - 1) % DEFAULT_KINDS.length];
  if (kind === undefined) throw new Error('unreachable: DEFAULT_KINDS is not empty');
  return { ...kind, address, id: String(12_340_000 + address) };
}

/**
 * A meter that a select of `secondary` (wildcards allowed) finds, at primary address `address`: the
 * given id digits, maker, version and medium where the address names them (a medium the simulator
 * does not play, or a wildcard, keeps the default meter's), so a configured secondary address is
 * there to be read.
 */
export function meterMatching(secondary: SecondaryAddress, address: number): MeterSpec {
  const base = defaultMeter(address);
  const letters = manufacturerLetters(secondary.manufacturer & 0xff, secondary.manufacturer >> 8);
  const medium = MEDIUM_NAMES.find((name) => MEDIA[name] === secondary.medium);
  return {
    ...base,
    id: [...secondary.id].map((digit, i) => (digit === 'F' ? (base.id[i] ?? '0') : digit)).join(''),
    ...(secondary.manufacturer !== 0xffff && /^[A-Z]{3}$/.test(letters) ? { manufacturer: letters } : {}),
    ...(secondary.version !== 0xff ? { version: secondary.version } : {}),
    ...(medium ? { medium } : {}),
  };
}

/** A slow, smooth wobble (±1) so instantaneous values look alive but stay repeatable for a given time. */
function wobble(elapsedMs: number, spec: MeterSpec, periodMinutes: number): number {
  return Math.sin((2 * Math.PI * elapsedMs) / (periodMinutes * 60_000) + spec.address);
}

function record(
  name: string,
  coding: DataCoding,
  vif: readonly number[],
  exponent: number,
  value: number,
  storage = 0,
  tariff = 0,
): SimRecord {
  return { name, coding, vif, exponent, storage, tariff, function: 'instantaneous', value };
}

/** Midnight UTC of the first day of the month of `nowMs`: the "due date" historic values refer to. */
function monthStart(nowMs: number): number {
  const now = new Date(nowMs);
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
}

/**
 * The records of a meter at `nowMs`, `elapsedMs` after the simulator started. Always the same records in
 * the same order for a meter (only values change), so a multi-telegram split is stable between reads.
 */
export function meterRecords(spec: MeterSpec, elapsedMs: number, nowMs: number): SimRecord[] {
  const hours = Math.max(0, elapsedMs) / HOUR_MS;
  const counter = spec.start + spec.rate * hours;
  // The counter at the last due date: what it was at the start of the month (never below zero).
  const dueDate = monthStart(nowMs);
  const atDueDate = Math.max(0, counter - (spec.rate * Math.max(0, nowMs - dueDate)) / HOUR_MS);
  const dateTime = record('date_time', 'datetime', [0x6d], 0, nowMs);
  switch (spec.medium) {
    case 'heat': {
      const deltaT = NOMINAL_DELTA_T + 0.5 * wobble(elapsedMs, spec, 7);
      const flowTemperature = 60 + 2 * wobble(elapsedMs, spec, 11);
      const flow =
        (spec.rate / (HEAT_COEFFICIENT * NOMINAL_DELTA_T)) * (1 + 0.05 * wobble(elapsedMs, spec, 5));
      // The volume that carried the energy at the nominal temperature difference.
      const volume = counter / (HEAT_COEFFICIENT * NOMINAL_DELTA_T);
      return [
        record('energy', 'bcd8', [0x04], 1, counter * 1000), // 10 Wh steps
        record('volume', 'bcd8', [0x13], -3, volume), // litres
        record('power', 'int24', [0x2b], 0, flow * deltaT * HEAT_COEFFICIENT * 1000),
        record('flow', 'int32', [0x3b], -3, flow),
        record('flow_temperature', 'int16', [0x59], -2, flowTemperature),
        record('return_temperature', 'int16', [0x5d], -2, flowTemperature - deltaT),
        record('temperature_difference', 'int16', [0x61], -2, deltaT),
        dateTime,
        record('energy', 'bcd8', [0x04], 1, atDueDate * 1000, 1),
        record('due_date', 'date', [0x6c], 0, dueDate, 1),
      ];
    }
    case 'water':
    case 'warm_water':
      return [
        record('volume', 'bcd8', [0x13], -3, counter),
        record('flow', 'int32', [0x3b], -3, spec.rate * (1 + 0.1 * wobble(elapsedMs, spec, 3))),
        dateTime,
        record('volume', 'bcd8', [0x13], -3, atDueDate, 1),
      ];
    case 'gas':
      return [
        record('volume', 'bcd8', [0x13], -3, counter),
        dateTime,
        record('volume', 'bcd8', [0x13], -3, atDueDate, 1),
      ];
    case 'electricity': {
      const power = spec.rate * 1000 * (1 + 0.2 * wobble(elapsedMs, spec, 4));
      const voltage = 230 + 3 * wobble(elapsedMs, spec, 13);
      return [
        record('energy', 'int32', [0x03], 0, counter * 1000), // Wh
        // Day tariff: 60 % of the total, as a two-rate household meter would show it.
        record('energy', 'int32', [0x03], 0, counter * 600, 0, 1),
        record('power', 'int24', [0x2b], 0, power),
        record('voltage', 'int16', [0xfd, 0x48], -1, voltage), // VIFE 48: 0.1 V
        record('current', 'int32', [0xfd, 0x59], -3, power / voltage), // VIFE 59: mA
        dateTime,
      ];
    }
  }
}
