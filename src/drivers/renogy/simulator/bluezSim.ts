// The fake BlueZ of the BLE driver's simulator, as this driver's virtual devices plug into it: the one
// door of renogy/simulator/ into it (a known offender of the driver boundary until the connected-BLE
// fake moves to src/drivers/shared/; see ../bluez.ts).

export type {
  CharacteristicRef,
  GattServiceSpec,
  Peripheral,
  PeripheralLink,
} from '../../ble/simulator/gattPeripheral.js';
export type { FakeGattDevice, GattDeviceSpec } from '../../ble/simulator/gattDevice.js';
export { BluezSimulator } from '../../ble/simulator/simulator.js';
export { sharedSimulator } from '../../ble/simulatedBus.js';
export { bleBus as adapterBus } from '../../ble/lineConfig.js';
