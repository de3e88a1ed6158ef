import { formatHex, readHex } from '../../shared/hex.js';
import { fail, hexByte, MbusError } from './errors.js';

// The M-Bus link layer (EN 13757-2 / IEC 870-5-2 FT1.2): the four frame formats, their length and
// checksum rules, and a reassembler for byte streams. Pure functions over Buffers; the serial master and
// the meter simulator both build on them, so there is one definition of what a valid frame is.
//
//   single character  E5
//   short             10 C A CS 16
//   control           68 03 03 68 C A CI CS 16
//   long              68 L L 68 C A CI data… CS 16      L = 3 + data length, CS = (C + A + CI + data) mod 256

export const ACK = 0xe5;
export const SHORT_START = 0x10;
export const LONG_START = 0x68;
export const STOP = 0x16;

/** Time `bytes` take on the wire: 11 bits per byte (start, 8 data, even parity, stop). */
export function wireTimeMs(bytes: number, baud: number): number {
  return (bytes * 11 * 1000) / baud;
}

/**
 * EN 13757-2's answer window: a slave starts its answer no sooner than 11 bit times and no later than
 * 330 bit times + 50 ms after the end of the request.
 */
export function answerWindowMs(baud: number): { earliest: number; latest: number } {
  return { earliest: 11_000 / baud, latest: 330_000 / baud + 50 };
}

/** The longest possible frame: L = 255 plus the 6 framing bytes. */
export const MAX_FRAME_BYTES = 255 + 6;

export type MbusFrame =
  | { kind: 'ack' }
  | { kind: 'short'; c: number; a: number }
  | { kind: 'control'; c: number; a: number; ci: number }
  | { kind: 'long'; c: number; a: number; ci: number; data: Buffer };

export type FrameKind = MbusFrame['kind'];

function checksum(bytes: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += bytes[i] ?? 0;
  return sum & 0xff;
}

/**
 * The length of the frame at the start of `bytes`, or undefined while too few bytes have arrived to tell
 * (or to hold it). Throws for a start that can never become a valid frame.
 */
export function frameLength(bytes: Uint8Array): number | undefined {
  if (bytes.length === 0) return undefined;
  const start = bytes[0];
  if (start === ACK) return 1;
  if (start === SHORT_START) return bytes.length >= 5 ? 5 : undefined;
  if (start !== LONG_START)
    return fail('bad_start', `frame starts with ${hexByte(start ?? 0)}, expected E5, 10 or 68`);
  if (bytes.length < 4) return undefined;
  const length = bytes[1] ?? 0;
  if (bytes[2] !== length) {
    return fail('bad_length', `length bytes differ: ${hexByte(length)} and ${hexByte(bytes[2] ?? 0)}`);
  }
  if (bytes[3] !== LONG_START) return fail('bad_length', `byte 3 is ${hexByte(bytes[3] ?? 0)}, expected 68`);
  if (length < 3) return fail('bad_length', `L = ${length} is too short for C, A and CI (at least 3)`);
  const total = length + 6;
  return bytes.length >= total ? total : undefined;
}

/** Parses exactly one frame; anything else (a short read, extra bytes, a bad checksum) is an MbusError. */
export function parseFrame(bytes: Uint8Array): MbusFrame {
  if (bytes.length === 0) fail('empty', 'no bytes');
  const total = frameLength(bytes);
  if (total === undefined) {
    fail('truncated', `frame of ${bytes.length} byte(s) ends before its ${describeExpected(bytes)}`);
  }
  if (bytes.length > total)
    fail('trailing_data', `${bytes.length - total} byte(s) after the end of the frame`);
  const start = bytes[0];
  if (start === ACK) return { kind: 'ack' };
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (start === SHORT_START) {
    checkTail(buffer, 1, 3);
    return { kind: 'short', c: buffer[1] ?? 0, a: buffer[2] ?? 0 };
  }
  checkTail(buffer, 4, total - 2);
  const c = buffer[4] ?? 0;
  const a = buffer[5] ?? 0;
  const ci = buffer[6] ?? 0;
  if (total === 9) return { kind: 'control', c, a, ci };
  return { kind: 'long', c, a, ci, data: Buffer.from(buffer.subarray(7, total - 2)) };
}

function describeExpected(bytes: Uint8Array): string {
  if (bytes[0] === SHORT_START) return 'expected 5 bytes';
  if (bytes.length < 4) return 'header (68 L L 68)';
  return `expected ${(bytes[1] ?? 0) + 6} bytes (L = ${bytes[1] ?? 0})`;
}

function checkTail(buffer: Buffer, from: number, checksumAt: number): void {
  const expected = checksum(buffer, from, checksumAt);
  const actual = buffer[checksumAt] ?? 0;
  if (expected !== actual) {
    fail('bad_checksum', `checksum is ${hexByte(actual)}, expected ${hexByte(expected)}`);
  }
  const stop = buffer[checksumAt + 1] ?? 0;
  if (stop !== STOP) fail('bad_stop', `stop byte is ${hexByte(stop)}, expected 16`);
}

function checkByte(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    fail('bad_argument', `${field} must be a byte (0-255), got ${value}`);
  }
  return value;
}

/** The bytes of a frame, with its length and checksum computed. */
export function encodeFrame(frame: MbusFrame): Buffer {
  switch (frame.kind) {
    case 'ack':
      return Buffer.from([ACK]);
    case 'short': {
      const c = checkByte(frame.c, 'C');
      const a = checkByte(frame.a, 'A');
      return Buffer.from([SHORT_START, c, a, (c + a) & 0xff, STOP]);
    }
    case 'control':
    case 'long': {
      const data = frame.kind === 'long' ? frame.data : Buffer.alloc(0);
      if (data.length > 252) fail('bad_argument', `data of ${data.length} bytes does not fit (at most 252)`);
      const length = 3 + data.length;
      const out = Buffer.alloc(length + 6);
      out[0] = LONG_START;
      out[1] = length;
      out[2] = length;
      out[3] = LONG_START;
      out[4] = checkByte(frame.c, 'C');
      out[5] = checkByte(frame.a, 'A');
      out[6] = checkByte(frame.ci, 'CI');
      data.copy(out, 7);
      out[length + 4] = checksum(out, 4, length + 4);
      out[length + 5] = STOP;
      return out;
    }
  }
}

/**
 * Cuts a byte stream (a serial port) into frames. Bytes that cannot start a frame are dropped one at a
 * time and reported, so a burst of line noise costs the frame it hit, not the whole stream.
 */
export class FrameAssembler {
  #buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): void {
    this.#buffer = this.#buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buffer, chunk]);
  }

  /** Bytes received but not yet part of a whole frame. */
  get pending(): number {
    return this.#buffer.length;
  }

  /** Whether `next()` has something to give: a whole frame, or bytes that can make none. */
  get ready(): boolean {
    if (this.#buffer.length === 0) return false;
    try {
      return frameLength(this.#buffer) !== undefined;
    } catch {
      return true;
    }
  }

  /**
   * The next whole frame's bytes, undefined while it is incomplete, or an MbusError for bytes that were
   * skipped (a bad start, impossible length). A frame with a bad checksum is returned as bytes: parsing
   * it reports the checksum.
   */
  next(): Buffer | MbusError | undefined {
    if (this.#buffer.length === 0) return undefined;
    let length: number | undefined;
    try {
      length = frameLength(this.#buffer);
    } catch (error) {
      this.#buffer = this.#buffer.subarray(1);
      return error instanceof MbusError ? error : new MbusError('bad_data', String(error));
    }
    if (length === undefined) return undefined;
    const frame = this.#buffer.subarray(0, length);
    this.#buffer = this.#buffer.subarray(length);
    return Buffer.from(frame);
  }

  clear(): void {
    this.#buffer = Buffer.alloc(0);
  }
}

/** Hex bytes as people and libmbus's .hex files write them; an MbusError for anything else. */
export function parseHex(text: string): Buffer {
  const bytes = readHex(text);
  return Buffer.isBuffer(bytes) ? bytes : fail('bad_argument', bytes.error);
}

export { formatHex };
