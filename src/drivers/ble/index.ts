import type { DriverModule } from '../contract.js';
import { openSimulatedBus } from '../simulated/index.js';
import { bleEntities, bleExpireAfterS, bleModel } from './entities.js';
import { openBleBus, openSimulatedBleBus } from './openBus.js';

// BLE sensors (BTHome, Ruuvi, Xiaomi custom firmwares) heard through BlueZ over D-Bus.

export const bleDriver: DriverModule = {
  name: 'ble',
  definition: {
    name: 'ble',
    // Each stuck scan climbs from stop_discovery: the supervisor resets the ladder once the adapter
    // watchdog has verified a step (advertisements again). A power cycle is what a wedged controller
    // needs, hence its own limit; restart_actor is reset only by a stable period, as a fresh
    // connection always looks healthy at first.
    recoverySteps: [
      { name: 'stop_discovery' },
      { name: 'power_cycle_adapter', maxPerHour: 10 },
      { name: 'restart_actor' },
    ],
  },
  transports: {
    bluez: openBleBus,
    // The BLE runtime on an in-process fake BlueZ; without dbus-daemon, the generic simulated device.
    simulated: (busId, devices, clock, inspect) =>
      openSimulatedBleBus(busId, devices, clock, inspect) ?? openSimulatedBus(busId, devices, clock),
  },
  model: { manufacturer: 'BLE', model: 'Sensor' },
  describe: bleModel,
  entities: (device, state) => bleEntities(device, state),
  expireAfterS: bleExpireAfterS,
  // Sensors only advertise; the adapter device reports by itself (its watchdog).
  commands: {},
};
