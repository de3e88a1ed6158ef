import type { DeviceConfig } from '../../config/index.js';
import { getLogger } from '../../logging/index.js';
import { ADDRESS } from './codec/master.js';
import type { MeterTarget } from './master.js';
import { MbusBusRuntime } from './runtime.js';

// The driver catalogue's opener for `transport: serial`: one MbusBusRuntime per port, with the meters
// configured (or found by a scan) on it.

/**
 * How a configured meter is addressed: a number is its primary address, a 16-digit string its
 * secondary address; no address means the only meter on the bus, reached through the broadcast address
 * every meter answers (0xFE), the way a single meter on a converter is usually read.
 */
export function meterTarget(address: number | string | undefined): MeterTarget {
  if (address === undefined) return { primary: ADDRESS.BROADCAST_REPLY };
  return typeof address === 'number' ? { primary: address } : { secondary: address.toUpperCase() };
}

export function openMbusBus(busId: string, devices: readonly DeviceConfig[]): MbusBusRuntime {
  const meters = devices.flatMap((device) =>
    device.driver === 'mbus' ? [{ deviceId: device.id, target: meterTarget(device.address), device }] : [],
  );
  const first = meters[0]?.device;
  if (!first?.port) throw new Error(`bus ${busId} has no M-Bus meter with a serial port`);
  const logger = getLogger(`mbus:${first.port}`);
  return new MbusBusRuntime(busId, {
    path: first.port,
    baud: first.baud,
    meters: meters.map(({ deviceId, target }) => ({ deviceId, target })),
    log: (message) => logger.info(message),
  });
}
