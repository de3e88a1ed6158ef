import type { DeviceConfig } from '../../config/index.js';
import type { BusRuntime, OpenContext } from '../contract.js';
import { openSimulatedBus } from '../shared/simulatedBus.js';
import { renogyDriver } from './index.js';
import { openRenogyOn, renogyDevices, type RenogyDevice } from './openBus.js';
import { findDbusDaemon } from './dbusDaemon.js';
import { type GattDeviceSpec, SIMULATED_ADAPTER, sharedSimulator } from './simulator/bluezSim.js';
import { bt1Controller, bt2BatteryHub, inverter, proBattery, smartShunt } from './simulator/devices.js';

// `transport: simulated`: the Renogy runtime on the fake BlueZ the simulated BLE line of this gateway
// runs (one is started when no line did), with a virtual device for every configured one that is not
// there yet — a BT-1 with a charge controller, a BT-2 on a hub of batteries, a Pro battery, an
// inverter or a Smart Shunt, as its family and topology say — so the sensors and the Renogy devices
// share one simulated radio. Without dbus-daemon, the generic simulated device.

function virtualDevice(device: RenogyDevice, mac: string): GattDeviceSpec {
  switch (device.family) {
    case 'battery':
      return device.topology === 'hub' ? bt2BatteryHub(mac) : proBattery(mac);
    case 'inverter':
      return inverter(mac);
    case 'shunt':
      return smartShunt(mac);
    default:
      return bt1Controller(mac);
  }
}

/** A simulated device configured without a MAC gets one by its position (stable across restarts). */
const macOf = (device: RenogyDevice, index: number): string =>
  device.mac ?? `C4:D3:6A:00:01:${(index + 1).toString(16).padStart(2, '0').toUpperCase()}`;

export function openSimulatedRenogyBus(
  busId: string,
  devices: readonly DeviceConfig[],
  context: OpenContext,
): BusRuntime {
  if (findDbusDaemon() === undefined)
    return openSimulatedBus(busId, devices, context, false, renogyDriver.definition.recoverySteps);
  const renogy = renogyDevices(devices);
  const running = sharedSimulator(context, SIMULATED_ADAPTER, []);
  const known = new Set(running.simulator.gattDevices.map((device) => device.spec.mac));
  const macs = new Map(renogy.map((device, index) => [device.id, macOf(device, index)]));
  for (const device of renogy) {
    const mac = macs.get(device.id) ?? '';
    if (!known.has(mac)) running.simulator.addGattDevice(virtualDevice(device, mac));
  }
  return openRenogyOn(
    busId,
    renogy,
    context,
    async () => {
      await running.started;
      return running.simulator.address;
    },
    (device) => macs.get(device.id) ?? '',
  );
}
