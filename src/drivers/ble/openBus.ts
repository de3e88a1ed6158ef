import type { DeviceConfig } from '../../config/index.js';
import { DEFAULT_BLE_OFFLINE_AFTER_MS } from './lineConfig.js';
import { getLogger } from '../../logging/index.js';
import type { GatewayClock } from '../../machines/clock.js';
import type { ActorInspector } from '../contract.js';
import type { WatchdogSettings } from './watchdogMachine.js';
import { heardBleSensors } from './heard.js';
import { BleBusRuntime } from './runtime.js';
import type { BleSensorSpec } from './sensors.js';
import { findDbusDaemon } from './simulator/daemon.js';
import { type SensorSpec, sensorSpec } from './simulator/sensors.js';
import { BluezSimulator } from './simulator/simulator.js';

// The driver catalogue's openers: `transport: bluez` runs the BLE runtime on the system bus (or the
// adapter device's `bus_address`); `transport: simulated` runs the same runtime on a fake BlueZ started
// in this process on a private dbus-daemon, with a simulated sensor for every configured one (and three
// demo sensors when none is configured, for auto_add to find), so the demo and the tests exercise the
// whole D-Bus path without Bluetooth. Without dbus-daemon the caller falls back to the generic
// simulated device.

type BleDevice = Extract<DeviceConfig, { driver: 'ble' }>;

export const DEFAULT_WATCHDOG: WatchdogSettings = {
  intervalMs: 60_000,
  stuckAfterMs: 120_000,
  verifyAfterMs: 15_000,
};

function bleDevices(devices: readonly DeviceConfig[]): BleDevice[] {
  return devices.flatMap((device) => (device.driver === 'ble' ? [device] : []));
}

function openOn(
  busId: string,
  devices: readonly BleDevice[],
  clock: GatewayClock,
  inspect: ActorInspector | undefined,
  busAddress: () => Promise<string | undefined>,
  macOf: (device: BleDevice, index: number) => string | undefined,
): BleBusRuntime {
  const adapterDevice = devices.find((device) => device.role === 'adapter');
  const adapter = adapterDevice?.adapter ?? devices[0]?.adapter ?? 'hci0';
  const sensors = devices.filter((device) => device.role !== 'adapter');
  const watchdog = adapterDevice?.watchdog;
  const logger = getLogger(busId);
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
    clock,
    inspect,
    onHeard: (sensor) => heardBleSensors.report(sensor),
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
  clock: GatewayClock,
  inspect?: ActorInspector,
): BleBusRuntime {
  const ble = bleDevices(devices);
  const address = ble.find((device) => device.role === 'adapter')?.bus_address;
  return openOn(
    busId,
    ble,
    clock,
    inspect,
    () => Promise.resolve(address),
    (device) => device.mac,
  );
}

interface RunningSimulator {
  simulator: BluezSimulator;
  started: Promise<void>;
}

/**
 * The fake BlueZ of each simulated bus, kept across bus restarts (an auto-added sensor restarts the bus;
 * the sensors must stay the same). Tests reach them to inject faults; stopSimulatedBluez() ends them.
 */
export const simulatedBluez = new Map<string, RunningSimulator>();

/** Sensor n of a simulated bus whose config gives no MAC (stable across restarts: by position). */
const simulatedSpec = (index: number) => sensorSpec('bthome', 200 + index);

function sensorsFor(sensors: readonly BleDevice[]): SensorSpec[] {
  let unnamed = 0;
  return sensors.map((device) => {
    if (device.mac === undefined) return simulatedSpec(unnamed++);
    const base = sensorSpec('bthome', 300);
    return {
      ...base,
      mac: device.mac,
      name: device.name ?? `BTHome ${device.mac.slice(-5)}`,
      ...(device.bind_key ? { bindKey: device.bind_key } : {}),
    };
  });
}

/** The simulated bus, or undefined when dbus-daemon is not installed (the caller falls back). */
export function openSimulatedBleBus(
  busId: string,
  devices: readonly DeviceConfig[],
  clock: GatewayClock,
  inspect?: ActorInspector,
): BleBusRuntime | undefined {
  if (findDbusDaemon() === undefined) return undefined;
  const ble = bleDevices(devices);
  const sensors = ble.filter((device) => device.role !== 'adapter');
  const specs = sensorsFor(sensors);
  let running = simulatedBluez.get(busId);
  if (running === undefined) {
    const logger = getLogger(`${busId}.bluez-sim`);
    const simulator = new BluezSimulator({
      // Nothing configured yet: sensors of every kind for auto_add (or a scan) to find.
      sensors:
        specs.length > 0 ? specs : [sensorSpec('bthome', 1), sensorSpec('ruuvi', 1), sensorSpec('pvvx', 1)],
      log: (line) => logger.debug(line),
    });
    const created: RunningSimulator = { simulator, started: simulator.start() };
    created.started.catch(() => {
      // The next open tries again (the error reaches the devices through the failed bring-up).
      if (simulatedBluez.get(busId) === created) simulatedBluez.delete(busId);
    });
    running = created;
    simulatedBluez.set(busId, running);
  } else {
    const known = new Set(running.simulator.sensors.map((sensor) => sensor.spec.mac));
    for (const spec of specs) if (!known.has(spec.mac)) running.simulator.addSensor(spec);
  }
  const current = running;
  return openOn(
    busId,
    ble,
    clock,
    inspect,
    async () => {
      await current.started;
      return current.simulator.address;
    },
    (_device, index) => specs[index]?.mac,
  );
}

/** Stops every fake BlueZ of this process (the gateway's shutdown). */
export async function stopSimulatedBluez(): Promise<void> {
  const running = [...simulatedBluez.values()];
  simulatedBluez.clear();
  await Promise.all(running.map(({ simulator }) => simulator.stop().catch(() => undefined)));
}
