// CRC-16/MODBUS (notes §2.2): reflected polynomial 0xA001, initial value 0xFFFF, no final XOR, sent low
// byte first. Check value: FF 03 01 00 00 22 -> 0xF1D1, transmitted D1 F1.

const TABLE: readonly number[] = Array.from({ length: 256 }, (_, byte) => {
  let crc = byte;
  for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  return crc;
});

/** The CRC-16/MODBUS of `bytes` as a number (0x0000-0xFFFF). */
export function crc16Modbus(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of bytes) crc = (crc >>> 8) ^ (TABLE[(crc ^ byte) & 0xff] ?? 0);
  return crc;
}

/** `body` followed by its CRC, low byte first: a frame ready to write. */
export function withCrc(body: Uint8Array): Buffer {
  const crc = crc16Modbus(body);
  return Buffer.concat([Buffer.from(body), Buffer.from([crc & 0xff, crc >>> 8])]);
}

/** The CRC a frame carries in its last two bytes and the one its other bytes give. */
export function frameCrc(frame: Uint8Array): { received: number; computed: number; valid: boolean } {
  if (frame.length < 3) return { received: -1, computed: -1, valid: false };
  const received = (frame[frame.length - 2] ?? 0) | ((frame[frame.length - 1] ?? 0) << 8);
  const computed = crc16Modbus(frame.subarray(0, frame.length - 2));
  return { received, computed, valid: received === computed };
}
