// The fake BlueZ (src/drivers/shared/bluez/), as this driver's virtual devices plug into it: the gateway's
// simulated adapter, shared with a simulated BLE line.

export type {
  CharacteristicRef,
  GattServiceSpec,
  Peripheral,
  PeripheralLink,
} from '../../shared/bluez/simulator/gattPeripheral.js';
export type { FakeGattDevice, GattDeviceSpec } from '../../shared/bluez/simulator/gattDevice.js';
export { BluezSimulator } from '../../shared/bluez/simulator/simulator.js';
export { SIMULATED_ADAPTER, sharedSimulator } from '../../shared/bluez/simulator/perGateway.js';
