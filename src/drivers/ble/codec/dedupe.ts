import type { BleReading } from './types.js';

// BLE sensors repeat each advertisement many times (and a proxy may reorder them), so the driver must
// publish a reading once, not once per copy. Each format carries a wrapping counter for that (see
// BleReading.packetId). The rules are bthome-ble's, so a device behaves here as in Home Assistant:
//
//   - a packet id equal to the last one, or behind it, is a repeat; "ahead" means ahead by less than 64
//     (modulo the counter's range), so a late copy of an old packet is not mistaken for a new one;
//   - after 4 s without an accepted packet any id is new: the device may have restarted, or counted
//     past the window while out of range; a device whose counter only moves when its measurement
//     changes (ATC/pvvx) is then republished at most every 4 s.

/** How far ahead of the last packet id a new one may be. */
export const PACKET_ID_WINDOW = 64;
/** After this long without an accepted packet, any packet id is accepted. */
export const PACKET_ID_TIMEOUT_MS = 4000;

/**
 * True when `packetId` is a repeat of `lastPacketId` or older than it: equal, or not ahead of it by
 * 1…63 modulo `modulo` (256 for BTHome and ATC/pvvx, 65536 for Ruuvi's sequence). False when either is
 * missing: without ids nothing can be called a repeat.
 */
export function isDuplicate(
  lastPacketId: number | undefined,
  packetId: number | undefined,
  modulo = 256,
): boolean {
  if (lastPacketId === undefined || packetId === undefined) return false;
  const ahead = (((packetId - lastPacketId) % modulo) + modulo) % modulo;
  return ahead === 0 || ahead >= PACKET_ID_WINDOW;
}

/** The range of a format's packet id. */
export function packetIdModulo(format: BleReading['format']): number {
  return format === 'ruuvi' ? 65536 : 256;
}

interface Last {
  packetId: number;
  atMs: number;
}

/**
 * Per-device repeat filter for the driver. Pure: the caller passes the time, so tests need no clock.
 * Keyed by MAC (any string the caller uses consistently).
 */
export class PacketIdFilter {
  private readonly last = new Map<string, Last>();

  constructor(private readonly timeoutMs = PACKET_ID_TIMEOUT_MS) {}

  /** True (and remembered) when the reading is new; false for a repeat. Readings without an id are always new. */
  accept(mac: string, reading: Pick<BleReading, 'format' | 'packetId'>, nowMs: number): boolean {
    const { packetId } = reading;
    if (packetId === undefined) return true;
    const last = this.last.get(mac);
    const fresh =
      last === undefined ||
      nowMs - last.atMs > this.timeoutMs ||
      !isDuplicate(last.packetId, packetId, packetIdModulo(reading.format));
    if (fresh) this.last.set(mac, { packetId, atMs: nowMs });
    return fresh;
  }

  /** Drops what is known about a device (removed from the config, or its bind key changed). */
  forget(mac: string): void {
    this.last.delete(mac);
  }
}
