// Connected BLE (GATT) on a BlueZ adapter: the public face for the runtimes that connect to devices
// (Renogy BT-1/BT-2, …). Generic: no device protocol is known here.

export { GattAdapter, type ConnectOptions, type GattAdapterOptions, type ScanControl } from './adapter.js';
export { GattLink, type GattNotification, type ReadOptions, type WriteOptions } from './link.js';
export { GattFailure, type GattFailureKind } from './failures.js';
export { type CharacteristicPair, fullUuid } from './tree.js';
