import {
  ADAPTER1,
  type AdapterProps,
  adapterProps,
  BLUEZ,
  type BluezObject,
  bluezObject,
  DEVICE1,
  type DeviceProps,
  deviceProps,
  GATT_CHARACTERISTIC1,
  type GattCharacteristicProps,
  gattCharacteristicProps,
  OBJECT_MANAGER,
  PROPERTIES,
  stringList,
} from './values.js';

// BlueZ's signals as the BLE driver subscribes to them: one match rule for every PropertiesChanged under
// /org/bluez (path_namespace, not one rule per device), the ObjectManager's InterfacesAdded/Removed, and
// org.bluez changing hands (bluetoothd restarting). Each signal becomes a typed BluezEvent here.

export const BUS_NAME = 'org.freedesktop.DBus';
export const BUS_PATH = '/org/freedesktop/DBus';

export const MATCH_RULES = [
  `type='signal',sender='${BLUEZ}',interface='${PROPERTIES}',member='PropertiesChanged',path_namespace='/org/bluez'`,
  `type='signal',sender='${BLUEZ}',interface='${OBJECT_MANAGER}',member='InterfacesAdded'`,
  `type='signal',sender='${BLUEZ}',interface='${OBJECT_MANAGER}',member='InterfacesRemoved'`,
  `type='signal',sender='${BUS_NAME}',interface='${BUS_NAME}',member='NameOwnerChanged',arg0='${BLUEZ}'`,
];

export type BluezEvent =
  | { type: 'adapter'; path: string; changed: AdapterProps }
  | { type: 'device'; path: string; changed: DeviceProps }
  /** A remote characteristic changed: a notification (Value) or Notifying. */
  | { type: 'characteristic'; path: string; changed: GattCharacteristicProps }
  | { type: 'added'; path: string; object: BluezObject }
  | { type: 'removed'; path: string; adapter: boolean; device: boolean }
  /** org.bluez changed hands: '' while bluetoothd is gone, its new unique name when it is back. */
  | { type: 'owner'; owner: string }
  /** The D-Bus connection itself ended (dbus-daemon gone, socket error). */
  | { type: 'closed'; reason: string };

/** What a signal says, as far as the driver is concerned. */
export interface SignalFields {
  interface: string | undefined;
  member: string | undefined;
  path: string;
  sender: string | undefined;
  body: readonly unknown[];
}

/**
 * The event a signal carries, or undefined for anything else. `owner` is the current owner of org.bluez:
 * a late signal of a bluetoothd that is gone (or another service's) is ignored.
 */
export function bluezEventOf(signal: SignalFields, owner: string | undefined): BluezEvent | undefined {
  const { body } = signal;
  if (signal.interface === BUS_NAME && signal.member === 'NameOwnerChanged') {
    if (body[0] !== BLUEZ) return undefined;
    return { type: 'owner', owner: typeof body[2] === 'string' ? body[2] : '' };
  }
  if (owner && signal.sender !== owner) return undefined;
  if (signal.interface === PROPERTIES && signal.member === 'PropertiesChanged') {
    const [iface, changed] = body;
    if (iface === ADAPTER1) return { type: 'adapter', path: signal.path, changed: adapterProps(changed) };
    if (iface === DEVICE1) return { type: 'device', path: signal.path, changed: deviceProps(changed) };
    if (iface === GATT_CHARACTERISTIC1) {
      return { type: 'characteristic', path: signal.path, changed: gattCharacteristicProps(changed) };
    }
    return undefined;
  }
  if (signal.interface !== OBJECT_MANAGER) return undefined;
  const [path, interfaces] = body;
  if (typeof path !== 'string') return undefined;
  if (signal.member === 'InterfacesAdded') return { type: 'added', path, object: bluezObject(interfaces) };
  if (signal.member === 'InterfacesRemoved') {
    const names = stringList(interfaces);
    return { type: 'removed', path, adapter: names.includes(ADAPTER1), device: names.includes(DEVICE1) };
  }
  return undefined;
}
