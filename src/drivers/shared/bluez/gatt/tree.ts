import type { BluezEvent } from '../dbus/client.js';
import type { BluezObject, DeviceProps, GattCharacteristicProps } from '../dbus/values.js';

// BlueZ's object tree as far as connected devices go, kept current from GetManagedObjects and the
// signals: each device's Connected/ServicesResolved and last advertisement, its GattService1 and
// GattCharacteristic1 objects. A characteristic is looked up by its (service UUID, characteristic UUID)
// pair, because some devices expose one characteristic UUID under two services (renogy.md §1.2).

/** A characteristic as the caller names it; 16-bit UUIDs ("ffd1") are taken on the Bluetooth base. */
export interface CharacteristicPair {
  service: string;
  characteristic: string;
}

export interface CharacteristicEntry {
  path: string;
  devicePath: string;
  uuid: string;
  serviceUuid: string;
  flags: readonly string[];
}

/** A 128-bit UUID, lower case, from a 16- or 32-bit short form or a full one. */
export function fullUuid(uuid: string): string {
  const text = uuid.trim().toLowerCase().replace(/^0x/, '');
  if (/^[0-9a-f]{4}$/.test(text)) return `0000${text}-0000-1000-8000-00805f9b34fb`;
  if (/^[0-9a-f]{8}$/.test(text)) return `${text}-0000-1000-8000-00805f9b34fb`;
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(text)) return text;
  throw new RangeError(`"${uuid}" is not a Bluetooth UUID (4, 8 or 32 hex digits)`);
}

export const pairText = (pair: CharacteristicPair): string =>
  `service ${fullUuid(pair.service)} characteristic ${fullUuid(pair.characteristic)}`;

/** The device object a GATT object belongs to (/org/bluez/hci0/dev_…/service000c/char000d → …/dev_…). */
export function deviceOfPath(path: string): string | undefined {
  return /^(\/org\/bluez\/[^/]+\/dev_[0-9A-Fa-f_]{17})(?:\/|$)/.exec(path)?.[1];
}

export class GattTree {
  readonly #devices = new Map<string, DeviceProps>();
  readonly #lastHeard = new Map<string, number>();
  readonly #services = new Map<string, { uuid: string; devicePath: string }>();
  readonly #characteristics = new Map<string, GattCharacteristicProps & { devicePath: string }>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  device(path: string): DeviceProps | undefined {
    return this.#devices.get(path);
  }

  /** When the device last advertised (an RSSI or data update), by this tree's clock. */
  lastHeard(path: string): number | undefined {
    return this.#lastHeard.get(path);
  }

  /** Replaces what is known under `devicePath` (or everything) with a GetManagedObjects answer. */
  load(objects: ReadonlyMap<string, BluezObject>, devicePath?: string): void {
    const within = (path: string) => devicePath === undefined || deviceOfPath(path) === devicePath;
    for (const map of [this.#services, this.#characteristics]) {
      for (const path of [...map.keys()]) if (within(path)) map.delete(path);
    }
    for (const [path, object] of objects) {
      if (!within(path)) continue;
      this.#add(path, object, false);
    }
  }

  /** Follows one BlueZ signal. */
  apply(event: BluezEvent): void {
    switch (event.type) {
      case 'device': {
        this.#devices.set(event.path, { ...this.#devices.get(event.path), ...event.changed });
        const { rssi, manufacturerData, serviceData } = event.changed;
        if (rssi !== undefined || manufacturerData !== undefined || serviceData !== undefined) {
          this.#lastHeard.set(event.path, this.#now());
        }
        return;
      }
      case 'added':
        this.#add(event.path, event.object, true);
        return;
      case 'removed':
        this.#remove(event.path);
        return;
      case 'characteristic': {
        const known = this.#characteristics.get(event.path);
        if (known !== undefined) Object.assign(known, event.changed);
        return;
      }
      case 'owner':
      case 'closed':
        // bluetoothd went away: its objects are gone with it (a new one exports them again).
        if (event.type === 'closed' || event.owner === '') {
          this.#services.clear();
          this.#characteristics.clear();
          for (const [path, props] of this.#devices) {
            this.#devices.set(path, { ...props, connected: false, servicesResolved: false });
          }
        }
        return;
      case 'adapter':
        return;
    }
  }

  /** Every characteristic under the device matching the pair (more than one: the device is ambiguous). */
  find(devicePath: string, pair: CharacteristicPair): CharacteristicEntry[] {
    const service = fullUuid(pair.service);
    const characteristic = fullUuid(pair.characteristic);
    const found: CharacteristicEntry[] = [];
    for (const [path, props] of this.#characteristics) {
      if (props.devicePath !== devicePath || props.uuid !== characteristic || props.service === undefined)
        continue;
      const owner = this.#services.get(props.service);
      if (owner?.uuid !== service) continue;
      found.push({ path, devicePath, uuid: characteristic, serviceUuid: service, flags: props.flags ?? [] });
    }
    return found;
  }

  /**
   * Every characteristic under the device with this UUID, whatever its service, in object-path order
   * (for characteristics whose service is not known, renogy.md §1.2).
   */
  findAnywhere(devicePath: string, characteristic: string): CharacteristicEntry[] {
    const uuid = fullUuid(characteristic);
    const found: CharacteristicEntry[] = [];
    for (const [path, props] of this.#characteristics) {
      if (props.devicePath !== devicePath || props.uuid !== uuid || props.service === undefined) continue;
      const owner = this.#services.get(props.service);
      if (owner === undefined) continue;
      found.push({ path, devicePath, uuid, serviceUuid: owner.uuid, flags: props.flags ?? [] });
    }
    return found.sort((a, b) => a.path.localeCompare(b.path));
  }

  /** How many GATT objects the device has now (0 after "services missing"). */
  gattObjectCount(devicePath: string): number {
    let count = 0;
    for (const map of [this.#services, this.#characteristics]) {
      for (const entry of map.values()) if (entry.devicePath === devicePath) count += 1;
    }
    return count;
  }

  /** The characteristic object at `path`, if it is one (for notifications). */
  characteristic(path: string): (GattCharacteristicProps & { devicePath: string }) | undefined {
    return this.#characteristics.get(path);
  }

  #add(path: string, object: BluezObject, fromSignal: boolean): void {
    if (object.device) {
      this.#devices.set(path, fromSignal ? { ...this.#devices.get(path), ...object.device } : object.device);
    }
    const devicePath = deviceOfPath(path);
    if (devicePath === undefined) return;
    if (object.gattService?.uuid !== undefined) {
      this.#services.set(path, { uuid: object.gattService.uuid, devicePath });
    }
    if (object.gattCharacteristic !== undefined) {
      this.#characteristics.set(path, { ...object.gattCharacteristic, devicePath });
    }
  }

  #remove(path: string): void {
    // A removed device takes everything under it; a removed service or characteristic only itself.
    if (deviceOfPath(path) === path) {
      this.#devices.delete(path);
      this.#lastHeard.delete(path);
    }
    for (const map of [this.#services, this.#characteristics]) {
      for (const key of [...map.keys()]) if (key === path || key.startsWith(`${path}/`)) map.delete(key);
    }
  }
}
