import type { DeviceConfig } from '../../config/index.js';
import type { BusRuntime, OpenContext } from '../contract.js';
import { openSimulatedBus } from '../shared/simulatedBus.js';
import { renogyDriver } from './index.js';
import { openRenogyOn, renogyDevices, type RenogyDevice } from './openBus.js';
import { adapterBus, findDbusDaemon, type GattDeviceSpec, sharedSimulator } from './simulator/bluezSim.js';
import { bt1Controller, bt2BatteryHub, proBattery } from './simulator/devices.js';

// `transport: simulated`: the Renogy runtime on the fake BlueZ the simulated BLE line of this gateway
// runs (one is started when no line did), with a virtual device for every configured one that is not
// there yet — a BT-1 with a charge controller, a BT-2 on a hub of batteries, or a Pro battery, as its
// family and topology say — so the sensors and the Renogy devices share one simulated radio. Without
// dbus-daemon, the generic simulated device.

function virtualDevice(device: RenogyDevice): GattDeviceSpec {
  if (device.family === 'battery') {
    return device.topology === 'hub' ? bt2BatteryHub(device.mac) : proBattery(device.mac);
  }
  return bt1Controller(device.mac);
}

/** The simulated adapter's bus (the BLE line's `simulated` one). */
const SIMULATED_LINE = adapterBus((key) => (key === 'transport' ? 'simulated' : undefined));

export function openSimulatedRenogyBus(
  busId: string,
  devices: readonly DeviceConfig[],
  context: OpenContext,
): BusRuntime {
  if (findDbusDaemon() === undefined)
    return openSimulatedBus(busId, devices, context, false, renogyDriver.definition.recoverySteps);
  const renogy = renogyDevices(devices);
  const running = sharedSimulator(context, SIMULATED_LINE, []);
  const known = new Set(running.simulator.gattDevices.map((device) => device.spec.mac));
  for (const device of renogy) {
    if (!known.has(device.mac)) running.simulator.addGattDevice(virtualDevice(device));
  }
  return openRenogyOn(busId, renogy, context, async () => {
    await running.started;
    return running.simulator.address;
  });
}
