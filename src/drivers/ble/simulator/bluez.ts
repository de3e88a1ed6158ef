import { DBusError, type InterfaceSpec, type ServiceConnection, Variant } from './dbusService.js';
import type { AdapterView, FakeGattDevice } from './gattDevice.js';
import type { Advertisement, SimSensor } from './sensors.js';

// The objects bluetoothd exports, as far as a BLE scanner uses them: one adapter (org.bluez.Adapter1 at
// /org/bluez/hci0) and a Device1 object per sensor heard, with BlueZ's error names and its per-client
// discovery sessions (Discovering stays true while any client that called StartDiscovery is still
// scanning and on the bus). One FakeBluez lives on one ServiceConnection: a bluetoothd restart makes new
// ones, so nothing survives it but what a real daemon keeps (the devices it has cached).

export const BLUEZ_NAME = 'org.bluez';
export const ADAPTER_INTERFACE = 'org.bluez.Adapter1';
export const DEVICE_INTERFACE = 'org.bluez.Device1';

const FILTER_KEYS = ['UUIDs', 'RSSI', 'Pathloss', 'Transport', 'DuplicateData', 'Discoverable', 'Pattern'];

/** BlueZ's errors (doc/org.bluez.Adapter.rst), with its texts. */
const errors = {
  notReady: () => new DBusError('org.bluez.Error.NotReady', 'Resource Not Ready'),
  inProgress: () => new DBusError('org.bluez.Error.InProgress', 'Operation already in progress'),
  noDiscovery: () => new DBusError('org.bluez.Error.Failed', 'No discovery started'),
  invalidArguments: () =>
    new DBusError('org.bluez.Error.InvalidArguments', 'Invalid arguments in method call'),
  doesNotExist: () => new DBusError('org.bluez.Error.DoesNotExist', 'Does Not Exist'),
};

/** What SetDiscoveryFilter was given, unwrapped (as plain values, not Variants). */
export type DiscoveryFilter = Readonly<Record<string, unknown>>;

export interface FakeBluezOptions {
  /** Adapter name (hci0). */
  adapter: string;
  /** The adapter's own address. */
  adapterAddress: string;
  /** Every change worth a log line. */
  log: (line: string) => void;
  /** The adapter's power changed (by a client's Set, or a fault). */
  onPowerChange?: (on: boolean) => void;
  /** Connectable (GATT) devices; they outlive this FakeBluez (a bluetoothd restart re-exports them). */
  connectables?: () => readonly FakeGattDevice[];
}

interface DeviceState {
  sensor: SimSensor;
  advertisement: Advertisement | undefined;
}

export function devicePath(adapterPath: string, mac: string): string {
  return `${adapterPath}/dev_${mac.toUpperCase().replace(/:/g, '_')}`;
}

function bytesDictionary<K extends string | number>(
  entries: Readonly<Record<K, Buffer>>,
): Record<K, Variant> | undefined {
  const keys = Object.keys(entries) as K[];
  if (keys.length === 0) return undefined;
  const result = {} as Record<K, Variant>;
  for (const key of keys) result[key] = new Variant('ay', entries[key]);
  return result;
}

export class FakeBluez {
  readonly adapterPath: string;
  readonly #service: ServiceConnection;
  readonly #options: FakeBluezOptions;
  readonly #devices = new Map<string, DeviceState>();
  /** Clients scanning: unique name → the filter it set (empty when none). */
  readonly #sessions = new Map<string, DiscoveryFilter>();
  /** Filters set by clients not (yet) scanning; BlueZ keeps them for the next StartDiscovery. */
  readonly #filters = new Map<string, DiscoveryFilter>();
  #present = false;
  #powered = true;
  #discovering = false;

  constructor(service: ServiceConnection, options: FakeBluezOptions) {
    this.#service = service;
    this.#options = options;
    this.adapterPath = `/org/bluez/${options.adapter}`;
  }

  get present(): boolean {
    return this.#present;
  }

  get powered(): boolean {
    return this.#powered;
  }

  get discovering(): boolean {
    return this.#discovering;
  }

  /** Unique names of the clients scanning now. */
  get scanningClients(): string[] {
    return [...this.#sessions.keys()];
  }

  /** The filter a client set, or the filter of the only client scanning. */
  discoveryFilter(client?: string): DiscoveryFilter | undefined {
    if (client !== undefined) return this.#filters.get(client);
    const [only] = this.#filters.values();
    return this.#filters.size === 1 ? only : undefined;
  }

  /** Exports the adapter (powered, not scanning) and every cached sensor (InterfacesAdded each). */
  addAdapter(cached: readonly SimSensor[]): void {
    if (this.#present) return;
    this.#present = true;
    this.#powered = true;
    this.#discovering = false;
    this.#sessions.clear();
    this.#filters.clear();
    this.#service.add(this.adapterPath, [this.#adapterInterface()]);
    // From bluetoothd's device cache: address and name, no RSSI or data until heard again.
    for (const sensor of cached) this.#addDevice(sensor, undefined);
    // Connectable devices come back from storage with their GATT cache (unless a client removed them).
    for (const device of this.#connectables()) {
      if (!device.forgotten) device.export(this.#service, this.#adapterView(), true);
    }
  }

  /** A connectable device bluetoothd knows already (from storage): exported with its GATT cache. */
  addConnectable(device: FakeGattDevice): void {
    if (this.#present) device.export(this.#service, this.#adapterView(), true);
  }

  /** One advertisement of every connectable device not connected (re-exported if a client removed it). */
  advertiseConnectables(): number {
    if (!this.#present || !this.#discovering) return 0;
    let heard = 0;
    for (const device of this.#connectables()) {
      if (!device.advertising) continue;
      if (!device.exported) {
        device.forgotten = false;
        device.export(this.#service, this.#adapterView(), false);
      }
      device.advertise();
      heard += 1;
    }
    return heard;
  }

  #connectables(): readonly FakeGattDevice[] {
    return this.#options.connectables?.() ?? [];
  }

  #adapterView(): AdapterView {
    return {
      path: this.adapterPath,
      discovering: () => this.#discovering,
      powered: () => this.#powered,
      log: this.#options.log,
    };
  }

  /** Devices first, then the adapter, each with InterfacesRemoved, as BlueZ does on unplug. */
  removeAdapter(): void {
    if (!this.#present) return;
    for (const device of this.#connectables()) device.unexport('adapter removed');
    for (const mac of [...this.#devices.keys()]) this.#removeDevice(mac);
    this.#present = false;
    this.#discovering = false;
    this.#sessions.clear();
    this.#service.remove(this.adapterPath);
  }

  setPowered(on: boolean): void {
    if (!this.#present || on === this.#powered) return;
    this.#powered = on;
    const changed = ['Powered'];
    if (!on) {
      for (const device of this.#connectables()) device.dropLink('adapter powered off');
      // Powering off ends every discovery session.
      this.#sessions.clear();
      if (this.#discovering) changed.push('Discovering');
      this.#discovering = false;
    }
    this.#service.propertiesChanged(this.adapterPath, ADAPTER_INTERFACE, changed);
    this.#options.log(`adapter powered ${on ? 'on' : 'off'}`);
    this.#options.onPowerChange?.(on);
  }

  /** A client left the bus: its discovery session ends, as bluetoothd's client watch does. */
  clientGone(client: string): void {
    for (const device of this.#connectables()) device.clientGone(client);
    this.#filters.delete(client);
    if (this.#sessions.delete(client)) {
      this.#options.log(`client ${client} left the bus; its discovery session ends`);
      this.#updateDiscovering();
    }
  }

  /**
   * One advertisement heard: the device appears (InterfacesAdded) if BlueZ has no object for it yet,
   * otherwise PropertiesChanged with RSSI and its data. Returns false when a client's RSSI filter drops it.
   */
  advertise(sensor: SimSensor, advertisement: Advertisement): boolean {
    if (!this.#passesFilters(advertisement)) return false;
    const state = this.#devices.get(sensor.spec.mac);
    if (state === undefined) {
      this.#addDevice(sensor, advertisement);
      this.#options.log(`new device ${sensor.spec.mac} (${sensor.spec.name})`);
      return true;
    }
    state.advertisement = advertisement;
    const changed = ['RSSI'];
    if (Object.keys(advertisement.serviceData).length > 0) changed.push('ServiceData');
    if (Object.keys(advertisement.manufacturerData).length > 0) changed.push('ManufacturerData');
    this.#service.propertiesChanged(devicePath(this.adapterPath, sensor.spec.mac), DEVICE_INTERFACE, changed);
    return true;
  }

  #passesFilters(advertisement: Advertisement): boolean {
    // BlueZ merges the clients' filters: the lowest RSSI threshold wins, no threshold means none.
    let threshold = Number.NEGATIVE_INFINITY;
    for (const filter of this.#sessions.values()) {
      const rssi = filter.RSSI;
      if (typeof rssi !== 'number') return true;
      threshold = threshold === Number.NEGATIVE_INFINITY ? rssi : Math.min(threshold, rssi);
    }
    return advertisement.rssi >= threshold;
  }

  #updateDiscovering(): void {
    const discovering = this.#sessions.size > 0;
    if (discovering === this.#discovering) return;
    this.#discovering = discovering;
    this.#service.propertiesChanged(this.adapterPath, ADAPTER_INTERFACE, ['Discovering']);
    this.#options.log(`discovery ${discovering ? 'started' : 'stopped'}`);
  }

  #addDevice(sensor: SimSensor, advertisement: Advertisement | undefined): void {
    const mac = sensor.spec.mac;
    const state: DeviceState = { sensor, advertisement };
    this.#devices.set(mac, state);
    this.#service.add(devicePath(this.adapterPath, mac), [this.#deviceInterface(state)]);
  }

  #removeDevice(mac: string): void {
    if (!this.#devices.delete(mac)) return;
    this.#service.remove(devicePath(this.adapterPath, mac));
  }

  #adapterInterface(): InterfaceSpec {
    const read = (signature: string, get: () => unknown) => ({ signature, get });
    return {
      name: ADAPTER_INTERFACE,
      properties: {
        Address: read('s', () => this.#options.adapterAddress),
        AddressType: read('s', () => 'public'),
        Name: read('s', () => 'fieldbridge-sim'),
        Alias: read('s', () => 'fieldbridge-sim'),
        Class: read('u', () => 0),
        Powered: {
          signature: 'b',
          get: () => this.#powered,
          set: (value) => this.setPowered(value === true),
        },
        Discoverable: read('b', () => false),
        Pairable: read('b', () => false),
        Discovering: read('b', () => this.#discovering),
        UUIDs: read('as', () => []),
        Modalias: read('s', () => 'usb:v1D6Bp0246d0548'),
      },
      methods: {
        StartDiscovery: { call: (_args, client) => this.#startDiscovery(client) },
        StopDiscovery: { call: (_args, client) => this.#stopDiscovery(client) },
        SetDiscoveryFilter: {
          inSignature: 'a{sv}',
          call: ([filter], client) => this.#setFilter(client, filter),
        },
        GetDiscoveryFilters: { outSignature: 'as', call: () => FILTER_KEYS },
        RemoveDevice: { inSignature: 'o', call: ([path]) => this.#removeDeviceByPath(path) },
      },
    };
  }

  #deviceInterface(state: DeviceState): InterfaceSpec {
    const spec = state.sensor.spec;
    const read = (signature: string, get: () => unknown) => ({ signature, get });
    const uuids = () => Object.keys(state.advertisement?.serviceData ?? {});
    return {
      name: DEVICE_INTERFACE,
      properties: {
        Address: read('s', () => spec.mac),
        AddressType: read('s', () => spec.addressType),
        Name: read('s', () => spec.name),
        Alias: read('s', () => spec.name),
        Adapter: read('o', () => this.adapterPath),
        Paired: read('b', () => false),
        Trusted: read('b', () => false),
        Blocked: read('b', () => false),
        Connected: read('b', () => false),
        LegacyPairing: read('b', () => false),
        ServicesResolved: read('b', () => false),
        UUIDs: read('as', uuids),
        // Absent until heard, as in BlueZ (undefined leaves them out of GetAll and GetManagedObjects).
        RSSI: read('n', () => state.advertisement?.rssi),
        ServiceData: read('a{sv}', () => bytesDictionary(state.advertisement?.serviceData ?? {})),
        ManufacturerData: read('a{qv}', () => bytesDictionary(state.advertisement?.manufacturerData ?? {})),
      },
    };
  }

  #startDiscovery(client: string): void {
    if (!this.#powered) throw errors.notReady();
    if (this.#sessions.has(client)) throw errors.inProgress();
    this.#sessions.set(client, this.#filters.get(client) ?? {});
    this.#updateDiscovering();
  }

  #stopDiscovery(client: string): void {
    if (!this.#powered) throw errors.notReady();
    if (!this.#sessions.delete(client)) throw errors.noDiscovery();
    this.#updateDiscovering();
  }

  #setFilter(client: string, filter: unknown): void {
    if (typeof filter !== 'object' || filter === null) throw errors.invalidArguments();
    const values: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(filter)) {
      if (!FILTER_KEYS.includes(key) || !(value instanceof Variant)) throw errors.invalidArguments();
      values[key] = value.value;
    }
    const transport = values.Transport;
    if (transport !== undefined && !['auto', 'bredr', 'le'].includes(String(transport))) {
      throw errors.invalidArguments();
    }
    // An empty filter clears the client's filter.
    if (Object.keys(values).length === 0) this.#filters.delete(client);
    else this.#filters.set(client, values);
    if (this.#sessions.has(client)) this.#sessions.set(client, values);
  }

  #removeDeviceByPath(path: unknown): void {
    const connectable = this.#connectables().find((device) => device.exported && device.path === path);
    if (connectable !== undefined) {
      // BlueZ disconnects it first, then forgets it (and its GATT cache) until it is heard again.
      connectable.unexport('removed by a client');
      connectable.forgotten = true;
      this.#options.log(`device ${connectable.spec.mac} removed by a client`);
      return;
    }
    const entry = [...this.#devices.entries()].find(([mac]) => devicePath(this.adapterPath, mac) === path);
    if (entry === undefined) throw errors.doesNotExist();
    this.#removeDevice(entry[0]);
    this.#options.log(`device ${entry[0]} removed by a client`);
  }
}
