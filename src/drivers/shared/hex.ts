// Hex as people write bytes in logs, sniffer captures and test vectors, shared by every codec (each
// wraps a refusal in its own typed error): pairs of digits, separated by whitespace, ':' or '-', or
// nothing, with an optional 0x right before the first digit.

/** Two-digit upper-case hex of a byte. */
export function hexByte(value: number): string {
  return value.toString(16).toUpperCase().padStart(2, '0');
}

/** Upper-case hex pairs separated by spaces, the way frames and reports appear in logs. */
export function formatHex(bytes: Uint8Array): string {
  return Array.from(bytes, hexByte).join(' ');
}

/** The bytes of `text`, or why it is not hex. */
export function readHex(text: string): Buffer | { error: string } {
  const digits = text
    .trim()
    .replace(/^0x(?=[0-9a-f])/i, '')
    .replace(/[\s:-]+/g, '');
  const bad = /[^0-9a-fA-F]/.exec(digits);
  if (bad) return { error: `"${bad[0]}" is not a hex digit` };
  if (digits.length === 0) return { error: 'no bytes' };
  if (digits.length % 2 !== 0) return { error: `odd number of hex digits (${digits.length})` };
  return Buffer.from(digits, 'hex');
}
