import { hexByte, readHex } from '../../shared/hex.js';
// The one error the BLE advertisement decoders throw. Every way an advertisement can be wrong has a
// code, so the BLE driver can tell "this device needs a bind key" (missing_key, decrypt_failed: say so
// once, in the device's health) from a garbled or truncated frame (count and drop) without parsing
// messages, and the conformance and fuzz tests can check that nothing else (a TypeError, a RangeError
// from a Buffer read) ever escapes.

export type BleErrorCode =
  /** The data ends before a field or an object it announces. */
  | 'too_short'
  /** A fixed-size format with the wrong number of bytes (ATC/pvvx, Ruuvi). */
  | 'bad_length'
  /** The data is not the format asked for (a Ruuvi frame whose first byte is not 5). */
  | 'bad_format'
  /** The BTHome device info byte names a version other than 2. */
  | 'bad_version'
  /** A BTHome object id this decoder does not know (only thrown in strict mode; otherwise a warning). */
  | 'unknown_object'
  /** An encrypted BTHome payload whose MIC does not match: a wrong bind key, or a damaged payload. */
  | 'decrypt_failed'
  /** An encrypted BTHome payload and no bind key to decrypt it with. */
  | 'missing_key'
  /**
   * A plain BTHome payload from a device configured with a bind key: refused, as Home Assistant does,
   * because anyone can send plain advertisements under the device's MAC.
   */
  | 'not_encrypted'
  /** Something the caller passed is unusable: a bind key that is not 16 bytes, a MAC that is not 6, bad hex. */
  | 'bad_argument';

export class BleDecodeError extends Error {
  override readonly name = 'BleDecodeError';
  constructor(
    readonly code: BleErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function fail(code: BleErrorCode, message: string): never {
  throw new BleDecodeError(code, message);
}

export { hexByte } from '../../shared/hex.js';

/** Upper-case colon-separated MAC of six bytes in the given order ("A4:C1:38:8D:18:B2"). */
export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, hexByte).join(':');
}

/**
 * The six bytes of a MAC given as "A4:C1:38:8D:18:B2", "a4-c1-…" or "A4C1388D18B2", most significant
 * first (the order BlueZ prints and the BTHome nonce uses).
 */
export function parseMac(mac: string): Buffer {
  const digits = mac.replace(/[:-]/g, '');
  if (!/^[0-9a-fA-F]{12}$/.test(digits))
    fail('bad_argument', `"${mac}" is not a MAC address (AA:BB:CC:DD:EE:FF)`);
  return Buffer.from(digits, 'hex');
}

/**
 * Bytes from hex text as people paste it: pairs with or without spaces, colons or dashes between them,
 * an optional 0x prefix. For the decode CLI and tests; the driver gets bytes from D-Bus.
 */
export function parseHexBytes(text: string): Buffer {
  const bytes = readHex(text);
  return Buffer.isBuffer(bytes) ? bytes : fail('bad_argument', bytes.error);
}
