import dbus from 'dbus-next';

// BlueZ's objects as plain typed values. dbus-next hands out Variants (and `any` in its types); they are
// unwrapped here, once, so nothing above the D-Bus client sees a Variant or an untyped value. Only the
// properties the BLE driver uses are read; anything of an unexpected type is left out rather than
// trusted (a field BlueZ omits is simply absent, as RSSI is before a device was heard).

export const BLUEZ = 'org.bluez';
export const ADAPTER1 = 'org.bluez.Adapter1';
export const DEVICE1 = 'org.bluez.Device1';
export const GATT_SERVICE1 = 'org.bluez.GattService1';
export const GATT_CHARACTERISTIC1 = 'org.bluez.GattCharacteristic1';
export const PROPERTIES = 'org.freedesktop.DBus.Properties';
export const OBJECT_MANAGER = 'org.freedesktop.DBus.ObjectManager';

export interface AdapterProps {
  address?: string;
  powered?: boolean;
  discovering?: boolean;
}

export interface DeviceProps {
  address?: string;
  /** Name, or Alias when the device sent no name. */
  name?: string;
  rssi?: number;
  /** Company id → bytes after it. */
  manufacturerData?: Record<number, Uint8Array>;
  /** Service UUID (128-bit text, as BlueZ gives it) → bytes. */
  serviceData?: Record<string, Uint8Array>;
  /** The adapter object the device was heard on (/org/bluez/hci0). */
  adapter?: string;
  /** A link to the device is up (connected BLE only; a scanned sensor stays false). */
  connected?: boolean;
  /** BlueZ finished service discovery on the link (its GATT objects are then current). */
  servicesResolved?: boolean;
}

/** org.bluez.GattService1 of a remote device (doc/org.bluez.GattService.rst). */
export interface GattServiceProps {
  /** 128-bit UUID, lower case as BlueZ gives it. */
  uuid?: string;
  /** The Device1 object it belongs to. */
  device?: string;
  primary?: boolean;
}

/** org.bluez.GattCharacteristic1 of a remote device (doc/org.bluez.GattCharacteristic.rst). */
export interface GattCharacteristicProps {
  uuid?: string;
  /** The GattService1 object it belongs to. */
  service?: string;
  /** read, write, write-without-response, notify, indicate, … */
  flags?: string[];
  notifying?: boolean;
  /** The cached value: updated by a read or a notification (PropertiesChanged carries each one). */
  value?: Uint8Array;
}

/** One object of GetManagedObjects / InterfacesAdded, as far as the driver cares. */
export interface BluezObject {
  adapter?: AdapterProps;
  device?: DeviceProps;
  gattService?: GattServiceProps;
  gattCharacteristic?: GattCharacteristicProps;
}

/** A Variant's value, recursively (a Variant may hold a Variant). */
export function unwrap(value: unknown): unknown {
  let current = value;
  while (current instanceof dbus.Variant) current = (current as { value: unknown }).value;
  return current;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

const text = (value: unknown): string | undefined => {
  const plain = unwrap(value);
  return typeof plain === 'string' ? plain : undefined;
};
const flag = (value: unknown): boolean | undefined => {
  const plain = unwrap(value);
  return typeof plain === 'boolean' ? plain : undefined;
};
const integer = (value: unknown): number | undefined => {
  const plain = unwrap(value);
  return typeof plain === 'number' && Number.isInteger(plain) ? plain : undefined;
};

/** `a{sv}` / `a{qv}` of byte arrays → key → bytes; entries that are not bytes are dropped. */
function bytesByKey(value: unknown): Record<string, Uint8Array> | undefined {
  const plain = unwrap(value);
  if (!isRecord(plain)) return undefined;
  const result: Record<string, Uint8Array> = {};
  for (const [key, entry] of Object.entries(plain)) {
    const bytes = bytesOf(entry);
    if (bytes !== undefined) result[key] = bytes;
  }
  return result;
}

function set<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

/** Adapter1 properties (a{sv}, from GetManagedObjects, InterfacesAdded or PropertiesChanged). */
export function adapterProps(raw: unknown): AdapterProps {
  const props: AdapterProps = {};
  if (!isRecord(raw)) return props;
  set(props, 'address', text(raw.Address));
  set(props, 'powered', flag(raw.Powered));
  set(props, 'discovering', flag(raw.Discovering));
  return props;
}

/** Device1 properties (a{sv}). */
export function deviceProps(raw: unknown): DeviceProps {
  const props: DeviceProps = {};
  if (!isRecord(raw)) return props;
  set(props, 'address', text(raw.Address)?.toUpperCase());
  set(props, 'name', text(raw.Name) ?? text(raw.Alias));
  set(props, 'rssi', integer(raw.RSSI));
  set(props, 'adapter', text(raw.Adapter));
  set(props, 'connected', flag(raw.Connected));
  set(props, 'servicesResolved', flag(raw.ServicesResolved));
  set(props, 'serviceData', bytesByKey(raw.ServiceData));
  const manufacturer = bytesByKey(raw.ManufacturerData);
  if (manufacturer !== undefined) {
    const byId: Record<number, Uint8Array> = {};
    for (const [key, bytes] of Object.entries(manufacturer)) {
      const id = Number(key);
      if (Number.isInteger(id)) byId[id] = bytes;
    }
    props.manufacturerData = byId;
  }
  return props;
}

/** A byte array (`ay`) as dbus-next hands it (Buffer, or a number array inside a Variant). */
export function bytesOf(value: unknown): Uint8Array | undefined {
  const plain = unwrap(value);
  if (plain instanceof Uint8Array) return plain;
  if (Array.isArray(plain) && plain.every((b) => typeof b === 'number')) return Uint8Array.from(plain);
  return undefined;
}

/** GattService1 properties (a{sv}). */
export function gattServiceProps(raw: unknown): GattServiceProps {
  const props: GattServiceProps = {};
  if (!isRecord(raw)) return props;
  set(props, 'uuid', text(raw.UUID)?.toLowerCase());
  set(props, 'device', text(raw.Device));
  set(props, 'primary', flag(raw.Primary));
  return props;
}

/** GattCharacteristic1 properties (a{sv}). */
export function gattCharacteristicProps(raw: unknown): GattCharacteristicProps {
  const props: GattCharacteristicProps = {};
  if (!isRecord(raw)) return props;
  set(props, 'uuid', text(raw.UUID)?.toLowerCase());
  set(props, 'service', text(raw.Service));
  if ('Flags' in raw) props.flags = stringList(raw.Flags);
  set(props, 'notifying', flag(raw.Notifying));
  set(props, 'value', bytesOf(raw.Value));
  return props;
}

/** The interfaces of one object (a{sa{sv}}) → what the driver uses of them. */
export function bluezObject(raw: unknown): BluezObject {
  const object: BluezObject = {};
  if (!isRecord(raw)) return object;
  if (ADAPTER1 in raw) object.adapter = adapterProps(raw[ADAPTER1]);
  if (DEVICE1 in raw) object.device = deviceProps(raw[DEVICE1]);
  if (GATT_SERVICE1 in raw) object.gattService = gattServiceProps(raw[GATT_SERVICE1]);
  if (GATT_CHARACTERISTIC1 in raw) {
    object.gattCharacteristic = gattCharacteristicProps(raw[GATT_CHARACTERISTIC1]);
  }
  return object;
}

/** GetManagedObjects' a{oa{sa{sv}}} → path → object (objects of no interface used here are left out). */
export function managedObjects(raw: unknown): Map<string, BluezObject> {
  const objects = new Map<string, BluezObject>();
  if (!isRecord(raw)) return objects;
  for (const [path, interfaces] of Object.entries(raw)) {
    const object = bluezObject(interfaces);
    if (object.adapter || object.device || object.gattService || object.gattCharacteristic) {
      objects.set(path, object);
    }
  }
  return objects;
}

/** The MAC of a Device1 object from its path (/org/bluez/hci0/dev_AA_BB_…), for signals without Address. */
export function macOfPath(path: string): string | undefined {
  const match = /\/dev_([0-9A-Fa-f]{2}(?:_[0-9A-Fa-f]{2}){5})$/.exec(path);
  return match?.[1]?.replace(/_/g, ':').toUpperCase();
}

/** A string list (`as`), e.g. the interfaces of InterfacesRemoved. */
export function stringList(raw: unknown): string[] {
  const plain = unwrap(raw);
  return Array.isArray(plain) ? plain.filter((item): item is string => typeof item === 'string') : [];
}
