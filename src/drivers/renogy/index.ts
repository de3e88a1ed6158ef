import { type DriverModule, lazyOpener } from '../contract.js';
import { type RenogyDevice, renogyConfig } from './config.js';
import { renogyCapabilities, renogyModel } from './capabilities.js';
import { renogyDecoder } from './decode.js';
import { renogyDemo } from './demo.js';
import { RenogyOffers } from './offers.js';
import { ADAPTER_POWER_CYCLES_PER_HOUR } from '../shared/bluez/powerCycles.js';

// Renogy solar charge controllers, batteries, DC-DC chargers and inverters behind a BT-1/BT-2 module
// (or with built-in BLE): Modbus RTU over BLE GATT, on the adapter a BLE line supervises; and the
// Smart Shunt 300, read from the frames it streams.

export const renogyDriver: DriverModule<RenogyDevice, never> = {
  name: 'renogy',
  definition: {
    name: 'renogy',
    // A failed poll is retried by the next one; a device that stays down climbs: a fresh session at
    // once, then BlueZ's device object and GATT cache dropped, then the adapter power-cycled (at most
    // ten times an hour per adapter, shared with the BLE line's watchdog), then the actor restarted.
    recoverySteps: [
      { name: 'reconnect' },
      { name: 'remove_device' },
      { name: 'power_cycle_adapter', maxPerHour: ADAPTER_POWER_CYCLES_PER_HOUR },
      { name: 'restart_actor' },
    ],
  },
  model: { manufacturer: 'Renogy', model: 'BT module device' },
  describe: renogyModel,
  config: renogyConfig,
  capabilities: renogyCapabilities,
  decode: renogyDecoder,
  demo: renogyDemo,
  // Never added by themselves (one central at a time): a Renogy name a BLE line hears is offered once.
  autoAdd: (dependencies) => new RenogyOffers(dependencies),
  transports: {
    bluez: lazyOpener(
      () => import('./openBus.js'),
      (loaded) => loaded.openRenogyBus,
    ),
    simulated: lazyOpener(
      () => import('./simulatedBus.js'),
      (loaded) => loaded.openSimulatedRenogyBus,
    ),
  },
};
