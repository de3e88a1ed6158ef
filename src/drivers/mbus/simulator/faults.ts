import { fail } from '../codec/errors.js';
import { ACK, parseFrame } from '../codec/frames.js';

// What goes wrong on a real M-Bus line, made repeatable: every random choice comes from the bus's seeded
// generator, so a test that fixes the seed sees the same lost and garbled replies on every run.

export interface Faults {
  /** Probability (0-1) that a reply is lost: the meter did the work (FCB state moved), the master sees nothing. */
  noAnswer: number;
  /** Probability (0-1) that a reply arrives with a wrong checksum (a single E5 becomes another byte). */
  corrupt: number;
  /** Extra delay of every reply, in ms, on top of the time on the wire. */
  slowMs: number;
}

export const NO_FAULTS: Faults = Object.freeze({ noAnswer: 0, corrupt: 0, slowMs: 0 });

/** Merges a partial update into `current`, refusing values that make no sense (with the field named). */
export function mergeFaults(current: Faults, update: Partial<Faults>): Faults {
  const next = { ...current, ...update };
  for (const key of ['noAnswer', 'corrupt'] as const) {
    const rate = next[key];
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
      fail('bad_argument', `${key} must be a probability between 0 and 1, got ${rate}`);
    }
  }
  if (!Number.isFinite(next.slowMs) || next.slowMs < 0 || next.slowMs > 60_000) {
    fail('bad_argument', `slowMs must be 0-60000 ms, got ${next.slowMs}`);
  }
  return next;
}

export function describeFaults(faults: Faults): string {
  return `noanswer ${faults.noAnswer}, corrupt ${faults.corrupt}, slow ${faults.slowMs} ms`;
}

/** A reply with a wrong checksum (long and short frames) or, for a single E5, another byte. */
export function corruptReply(reply: Buffer, random: () => number): Buffer {
  const out = Buffer.from(reply);
  if (out.length === 1) {
    // Any byte but E5: a bit error in the only byte of the acknowledgement.
    out[0] = ACK ^ (1 << Math.floor(random() * 8));
    return out;
  }
  const checksumAt = out.length - 2;
  out[checksumAt] = ((out[checksumAt] ?? 0) + 1 + Math.floor(random() * 254)) & 0xff;
  return out;
}

/** Bits of a byte stream as a UART sends them: per byte start bit 0, 8 data bits LSB first, even parity, stop 1. */
function toBits(bytes: Uint8Array): number[] {
  const bits: number[] = [];
  for (const byte of bytes) {
    bits.push(0);
    let parity = 0;
    for (let bit = 0; bit < 8; bit++) {
      const value = (byte >> bit) & 1;
      parity ^= value;
      bits.push(value);
    }
    bits.push(parity, 1);
  }
  return bits;
}

/** Reads the line the way the master's UART would: wait for a start bit, take 8 data bits, skip the rest. */
function fromBits(bits: readonly number[]): Buffer {
  const bytes: number[] = [];
  let i = 0;
  while (i < bits.length) {
    if (bits[i] !== 0) {
      i += 1;
      continue;
    }
    let byte = 0;
    for (let bit = 0; bit < 8; bit++) byte |= (bits[i + 1 + bit] ?? 1) << bit;
    bytes.push(byte);
    i += 11;
  }
  return Buffer.from(bytes);
}

function isValidFrame(bytes: Buffer): boolean {
  try {
    parseFrame(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * What a UART reads from a line on which several meters send at once, each starting `offsetBits` bit
 * times after the first: a 0 from any meter wins (the line idles at 1). Physics only: two identical
 * answers that start on the same bit read as one good answer, as they do on a real bus.
 */
export function wiredAnd(streams: readonly { bytes: Uint8Array; offsetBits: number }[]): Buffer {
  const bits = streams.map(({ bytes, offsetBits }) => [
    ...Array<number>(Math.max(0, Math.round(offsetBits))).fill(1),
    ...toBits(bytes),
  ]);
  const length = Math.max(0, ...bits.map((stream) => stream.length));
  return fromBits(Array.from({ length }, (_, i) => (bits.every((stream) => (stream[i] ?? 1) === 1) ? 1 : 0)));
}

/**
 * What the master receives when several meters answer at once. On M-Bus a meter sends a 0 by drawing more
 * current, so a 0 from any meter wins (a wired AND); the meters start a few bit times apart, so the
 * result is a short run of garbage bytes rather than any of the answers. Never a valid frame.
 */
export function collide(replies: readonly Buffer[], random: () => number): Buffer {
  if (replies.length === 0) fail('bad_argument', 'a collision needs at least one reply');
  // The first meter starts at once; each other one 1-7 bit times later.
  const garbled = wiredAnd(
    replies.map((bytes, index) => ({ bytes, offsetBits: index === 0 ? 0 : 1 + Math.floor(random() * 7) })),
  );
  if (garbled.length === 0) return Buffer.from([ACK ^ 0x01]);
  // A master that takes a leading E5 for the acknowledgement would miss the collision; and identical
  // replies that happened to line up would read as one good frame. Both are broken on purpose.
  if (garbled[0] === ACK) garbled[0] = ACK ^ 0x02;
  if (isValidFrame(garbled)) garbled[garbled.length - 1] = (garbled[garbled.length - 1] ?? 0) ^ 0x5a;
  return garbled;
}
