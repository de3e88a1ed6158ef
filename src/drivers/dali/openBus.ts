import type { DeviceConfig } from '../../config/index.js';
import { getLogger } from '../../logging/index.js';
import type { OpenContext } from '../contract.js';
import type { HidEnumerator } from './hidTransport.js';
import type { LightTarget } from './lamps.js';
import { nodeHidEnumerator } from './nodeHid.js';
import { DaliBusRuntime } from './runtime.js';

// `transport: hid`: a real hasseb adapter through node-hid (itself loaded when hardware is first looked
// for). Loaded by the driver's lazy opener; the simulated transport is in simulatedBus.ts.

export function lightTarget(device: {
  address?: number | undefined;
  group?: number | undefined;
}): LightTarget {
  if (device.address !== undefined) return { short: device.address };
  return device.group !== undefined ? { group: device.group } : { broadcast: true };
}

export type DaliDevice = Extract<DeviceConfig, { driver: 'dali' }>;

export function daliDevices(devices: readonly DeviceConfig[]): DaliDevice[] {
  return devices.flatMap((device) => (device.driver === 'dali' ? [device] : []));
}

export function openOn(
  busId: string,
  enumerator: HidEnumerator,
  devices: readonly DaliDevice[],
  context: Pick<OpenContext, 'clock'> | undefined,
): DaliBusRuntime {
  const logger = getLogger(`dali:${busId}`);
  return new DaliBusRuntime(busId, {
    enumerator,
    adapterSerial: devices[0]?.adapter_serial,
    lights: devices.map((device) => ({
      deviceId: device.id,
      target: device.role === 'adapter' ? ('adapter' as const) : lightTarget(device),
    })),
    log: (message) => logger.info(message),
    clock: context?.clock,
  });
}

export function openDaliBus(
  busId: string,
  devices: readonly DeviceConfig[],
  context?: Pick<OpenContext, 'clock'>,
): DaliBusRuntime {
  return openOn(busId, nodeHidEnumerator, daliDevices(devices), context);
}
