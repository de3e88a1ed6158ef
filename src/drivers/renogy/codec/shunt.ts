import { fail } from './errors.js';
import type { HaHints, Unit } from './fields.js';

// The Smart Shunt 300 (notes §4.6): no Modbus at all. It notifies on c411 unasked; a live frame starts
// with 42 57 01 19 and is 110 bytes, a history frame (42 57 01 0B) is not a reading, and a frame may come
// after a 61 D2 xx xx prefix. Offsets below count from the 42 of the header [inferred: the notes give
// frame offsets without saying whether the prefix counts; renogy-ble finds the header first].

export const SHUNT_LIVE_HEADER = Buffer.from([0x42, 0x57, 0x01, 0x19]);
export const SHUNT_HISTORY_HEADER = Buffer.from([0x42, 0x57, 0x01, 0x0b]);
export const SHUNT_FRAME_LENGTH = 110;
/**
 * How long a read waits for the first live frame after subscribing (renogy-ble's `read_device`: 3 s; the
 * shunt streams unasked, so a live one comes well within that when it works).
 */
export const SHUNT_FRAME_WAIT_MS = 3_000;

/**
 * What a field's value must lie in to be believed, and what an implausible one costs: the whole frame
 * (it is noise that happens to start with the live header: nothing in it is trusted), or only the value
 * (withheld from the reading, the rest of the frame kept).
 */
interface PlausibleRange {
  readonly min: number;
  readonly max: number;
  readonly otherwise: 'drop_frame' | 'withhold_value';
}

interface ShuntField {
  readonly key: string;
  readonly name: string;
  readonly offset: number;
  readonly bytes: 2 | 3;
  readonly signed: boolean;
  readonly scale: number;
  readonly unit: Unit;
  readonly ha: HaHints;
  /** Absent: every value the field's bytes can hold is plausible. */
  readonly plausible?: PlausibleRange;
}

const measure = (deviceClass: string): HaHints => ({ deviceClass, stateClass: 'measurement' });

// A shunt frame carries no checksum (renogy-ble: "no checksum is known for this format"), so bytes
// garbled on the way decode into numbers that look like readings. Range checks are the only defence;
// renogy-ble drops a frame whose voltage is outside 6-80 V or whose current exceeds 500 A either way,
// and leaves out a temperature outside -40..100 °C. The bounds below say why each is what it is.
// renogy-ble's third check, |V × I| over 10 kW, is not taken: a 48 V bank drawing the shunt's rated
// 300 A is over 15 kW, so it would drop real readings; the voltage and current bounds bound power anyway.

/** §4.6, renogy-bt ShuntClient and renogy-ble shunt.py; big-endian. */
export const SHUNT_FIELDS: readonly ShuntField[] = [
  {
    key: 'current',
    name: 'Current',
    offset: 21,
    bytes: 3,
    signed: true,
    scale: 0.001,
    unit: 'A',
    ha: measure('current'),
    // The Smart Shunt 300 is rated 300 A; a surge past the rating (an inverter starting) is real, so
    // the bound is renogy-ble's 500 A, with margin, not the rating itself.
    plausible: { min: -500, max: 500, otherwise: 'drop_frame' },
  },
  {
    key: 'voltage',
    name: 'Voltage',
    offset: 25,
    bytes: 3,
    signed: false,
    scale: 0.001,
    unit: 'V',
    ha: measure('voltage'),
    // A monitor of 12, 24 or 48 V banks: a 48 V bank charges to under 65 V (lead-acid equalising), so
    // 80 V (renogy-ble's bound) has margin. Below 6 V (renogy-ble's floor) no 12 V battery is left to
    // measure [inferred: the shunt is powered by the bank it measures]; an all-zero frame lands there.
    plausible: { min: 6, max: 80, otherwise: 'drop_frame' },
  },
  {
    key: 'starter_voltage',
    name: 'Starter battery voltage',
    offset: 30,
    bytes: 2,
    signed: false,
    scale: 0.001,
    unit: 'V',
    ha: measure('voltage'),
    // No bound: the field's 16 bits in mV hold 0 to 65.535 V, and every one of those a starter input
    // can read (0 V with nothing wired to it, which is optional; a 48 V bank's charge voltage at most).
  },
  {
    key: 'battery_soc',
    name: 'State of charge',
    offset: 34,
    bytes: 2,
    signed: false,
    scale: 0.1,
    unit: '%',
    ha: measure('battery'),
    // A percentage the shunt computes itself: anything past 100 % is not a state of charge.
    plausible: { min: 0, max: 100, otherwise: 'drop_frame' },
  },
  // Signed [inferred]: a battery temperature can be below 0 °C; the notes give only the scale.
  {
    key: 'battery_temperature',
    name: 'Battery temperature',
    offset: 66,
    bytes: 2,
    signed: true,
    scale: 0.1,
    unit: '°C',
    ha: measure('temperature'),
    // Where a battery can be charged or used, with margin (renogy-ble's range). Only the value is
    // withheld, as renogy-ble does, not the frame: the probe is an option [inferred], and a shunt
    // without one must still be read even if it sends some out-of-range filler here.
    plausible: { min: -40, max: 100, otherwise: 'withhold_value' },
  },
];

/** The values of one live frame (starting at its 42 57 01 19 header). */
export function decodeShuntFrame(frame: Uint8Array): Record<string, number> {
  const bytes = Buffer.from(frame);
  if (bytes.subarray(0, 4).equals(SHUNT_HISTORY_HEADER))
    fail('bad_frame', 'a Smart Shunt history frame, not a reading');
  if (!bytes.subarray(0, 4).equals(SHUNT_LIVE_HEADER))
    fail('bad_frame', 'not a Smart Shunt live frame (header 42 57 01 19)');
  if (bytes.length !== SHUNT_FRAME_LENGTH)
    fail('bad_frame', `a Smart Shunt frame is ${SHUNT_FRAME_LENGTH} bytes, got ${bytes.length}`);
  const values: Record<string, number> = {};
  for (const field of SHUNT_FIELDS) {
    const raw = field.signed
      ? bytes.readIntBE(field.offset, field.bytes)
      : bytes.readUIntBE(field.offset, field.bytes);
    values[field.key] = Number((raw * field.scale).toFixed(field.scale === 0.001 ? 3 : 1));
  }
  return values;
}

/** A decoded value no 12/24/48 V battery monitor reads (see SHUNT_FIELDS for each bound's reason). */
export interface ShuntImplausibility {
  /** The field. */
  readonly key: string;
  readonly value: number;
  /** Whether it cost the whole frame or only this value. */
  readonly otherwise: PlausibleRange['otherwise'];
  /** "voltage 123.456 V is outside 6..80 V". */
  readonly message: string;
}

export type ShuntReading =
  /** Every value plausible, but for those withheld (left out of `values`). */
  | {
      readonly kind: 'reading';
      readonly values: Record<string, number>;
      readonly withheld: readonly ShuntImplausibility[];
    }
  /** The values that make the frame noise (nothing of it is a reading; a value only withheld is not named). */
  | { readonly kind: 'implausible'; readonly problems: readonly ShuntImplausibility[] };

/** The implausible values among a live frame's decoded `values`. */
export function shuntImplausibilities(values: Readonly<Record<string, number>>): ShuntImplausibility[] {
  const problems: ShuntImplausibility[] = [];
  for (const { key, unit, plausible } of SHUNT_FIELDS) {
    const value = values[key];
    if (value === undefined || plausible === undefined) continue;
    if (value >= plausible.min && value <= plausible.max) continue;
    problems.push({
      key,
      value,
      otherwise: plausible.otherwise,
      message: `${key} ${value} ${unit} is outside ${plausible.min}..${plausible.max} ${unit}`,
    });
  }
  return problems;
}

/** A live frame's reading, or why it is none: decodeShuntFrame, then every value's plausibility. */
export function judgeShuntFrame(frame: Uint8Array): ShuntReading {
  const values = decodeShuntFrame(frame);
  const problems = shuntImplausibilities(values);
  const fatal = problems.filter((problem) => problem.otherwise === 'drop_frame');
  if (fatal.length > 0) return { kind: 'implausible', problems: fatal };
  for (const problem of problems) delete values[problem.key];
  return { kind: 'reading', values, withheld: problems };
}

/** Collects c411 notifications into live frames; history frames and bytes before a header are skipped. */
export class ShuntAssembler {
  private buffer = Buffer.alloc(0);

  /** Adds one notification; returns the live frames it completed (usually none or one). */
  push(piece: Uint8Array): Buffer[] {
    this.buffer = Buffer.concat([this.buffer, piece]);
    const frames: Buffer[] = [];
    for (;;) {
      const start = this.nextHeader();
      if (start < 0) {
        // Keep a possible partial header at the end.
        this.buffer = this.buffer.subarray(Math.max(0, this.buffer.length - 3));
        return frames;
      }
      this.buffer = this.buffer.subarray(start);
      if (this.buffer.subarray(0, 4).equals(SHUNT_HISTORY_HEADER)) {
        // A history frame's length is not documented: skip its header and look for the next one.
        this.buffer = this.buffer.subarray(4);
        continue;
      }
      // A header inside the frame's bytes: a piece of this frame was lost and the next one began.
      const next = this.nextHeader(1);
      if (next > 0 && next < SHUNT_FRAME_LENGTH) {
        this.buffer = this.buffer.subarray(next);
        continue;
      }
      if (this.buffer.length < SHUNT_FRAME_LENGTH) return frames;
      const frame = Buffer.from(this.buffer.subarray(0, SHUNT_FRAME_LENGTH));
      this.buffer = this.buffer.subarray(SHUNT_FRAME_LENGTH);
      frames.push(frame);
    }
  }

  private nextHeader(from = 0): number {
    const live = this.buffer.indexOf(SHUNT_LIVE_HEADER, from);
    const history = this.buffer.indexOf(SHUNT_HISTORY_HEADER, from);
    if (live < 0) return history;
    return history < 0 ? live : Math.min(live, history);
  }
}

/** A live frame carrying `values` (the simulator's side); unset bytes are 0. */
export function encodeShuntFrame(values: Readonly<Record<string, number>>): Buffer {
  const frame = Buffer.alloc(SHUNT_FRAME_LENGTH);
  SHUNT_LIVE_HEADER.copy(frame);
  for (const field of SHUNT_FIELDS) {
    const raw = Math.round((values[field.key] ?? 0) / field.scale);
    if (field.signed) frame.writeIntBE(raw, field.offset, field.bytes);
    else frame.writeUIntBE(raw, field.offset, field.bytes);
  }
  return frame;
}
