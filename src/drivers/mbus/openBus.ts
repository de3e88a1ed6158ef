import type { DeviceConfig } from '../../config/index.js';
import type { OpenContext } from '../contract.js';
import { getLogger } from '../../logging/index.js';
import { ADDRESS } from './codec/master.js';
import type { MeterTarget } from './master.js';
import { MbusBusRuntime } from './runtime.js';

// `transport: serial`: one MbusBusRuntime per port (a serial device or an Ethernet converter's TCP
// port), with the meters configured (or found by a scan) on it. Loaded by the driver's lazy opener;
// the simulated transport is in simulatedBus.ts.

export type MbusDevice = Extract<DeviceConfig, { driver: 'mbus' }>;

/**
 * How a configured meter is addressed: a number is its primary address, a 16-digit string its
 * secondary address; no address means the only meter on the bus, reached through the broadcast address
 * every meter answers (0xFE), the way a single meter on a converter is usually read.
 */
export function meterTarget(address: number | string | undefined): MeterTarget {
  if (address === undefined) return { primary: ADDRESS.BROADCAST_REPLY };
  return typeof address === 'number' ? { primary: address } : { secondary: address.toUpperCase() };
}

export function mbusDevices(devices: readonly DeviceConfig[]): MbusDevice[] {
  return devices.flatMap((device) => (device.driver === 'mbus' ? [device] : []));
}

export function openOn(
  busId: string,
  meters: readonly MbusDevice[],
  path: string,
  options: Pick<ConstructorParameters<typeof MbusBusRuntime>[1], 'openLink' | 'deviceNode' | 'clock'>,
): MbusBusRuntime {
  const logger = getLogger(`mbus:${path}`);
  return new MbusBusRuntime(busId, {
    path,
    baud: meters[0]?.baud ?? 2400,
    meters: meters.map((device) => ({ deviceId: device.id, target: meterTarget(device.address) })),
    log: (message) => logger.info(message),
    ...options,
  });
}

export function openMbusBus(
  busId: string,
  devices: readonly DeviceConfig[],
  context?: Pick<OpenContext, 'clock'>,
): MbusBusRuntime {
  const meters = mbusDevices(devices);
  const port = meters[0]?.port;
  if (!port) throw new Error(`bus ${busId} has no M-Bus meter with a serial port`);
  return openOn(busId, meters, port, { clock: context?.clock });
}
