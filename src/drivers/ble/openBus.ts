import type { DeviceConfig } from '../../config/index.js';
import { DEFAULT_BLE_OFFLINE_AFTER_MS } from './lineConfig.js';
import { getLogger } from '../../logging/index.js';
import type { OpenContext } from '../contract.js';
import type { WatchdogSettings } from './watchdogMachine.js';
import { DbusCallStats } from '../shared/bluez/dbus/stats.js';
import { BleBusRuntime } from './runtime.js';
import type { BleSensorSpec } from './sensors.js';
import { connectedHost } from '../shared/bluez/connectedHost.js';

// `transport: bluez`: the BLE runtime on the system bus (or the adapter device's `bus_address`). Loaded
// by the driver's lazy opener, so a gateway without BLE never loads dbus-next; the simulated transport
// is in simulatedBus.ts. What a runtime hears and how its D-Bus calls go reaches the gateway through
// the OpenContext it was opened with.

export type BleDevice = Extract<DeviceConfig, { driver: 'ble' }>;

export const DEFAULT_WATCHDOG: WatchdogSettings = {
  intervalMs: 60_000,
  stuckAfterMs: 120_000,
  verifyAfterMs: 15_000,
};

export function bleDevices(devices: readonly DeviceConfig[]): BleDevice[] {
  return devices.flatMap((device) => (device.driver === 'ble' ? [device] : []));
}

export function openOn(
  busId: string,
  devices: readonly BleDevice[],
  context: OpenContext,
  busAddress: () => Promise<string | undefined>,
  macOf: (device: BleDevice, index: number) => string | undefined,
): BleBusRuntime {
  const adapterDevice = devices.find((device) => device.role === 'adapter');
  const adapter = adapterDevice?.adapter ?? devices[0]?.adapter ?? 'hci0';
  const sensors = devices.filter((device) => device.role !== 'adapter');
  const watchdog = adapterDevice?.watchdog;
  const logger = getLogger(busId);
  const stats = new DbusCallStats();
  stats.listen((operation, ms, outcome) =>
    context.recordCall({ driver: 'ble', operation, seconds: ms / 1000, outcome }),
  );
  // The adapter's one D-Bus connection in this gateway, shared with its connected devices (Renogy).
  const host = connectedHost(context, adapter, { busAddress });
  return new BleBusRuntime(busId, {
    adapter,
    adapterDeviceId: adapterDevice?.id,
    sensors: sensors.map((device, index): BleSensorSpec => ({
      deviceId: device.id,
      mac: macOf(device, index) ?? '',
      bindKey: device.bind_key,
      offlineAfterMs: device.offline_after_ms ?? DEFAULT_BLE_OFFLINE_AFTER_MS,
    })),
    busAddress,
    watchdog: watchdog
      ? {
          intervalMs: watchdog.interval_ms,
          stuckAfterMs: watchdog.stuck_after_ms,
          verifyAfterMs: watchdog.verify_after_ms,
        }
      : DEFAULT_WATCHDOG,
    clock: context.clock,
    inspect: context.inspect,
    stats,
    onHeard: (sensor) => context.heard(sensor),
    onHeardDevice: (device) => context.heard(device),
    host,
    connection: host.connection,
    powerCycles: host.powerCycles,
    log: {
      info: (message) => logger.info(message),
      warn: (message) => logger.warn(message),
      debug: (message) => logger.debug(message),
    },
  });
}

export function openBleBus(
  busId: string,
  devices: readonly DeviceConfig[],
  context: OpenContext,
): BleBusRuntime {
  const ble = bleDevices(devices);
  const address = ble.find((device) => device.role === 'adapter')?.bus_address;
  return openOn(
    busId,
    ble,
    context,
    () => Promise.resolve(address),
    (device) => device.mac,
  );
}
