// What this driver uses of the connected-BLE layer (src/drivers/shared/bluez/: connects serialised per
// adapter with the BLE line's discovery paused, links, named failures), in one place.

export { type ConnectedHost, connectedHost, type HostOptions } from '../shared/bluez/connectedHost.js';
export type { CallListener } from '../shared/bluez/dbus/stats.js';
export { ADAPTER_POWER_CYCLES_PER_HOUR, PowerCycleRefused } from '../shared/bluez/powerCycles.js';
export {
  type CharacteristicPair,
  GattAdapter,
  GattFailure,
  type GattFailureKind,
  type GattLink,
  type GattNotification,
} from '../shared/bluez/gatt/index.js';
