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

interface ShuntField {
  readonly key: string;
  readonly name: string;
  readonly offset: number;
  readonly bytes: 2 | 3;
  readonly signed: boolean;
  readonly scale: number;
  readonly unit: Unit;
  readonly ha: HaHints;
}

const measure = (deviceClass: string): HaHints => ({ deviceClass, stateClass: 'measurement' });

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
