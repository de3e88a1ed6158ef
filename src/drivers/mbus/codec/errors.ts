// The one error the M-Bus codec throws. Every way a frame can be wrong has a code, so the serial master
// can tell a garbled frame (retry) from an application error (answer) without parsing messages, and the
// conformance and fuzz tests can check that nothing else (a TypeError, a RangeError) ever escapes.

export type MbusErrorCode =
  /** No bytes at all. */
  | 'empty'
  /** The frame ends before its length says it should. */
  | 'truncated'
  /** The first byte is not E5, 10 or 68. */
  | 'bad_start'
  /** The two length bytes differ, the second start byte is not 68, or L is impossible. */
  | 'bad_length'
  | 'bad_checksum'
  /** The byte after the checksum is not 16. */
  | 'bad_stop'
  /** Bytes follow the stop byte. */
  | 'trailing_data'
  /** A well-formed frame that is not slave data (a master frame, an unknown CI). */
  | 'unsupported'
  /** The data of a well-formed frame cannot be decoded (a record runs past the end, too many DIFEs). */
  | 'bad_data'
  /**
   * The meter answered with an application error (CI 70): a well-formed answer that says why it has no
   * data ("Application busy"); asking again at once will not help, unlike after a garbled frame.
   */
  | 'application_error'
  /** A field the caller passed to an encoder is out of range. */
  | 'bad_argument';

export class MbusError extends Error {
  override readonly name = 'MbusError';
  constructor(
    readonly code: MbusErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function fail(code: MbusErrorCode, message: string): never {
  throw new MbusError(code, message);
}

export { hexByte } from '../../shared/hex.js';
