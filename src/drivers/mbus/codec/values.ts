import { readableText } from './records.js';

// The data types of EN 13757-3 annex A, as libmbus reads them: little-endian two's-complement integers,
// BCD (a high nibble F in the most significant byte makes it negative), IEEE 754 single, dates of type
// G (16 bit), F (32 bit) and I (48 bit), and variable-length text, BCD and binary.

// Hex pairs come from a table: decoding prints several per record (DIF, VIF, manufacturer data).
const HEX_PAIRS = Array.from({ length: 256 }, (_, value) =>
  value.toString(16).toUpperCase().padStart(2, '0'),
);

/** Upper-case hex pairs separated by spaces ("0A 1B"), as libmbus prints bytes. */
export function hexBytes(bytes: ArrayLike<number>): string {
  let text = '';
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0) text += ' ';
    text += HEX_PAIRS[(bytes[i] ?? 0) & 0xff];
  }
  return text;
}

export function signedInteger(bytes: Uint8Array): number {
  if (bytes.length > 6) {
    let value = 0n;
    for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] ?? 0);
    // Beyond 2^53 the number is rounded, as libmbus rounds it to a double when it normalises.
    return Number(BigInt.asIntN(bytes.length * 8, value));
  }
  let value = 0;
  for (let i = bytes.length - 1; i >= 0; i--) value = value * 256 + (bytes[i] ?? 0);
  const top = 2 ** (bytes.length * 8);
  return bytes.length > 0 && value >= top / 2 ? value - top : value;
}

/**
 * BCD digits, least significant byte first. libmbus quirks kept so the numbers agree: a high nibble
 * above 9 counts as 0, a low nibble above 9 counts with its value, and F as the most significant nibble
 * makes the number negative.
 */
export function bcdNumber(bytes: Uint8Array): number {
  let value = 0;
  for (let i = bytes.length - 1; i >= 0; i--) {
    const byte = bytes[i] ?? 0;
    const high = byte >> 4;
    value = value * 10 + (high < 10 ? high : 0);
    value = value * 10 + (byte & 0x0f);
  }
  const last = bytes[bytes.length - 1] ?? 0;
  return last >> 4 === 0x0f && value !== 0 ? -value : value;
}

/** The BCD bytes as the hex digits they show (libmbus's raw output), most significant first. */
export function bcdDigits(bytes: Uint8Array): string {
  let digits = '';
  for (let i = bytes.length - 1; i >= 0; i--)
    digits += (bytes[i] ?? 0).toString(16).toUpperCase().padStart(2, '0');
  return digits;
}

/** Whether the BCD digits are all decimal (an F in the most significant nibble is the minus sign). */
export function isDecimalBcd(bytes: Uint8Array): boolean {
  return /^F?[0-9]*$/.test(bcdDigits(bytes));
}

export function real32(bytes: Uint8Array): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readFloatLE(0);
}

function pad(value: number, digits = 2): string {
  return String(value).padStart(digits, '0');
}

/**
 * The year of types F, G and I: 7 bits split over the day byte (3) and the month byte (4). Two-digit
 * meters count 00–80 as 2000–2080 (EN 13757-3's advice) and 81–99 as 1981–1999; libmbus reads it the
 * same way, so 127 is 2027.
 */
function year(dayByte: number, monthByte: number): number {
  const twoDigits = ((dayByte & 0xe0) >> 5) | ((monthByte & 0xf0) >> 1);
  return twoDigits <= 80 ? 2000 + twoDigits : 1900 + twoDigits;
}

/** Type G (date). Fields are printed as they come, so an unset date reads "2000-00-00" as in libmbus. */
export function dateG(bytes: Uint8Array): string {
  const day = bytes[0] ?? 0;
  const month = bytes[1] ?? 0;
  return `${pad(year(day, month), 4)}-${pad(month & 0x0f)}-${pad(day & 0x1f)}`;
}

// An invalid time (its IV bit set) prints as libmbus prints an all-zero struct tm: "1900-01-00T00:00:00".
const INVALID_TIME = '1900-01-00T00:00:00';

/** Type F (date and time to the minute, 32 bit). */
export function dateTimeF(bytes: Uint8Array): string {
  const [minute = 0, hour = 0, day = 0, month = 0] = bytes;
  if (minute & 0x80) return INVALID_TIME;
  const date = `${pad(year(day, month), 4)}-${pad(month & 0x0f)}-${pad(day & 0x1f)}`;
  return `${date}T${pad(hour & 0x1f)}:${pad(minute & 0x3f)}:00`;
}

/** Type I (date and time to the second, 48 bit). */
export function dateTimeI(bytes: Uint8Array): string {
  const [second = 0, minute = 0, hour = 0, day = 0, month = 0] = bytes;
  if (minute & 0x80) return INVALID_TIME;
  const date = `${pad(year(day, month), 4)}-${pad(month & 0x0f)}-${pad(day & 0x1f)}`;
  return `${date}T${pad(hour & 0x1f)}:${pad(minute & 0x3f)}:${pad(second & 0x3f)}`;
}

/** Binary data most significant byte first, the way libmbus prints variable-length binary. */
export function reversedHex(bytes: Uint8Array): string {
  return hexBytes(Uint8Array.from(bytes).reverse());
}

/**
 * A variable-length record's value by its LVAR byte: text, positive or negative BCD, or binary (hex).
 * `raw` is the number before scaling, or the text.
 */
export function variableValue(lvar: number, data: Uint8Array): { raw: number | string; numeric: boolean } {
  if (lvar <= 0xbf) return { raw: readableText(data), numeric: false };
  if (lvar <= 0xcf) return { raw: bcdNumber(data), numeric: true };
  // 0 − x, not −x: a negative zero would print as 0 but compare unequal in tests and JSON round trips.
  if (lvar <= 0xdf) return { raw: 0 - bcdNumber(data), numeric: true };
  return { raw: reversedHex(data), numeric: false };
}
