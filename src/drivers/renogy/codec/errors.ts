import { readHex } from '../../shared/hex.js';

// The error the Renogy codec throws for a bad argument or unreadable input (a register out of range, a
// hex dump that is not hex, a frame too short to be Modbus). Problems with what a DEVICE sent are not
// thrown: the response assembler returns them as a typed `FrameProblem` (assembler.ts), because a bad
// answer is an everyday event the runtime acts on, not a programming error.

export type RenogyErrorCode =
  /** No bytes at all. */
  | 'empty'
  /** A value given to an encoder or a lookup is out of range or unknown (a register, an id, a family). */
  | 'bad_argument'
  /** Bytes that cannot be a Modbus frame of this protocol (too short, a length that contradicts itself). */
  | 'bad_frame';

export class RenogyError extends Error {
  override readonly name = 'RenogyError';
  constructor(
    readonly code: RenogyErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function fail(code: RenogyErrorCode, message: string): never {
  throw new RenogyError(code, message);
}

/** Throws unless `value` is a whole number in [min, max]; `what` names it in the message. */
export function checkRange(value: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    fail('bad_argument', `${what} must be a whole number ${min}-${max}, got ${value}`);
  }
  return value;
}

/** Hex bytes as people paste them from a log ("ff 03 01 00", "FF:03"); a RenogyError for anything else. */
export function parseHex(text: string): Buffer {
  const bytes = readHex(text);
  if (Buffer.isBuffer(bytes)) return bytes;
  return fail(bytes.error === 'no bytes' ? 'empty' : 'bad_argument', bytes.error);
}

/** `0x0100` style, four digits: how the notes and the decode output name registers. */
export function hexRegister(register: number): string {
  return `0x${register.toString(16).toUpperCase().padStart(4, '0')}`;
}
