import type { DeviceConfig } from '../../config/index.js';
import type { BusRuntime, OpenContext } from '../contract.js';
import { openSimulatedBus } from '../shared/simulatedBus.js';
import { bleDriver } from './index.js';
import { type BleDevice, bleDevices, openOn } from './openBus.js';
import { findDbusDaemon } from '../shared/bluez/dbusDaemon.js';
import { type SensorSpec, sensorSpec } from '../shared/bluez/simulator/sensors.js';
import { SIMULATED_ADAPTER, sharedSimulator } from '../shared/bluez/simulator/perGateway.js';

// `transport: simulated`: the bluez transport's runtime on a fake BlueZ started in this process on a
// private dbus-daemon, with a simulated sensor for every configured one (and three demo sensors when
// none is configured, for auto_add to find), so the demo and the tests exercise the whole D-Bus path
// without Bluetooth. Without dbus-daemon, the generic simulated device. Loaded only when a config has
// a simulated BLE line.

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

/** The simulated bus, or the generic simulated device when dbus-daemon is not installed. */
export function openSimulatedBleBus(
  busId: string,
  devices: readonly DeviceConfig[],
  context: OpenContext,
): BusRuntime {
  if (findDbusDaemon() === undefined)
    return openSimulatedBus(busId, devices, context, false, bleDriver.definition.recoverySteps);
  const ble = bleDevices(devices);
  const sensors = ble.filter((device) => device.role !== 'adapter');
  const specs = sensorsFor(sensors);
  const running = sharedSimulator(context, SIMULATED_ADAPTER, specs);
  const current = running;
  return openOn(
    busId,
    ble,
    context,
    async () => {
      await current.started;
      return current.simulator.address;
    },
    (_device, index) => specs[index]?.mac,
  );
}
