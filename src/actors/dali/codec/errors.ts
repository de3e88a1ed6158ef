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

/** Two-digit upper-case hex of a byte, for error messages and JSON output. */
export function hexByte(value: number): string {
  return value.toString(16).toUpperCase().padStart(2, '0');
}

/** Upper-case hex pairs separated by spaces, the way frames and reports appear in logs. */
export function formatHex(bytes: Uint8Array): string {
  return Array.from(bytes, hexByte).join(' ');
}

/** Hex bytes as people write them: pairs, separated by any whitespace or none ("0B A0", "0ba0"). */
export function parseHex(text: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0) fail('empty', 'no bytes');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(compact)) {
    const bad = /[^0-9a-fA-F]/.exec(compact);
    fail(
      'bad_argument',
      bad ? `"${bad[0]}" is not a hex digit` : `odd number of hex digits (${compact.length})`,
    );
  }
  return Buffer.from(compact, 'hex');
}

/** Throws unless `value` is a whole number in [min, max]; `what` names it in the message. */
export function checkRange(value: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    fail('bad_argument', `${what} must be a whole number ${min}-${max}, got ${value}`);
  }
  return value;
}
