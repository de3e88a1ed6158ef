import { encodeFrame, type MbusFrame } from './frames.js';
import { fail } from './errors.js';

// The frames a master sends (EN 13757-3 application layer over the link layer), and the fields of a
// secondary address. The FCB rule lives with the caller (the serial master): it toggles the bit after a
// good reply and sends the same bit again on a retry, so the meter can tell a repeat from a new request.

/** C field: function codes with PRM set (master → slave), and the FCB/FCV bits. */
export const C_FIELD = {
  SND_NKE: 0x40,
  SND_UD: 0x53,
  REQ_UD2: 0x5b,
  REQ_UD1: 0x5a,
  /** Slave → master: user data. 0x18/0x28/0x38 carry ACD/DFC as well. */
  RSP_UD: 0x08,
  FCB: 0x20,
  FCV: 0x10,
} as const;

export const ADDRESS = {
  /** Addresses the meter selected by secondary address (and SND_NKE to it deselects). */
  NETWORK_LAYER: 0xfd,
  /** Every meter answers (use only with one meter on the bus). */
  BROADCAST_REPLY: 0xfe,
  /** Every meter, none answers. */
  BROADCAST: 0xff,
  MAX_PRIMARY: 250,
} as const;

export const CI_FIELD = {
  APPLICATION_RESET: 0x50,
  DATA_SEND: 0x51,
  SELECT_SECONDARY: 0x52,
  APPLICATION_ERROR: 0x70,
  VARIABLE_DATA: 0x72,
  FIXED_DATA: 0x73,
} as const;

function checkAddress(address: number): number {
  if (!Number.isInteger(address) || address < 0 || address > 0xff) {
    fail('bad_argument', `address must be 0-255, got ${address}`);
  }
  return address;
}

/** SND_NKE: link reset; the meter answers E5. Also the primary scan's probe. */
export function sndNke(address: number): Buffer {
  return encodeFrame({ kind: 'short', c: C_FIELD.SND_NKE, a: checkAddress(address) });
}

/** REQ_UD2: asks for the meter's data (class 2); `fcb` is the frame count bit of this request. */
export function reqUd2(address: number, fcb: boolean): Buffer {
  const c = C_FIELD.REQ_UD2 | (fcb ? C_FIELD.FCB : 0);
  return encodeFrame({ kind: 'short', c, a: checkAddress(address) });
}

/** Application reset (CI 50), optionally with a subcode byte (e.g. 0x10 = all data). */
export function applicationReset(address: number, subcode?: number): Buffer {
  const frame: MbusFrame =
    subcode === undefined
      ? { kind: 'control', c: C_FIELD.SND_UD, a: checkAddress(address), ci: CI_FIELD.APPLICATION_RESET }
      : {
          kind: 'long',
          c: C_FIELD.SND_UD,
          a: checkAddress(address),
          ci: CI_FIELD.APPLICATION_RESET,
          data: Buffer.from([checkAddress(subcode)]),
        };
  return encodeFrame(frame);
}

/** Gives the meter at `address` the primary address `newAddress` (record DIF 01, VIF 7A). */
export function setPrimaryAddress(address: number, newAddress: number): Buffer {
  if (!Number.isInteger(newAddress) || newAddress < 0 || newAddress > ADDRESS.MAX_PRIMARY) {
    fail('bad_argument', `a primary address must be 0-${ADDRESS.MAX_PRIMARY}, got ${newAddress}`);
  }
  return encodeFrame({
    kind: 'long',
    c: C_FIELD.SND_UD,
    a: checkAddress(address),
    ci: CI_FIELD.DATA_SEND,
    data: Buffer.from([0x01, 0x7a, newAddress]),
  });
}

/**
 * A secondary address as libmbus writes it: 16 hex digits, the 8-digit identification number, the
 * manufacturer (its 2 bytes in the order they travel, least significant first: KAM = 0x2C2D is `2D2C`),
 * the version and the medium.
 * An `F` is a wildcard: in the id per digit, in the other fields per byte (`FF`, `FFFF`).
 */
export interface SecondaryAddress {
  /** 8 characters, digits or F. */
  id: string;
  /** The 16-bit manufacturer code (0x2C2D = KAM); 0xFFFF matches every manufacturer. */
  manufacturer: number;
  version: number;
  medium: number;
}

const SECONDARY_PATTERN = /^[0-9Ff]{8}[0-9A-Fa-f]{8}$/;

export function parseSecondaryAddress(text: string): SecondaryAddress {
  if (!SECONDARY_PATTERN.test(text)) {
    fail(
      'bad_argument',
      `secondary address "${text}" must be 16 hex digits: 8 id digits (0-9 or F), manufacturer (4), version (2), medium (2)`,
    );
  }
  return {
    id: text.slice(0, 8).toUpperCase(),
    manufacturer: Number.parseInt(text.slice(8, 10), 16) | (Number.parseInt(text.slice(10, 12), 16) << 8),
    version: Number.parseInt(text.slice(12, 14), 16),
    medium: Number.parseInt(text.slice(14, 16), 16),
  };
}

export function formatSecondaryAddress(address: SecondaryAddress): string {
  const hex = (value: number, digits: number) => value.toString(16).toUpperCase().padStart(digits, '0');
  const manufacturer = hex(address.manufacturer & 0xff, 2) + hex(address.manufacturer >> 8, 2);
  return `${address.id.toUpperCase()}${manufacturer}${hex(address.version, 2)}${hex(address.medium, 2)}`;
}

/** The 8 bytes of a secondary address as they travel (id BCD and manufacturer least significant first). */
export function secondaryAddressBytes(address: SecondaryAddress): Buffer {
  const id = address.id.toUpperCase();
  const bytes = Buffer.alloc(8);
  for (let i = 0; i < 4; i++) {
    const pair = id.slice(6 - 2 * i, 8 - 2 * i);
    bytes[i] = Number.parseInt(pair, 16);
  }
  bytes.writeUInt16LE(address.manufacturer, 4);
  bytes[6] = address.version;
  bytes[7] = address.medium;
  return bytes;
}

/** Selects the meter(s) matching a secondary address (wildcards allowed); they answer E5. */
export function selectSecondary(address: SecondaryAddress | string): Buffer {
  const parsed = typeof address === 'string' ? parseSecondaryAddress(address) : address;
  return encodeFrame({
    kind: 'long',
    // libmbus sends the select with FCB set (0x73); meters accept both.
    c: C_FIELD.SND_UD | C_FIELD.FCB,
    a: ADDRESS.NETWORK_LAYER,
    ci: CI_FIELD.SELECT_SECONDARY,
    data: secondaryAddressBytes(parsed),
  });
}

/** Whether a meter's secondary address matches a (wildcard) pattern; for the simulator and scans. */
export function matchesSecondary(meter: SecondaryAddress, pattern: SecondaryAddress): boolean {
  for (let i = 0; i < 8; i++) {
    const want = pattern.id[i];
    if (want !== 'F' && want !== meter.id[i]) return false;
  }
  if (pattern.manufacturer !== 0xffff && pattern.manufacturer !== meter.manufacturer) return false;
  if (pattern.version !== 0xff && pattern.version !== meter.version) return false;
  return pattern.medium === 0xff || pattern.medium === meter.medium;
}

/** The secondary address in a select frame's data (the simulator's side of `selectSecondary`). */
export function secondaryAddressFromBytes(data: Uint8Array): SecondaryAddress {
  if (data.length < 8) fail('bad_data', `a secondary address needs 8 bytes, got ${data.length}`);
  let id = '';
  for (let i = 3; i >= 0; i--) id += (data[i] ?? 0).toString(16).toUpperCase().padStart(2, '0');
  return {
    id,
    manufacturer: (data[4] ?? 0) | ((data[5] ?? 0) << 8),
    version: data[6] ?? 0,
    medium: data[7] ?? 0,
  };
}
