import type { DeviceConfig } from '../../config/index.js';
import { getLogger } from '../../logging/index.js';
import type { OpenContext } from '../contract.js';
import { connectedHost } from './bluez.js';
import type { RenogyDeviceSpec } from './reader.js';
import { RenogyBusRuntime } from './runtime.js';

// `transport: bluez`: the Renogy devices of one adapter, read through that adapter's connected-BLE
// host on the system bus (or the devices' `bus_address`). Loaded on first use, so a gateway without
// Renogy devices never loads it.

export type RenogyDevice = Extract<DeviceConfig, { driver: 'renogy' }>;

export function renogyDevices(devices: readonly DeviceConfig[]): RenogyDevice[] {
  return devices.flatMap((device) => (device.driver === 'renogy' ? [device] : []));
}

export function specOf(device: RenogyDevice, mac: string): RenogyDeviceSpec {
  return {
    deviceId: device.id,
    mac,
    family: device.family,
    modbusId: device.device_id,
    topology: device.topology,
    connectTimeoutMs: device.connect_timeout_ms,
  };
}

export function openRenogyOn(
  busId: string,
  devices: readonly RenogyDevice[],
  context: OpenContext,
  busAddress: () => Promise<string | undefined>,
  macOf: (device: RenogyDevice) => string,
): RenogyBusRuntime {
  const adapter = devices[0]?.adapter ?? 'hci0';
  const logger = getLogger(busId);
  const log = {
    info: (message: string) => logger.info(message),
    warn: (message: string) => logger.warn(message),
    debug: (message: string) => logger.debug(message),
  };
  return new RenogyBusRuntime(busId, {
    host: connectedHost(context, adapter, { busAddress, log }),
    devices: devices.map((device) => specOf(device, macOf(device))),
    clock: context.clock,
    log,
    // No series of its own: the generic one, fieldbridge_transport_call_duration_seconds{driver="renogy"}.
    recordCall: (operation, ms, outcome) =>
      context.recordCall({ driver: 'renogy', operation, seconds: ms / 1000, outcome }),
  });
}

export function openRenogyBus(
  busId: string,
  devices: readonly DeviceConfig[],
  context: OpenContext,
): RenogyBusRuntime {
  const renogy = renogyDevices(devices);
  const address = renogy.find((device) => device.bus_address !== undefined)?.bus_address;
  // The schema requires a MAC on this transport.
  return openRenogyOn(
    busId,
    renogy,
    context,
    () => Promise.resolve(address),
    (device) => device.mac ?? '',
  );
}
