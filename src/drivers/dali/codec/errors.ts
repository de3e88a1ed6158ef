import { readHex } from '../../shared/hex.js';
// The one error the DALI codec throws. Every way a frame or an adapter report can be wrong has a code, so
// the bus runtime can tell a garbled report (drop it, wait for the next) from an adapter it cannot use
// (old firmware: stop and say so) without parsing messages, and the tests can check that nothing else
// (a TypeError, a RangeError) ever escapes.

export type DaliErrorCode =
  /** No bytes at all. */
  | 'empty'
  /** A forward frame that is not 2 bytes, or an adapter report that is not 10. */
  | 'bad_length'
  /** An adapter report whose first byte is not the hasseb preamble AA. */
  | 'bad_preamble'
  /** An adapter report of a command or report type the codec does not know. */
  | 'unknown_report'
  /** A well-framed report whose fields contradict each other (an OK answer without its byte). */
  | 'bad_report'
  /** The adapter's firmware is older than the report protocol this codec speaks. */
  | 'firmware_too_old'
  /** A value the caller passed to an encoder is out of range (an address, a level, a sequence number). */
  | 'bad_argument';

export class DaliError extends Error {
  override readonly name = 'DaliError';
  constructor(
    readonly code: DaliErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function fail(code: DaliErrorCode, message: string): never {
  throw new DaliError(code, message);
}

export { formatHex, hexByte } from '../../shared/hex.js';

/** Hex bytes as people write them ("0B A0", "0ba0"); a DaliError for anything else. */
export function parseHex(text: string): Buffer {
  const bytes = readHex(text);
  if (Buffer.isBuffer(bytes)) return bytes;
  return fail(bytes.error === 'no bytes' ? 'empty' : 'bad_argument', bytes.error);
}

/** Throws unless `value` is a whole number in [min, max]; `what` names it in the message. */
export function checkRange(value: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    fail('bad_argument', `${what} must be a whole number ${min}-${max}, got ${value}`);
  }
  return value;
}
