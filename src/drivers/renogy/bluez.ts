// The one door of this driver into the BLE driver's connected-BLE layer (BlueZ over D-Bus: connects
// serialised per adapter with the BLE line's discovery paused, links, named failures). That layer is
// generic and belongs in src/drivers/shared/ once a second connected driver needs it; until it moves,
// every use goes through this file, the one place the driver boundary lets name it (a known offender).

export { type ConnectedHost, connectedHost, type HostOptions } from '../ble/connectedHost.js';
export {
  type CharacteristicPair,
  GattAdapter,
  GattFailure,
  type GattFailureKind,
  type GattLink,
  type GattNotification,
} from '../ble/gatt/index.js';
