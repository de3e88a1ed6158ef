import { DBusError, type InterfaceSpec, type ServiceConnection, Variant } from './dbusService.js';
import { GattFaults } from './gattFaults.js';
import type { CharacteristicRef, Peripheral, PeripheralLink } from './gattPeripheral.js';

// A connectable BLE device as bluetoothd exports it (BlueZ doc/org.bluez.Device.rst, GattService.rst,
// GattCharacteristic.rst; behaviour from src/device.c and src/gatt-client.c): Device1 with Connect and
// Disconnect, Connected/ServicesResolved with PropertiesChanged, and under it GattService1 objects
// (serviceXXXX) holding GattCharacteristic1 objects (charYYYY) with StartNotify, StopNotify, ReadValue
// and WriteValue. An LE Connect answers once the link is up; service discovery finishes after it
// (ServicesResolved true later). A second Connect while one is pending gets InProgress; Connect on a
// connected device succeeds at once; Disconnect cancels a pending Connect (which then fails with
// br-connection-canceled) and succeeds on a device that is not connected. GATT objects outlive a
// disconnect (BlueZ's default `Cache = always`) unless the device was created without a cache.

export const DEVICE1 = 'org.bluez.Device1';
export const GATT_SERVICE1 = 'org.bluez.GattService1';
export const GATT_CHARACTERISTIC1 = 'org.bluez.GattCharacteristic1';

export const bluezErrors = {
  failed: (text: string) => new DBusError('org.bluez.Error.Failed', text),
  inProgress: () => new DBusError('org.bluez.Error.InProgress', 'In Progress'),
  notSupported: () => new DBusError('org.bluez.Error.NotSupported', 'Operation is not supported'),
  invalidArguments: () =>
    new DBusError('org.bluez.Error.InvalidArguments', 'Invalid arguments in method call'),
};

export interface GattDeviceSpec {
  /** AA:BB:CC:DD:EE:FF */
  mac: string;
  name: string;
  peripheral: Peripheral;
  rssi?: number;
  /** Company id → bytes, advertised while nobody is connected. */
  manufacturerData?: Readonly<Record<number, Buffer>>;
  /** ATT MTU; notifications carry MTU − 3 bytes each (default 23, so 20-byte pieces). */
  mtu?: number;
  /** From Connect to the link being up (default 20 ms). */
  connectDelayMs?: number;
  /** From the link being up to ServicesResolved (default 20 ms). */
  resolveDelayMs?: number;
  /** Between two pieces of one notification (default 0). */
  pieceIntervalMs?: number;
  /** 'always' (BlueZ's default): GATT objects stay after a disconnect; 'no': removed with the link. */
  gattCache?: 'always' | 'no';
}

/** What the device needs of its adapter. */
export interface AdapterView {
  path: string;
  discovering(): boolean;
  log(line: string): void;
}

interface CharacteristicObject {
  path: string;
  ref: CharacteristicRef;
  flags: readonly string[];
  handle: number;
  value: Buffer | undefined;
  /** Unique names with a notify session. */
  sessions: Set<string>;
}

interface Binding {
  service: ServiceConnection;
  adapter: AdapterView;
  path: string;
  gattExported: boolean;
}

const hex4 = (n: number) => n.toString(16).padStart(4, '0');

export function gattDevicePath(adapterPath: string, mac: string): string {
  return `${adapterPath}/dev_${mac.toUpperCase().replace(/:/g, '_')}`;
}

export class FakeGattDevice {
  readonly spec: GattDeviceSpec;
  readonly faults = new GattFaults();
  #binding: Binding | undefined;
  #connected = false;
  #resolved = false;
  #pending: { fail: (error: Error) => void; timers: NodeJS.Timeout[] } | undefined;
  #characteristics: CharacteristicObject[] = [];
  #services: { path: string; uuid: string; handle: number }[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  /** How many Connect calls arrived (hung ones too). */
  connectCalls = 0;
  /** Removed by a client (RemoveDevice): not restored from storage, only re-created when heard. */
  forgotten = false;

  constructor(spec: GattDeviceSpec) {
    this.spec = { ...spec, mac: spec.mac.toUpperCase() };
    this.faults.onTaken = () => this.#linkDown('another central took the device');
  }

  get connected(): boolean {
    return this.#connected;
  }

  get servicesResolved(): boolean {
    return this.#resolved;
  }

  get exported(): boolean {
    return this.#binding !== undefined;
  }

  get path(): string | undefined {
    return this.#binding?.path;
  }

  /** Whether it advertises now: a connected device (ours or another central's) does not. */
  get advertising(): boolean {
    return !this.#connected && !this.faults.takenByOtherCentral;
  }

  /** The object paths of its characteristics by pair (several when a pair… never: pairs are unique). */
  characteristicPath(ref: CharacteristicRef): string | undefined {
    return this.#characteristics.find(
      (c) => c.ref.service === ref.service && c.ref.characteristic === ref.characteristic,
    )?.path;
  }

  /** Exports Device1 (and, with `withGatt`, the cached GATT objects) under the adapter. */
  export(service: ServiceConnection, adapter: AdapterView, withGatt: boolean): void {
    if (this.#binding !== undefined) return;
    const path = gattDevicePath(adapter.path, this.spec.mac);
    this.#binding = { service, adapter, path, gattExported: false };
    this.#connected = false;
    this.#resolved = false;
    service.add(path, [this.#deviceInterface()]);
    if (withGatt && this.spec.gattCache !== 'no') this.#exportGatt();
  }

  /** Drops the link and removes every object (RemoveDevice, adapter gone, bluetoothd gone). */
  unexport(reason: string): void {
    const binding = this.#binding;
    if (binding === undefined) return;
    this.#linkDown(reason);
    this.#removeGatt();
    binding.service.remove(binding.path);
    this.#binding = undefined;
    this.#clearTimers();
  }

  /** bluetoothd is gone with its connection: forget the binding without a signal (nobody could send it). */
  detach(): void {
    this.#binding = undefined;
    this.#pending = undefined;
    if (this.#connected) this.spec.peripheral.disconnected?.();
    this.#connected = false;
    this.#resolved = false;
    this.#clearTimers();
  }

  /** While scanning: PropertiesChanged RSSI (and manufacturer data) as a heard advertisement. */
  advertise(): void {
    const binding = this.#binding;
    if (binding === undefined || !this.advertising) return;
    const changed = ['RSSI'];
    if (this.spec.manufacturerData !== undefined) changed.push('ManufacturerData');
    binding.service.propertiesChanged(binding.path, DEVICE1, changed);
  }

  /** The link drops from the device's side (out of range, supervision timeout). */
  dropLink(reason = 'link lost'): void {
    this.#linkDown(reason);
  }

  /** Bytes as a notification on `target` now, whatever the peripheral does (bad bytes injection). */
  inject(target: CharacteristicRef, bytes: Uint8Array): void {
    this.#notify(target, bytes, 0, false);
  }

  #deviceInterface(): InterfaceSpec {
    const read = (signature: string, get: () => unknown) => ({ signature, get });
    const spec = this.spec;
    const manufacturer = () => {
      const entries = Object.entries(spec.manufacturerData ?? {});
      return entries.length === 0
        ? undefined
        : Object.fromEntries(entries.map(([k, v]) => [k, new Variant('ay', v)]));
    };
    return {
      name: DEVICE1,
      properties: {
        Address: read('s', () => spec.mac),
        AddressType: read('s', () => 'public'),
        Name: read('s', () => spec.name),
        Alias: read('s', () => spec.name),
        Adapter: read('o', () => this.#binding?.adapter.path),
        Paired: read('b', () => false),
        Bonded: read('b', () => false),
        Trusted: read('b', () => false),
        Blocked: read('b', () => false),
        LegacyPairing: read('b', () => false),
        Connected: read('b', () => this.#connected),
        ServicesResolved: read('b', () => this.#resolved),
        UUIDs: read('as', () => [...new Set(spec.peripheral.services.map((s) => s.uuid))]),
        RSSI: read('n', () => (this.advertising ? (spec.rssi ?? -60) : undefined)),
        ManufacturerData: read('a{qv}', manufacturer),
      },
      methods: {
        Connect: { call: (_args, client) => this.#connect(client) },
        Disconnect: { call: () => this.#disconnect() },
      },
    };
  }

  #connect(client: string): Promise<void> | undefined {
    this.connectCalls += 1;
    const binding = this.#binding;
    if (binding === undefined) throw bluezErrors.failed('Not available');
    const scripted = this.faults.nextConnect();
    binding.adapter.log(
      `${this.spec.mac}: Connect from ${client}${scripted === 'ok' ? '' : ` (${scripted})`}`,
    );
    if (scripted === 'hang') return new Promise<void>(() => undefined);
    if (this.#pending !== undefined || scripted === 'in_progress') throw bluezErrors.inProgress();
    if (this.#connected) return undefined;
    // A controller that cannot create a connection while scanning (field reports: Pi Zero) aborts it,
    // and so does one whose peer is busy with another central (it no longer advertises connectable).
    const abort =
      scripted === 'abort' ||
      this.faults.takenByOtherCentral ||
      (this.faults.abortWhileScanning && binding.adapter.discovering());
    return new Promise<void>((resolve, reject) => {
      const pending = { fail: reject, timers: [] as NodeJS.Timeout[] };
      this.#pending = pending;
      const linkUp = this.#later(this.spec.connectDelayMs ?? 20, () => {
        this.#pending = undefined;
        if (abort) return reject(bluezErrors.failed('le-connection-abort-by-local'));
        this.#connected = true;
        binding.service.propertiesChanged(binding.path, DEVICE1, ['Connected']);
        this.spec.peripheral.connected?.(this.#link());
        resolve();
        pending.timers.push(this.#later(this.spec.resolveDelayMs ?? 20, () => this.#resolve()));
      });
      pending.timers.push(linkUp);
    });
  }

  #resolve(): void {
    const binding = this.#binding;
    if (binding === undefined || !this.#connected) return;
    if (this.faults.servicesMissing) {
      // The cache was dropped and discovery came back empty: resolved, but nothing to use.
      this.#removeGatt();
    } else if (!binding.gattExported) {
      this.#exportGatt();
    }
    this.#resolved = true;
    binding.service.propertiesChanged(binding.path, DEVICE1, ['ServicesResolved']);
    for (const characteristic of this.#characteristics) {
      if (characteristic.sessions.size === 0) continue;
      binding.service.propertiesChanged(characteristic.path, GATT_CHARACTERISTIC1, ['Notifying']);
    }
  }

  #disconnect(): void {
    const pending = this.#pending;
    if (pending !== undefined) {
      this.#pending = undefined;
      for (const timer of pending.timers) this.#cancel(timer);
      pending.fail(bluezErrors.failed('br-connection-canceled'));
    }
    this.#linkDown('disconnected by a client');
  }

  #linkDown(reason: string): void {
    const binding = this.#binding;
    if (!this.#connected || binding === undefined) return;
    this.#connected = false;
    this.#resolved = false;
    this.#clearTimers();
    // Notify sessions stay registered (BlueZ re-enables them when the link is back); Notifying goes false.
    for (const characteristic of this.#characteristics) {
      if (characteristic.sessions.size === 0) continue;
      binding.service.propertiesChanged(characteristic.path, GATT_CHARACTERISTIC1, ['Notifying']);
    }
    binding.service.propertiesChanged(binding.path, DEVICE1, ['Connected', 'ServicesResolved']);
    if (this.spec.gattCache === 'no') this.#removeGatt();
    this.spec.peripheral.disconnected?.();
    binding.adapter.log(`${this.spec.mac}: disconnected (${reason})`);
  }

  #exportGatt(): void {
    const binding = this.#binding;
    if (binding === undefined || binding.gattExported) return;
    binding.gattExported = true;
    this.#services = [];
    this.#characteristics = [];
    let handle = 0x000c;
    for (const service of this.spec.peripheral.services) {
      const servicePath = `${binding.path}/service${hex4(handle)}`;
      this.#services.push({ path: servicePath, uuid: service.uuid, handle });
      const serviceHandle = handle;
      binding.service.add(servicePath, [
        {
          name: GATT_SERVICE1,
          properties: {
            UUID: { signature: 's', get: () => service.uuid },
            Primary: { signature: 'b', get: () => true },
            Device: { signature: 'o', get: () => binding.path },
            Includes: { signature: 'ao', get: () => [] },
            Handle: { signature: 'q', get: () => serviceHandle },
          },
        },
      ]);
      handle += 1;
      for (const spec of service.characteristics) {
        const object: CharacteristicObject = {
          path: `${servicePath}/char${hex4(handle)}`,
          ref: { service: service.uuid, characteristic: spec.uuid },
          flags: spec.flags,
          handle,
          value: undefined,
          sessions: new Set(),
        };
        this.#characteristics.push(object);
        binding.service.add(object.path, [this.#characteristicInterface(object, servicePath)]);
        // Declaration, value and (for notify) the CCCD.
        handle += 3;
      }
    }
  }

  #removeGatt(): void {
    const binding = this.#binding;
    if (binding === undefined || !binding.gattExported) return;
    binding.gattExported = false;
    // Characteristics before their service, as BlueZ unregisters them.
    for (const characteristic of this.#characteristics) binding.service.remove(characteristic.path);
    for (const service of this.#services) binding.service.remove(service.path);
    this.#characteristics = [];
    this.#services = [];
  }

  #characteristicInterface(object: CharacteristicObject, servicePath: string): InterfaceSpec {
    const notifies = object.flags.includes('notify') || object.flags.includes('indicate');
    return {
      name: GATT_CHARACTERISTIC1,
      properties: {
        UUID: { signature: 's', get: () => object.ref.characteristic },
        Service: { signature: 'o', get: () => servicePath },
        Value: { signature: 'ay', get: () => object.value },
        Notifying: {
          signature: 'b',
          get: () => (notifies ? object.sessions.size > 0 && this.#connected : undefined),
        },
        Flags: { signature: 'as', get: () => [...object.flags] },
        Handle: { signature: 'q', get: () => object.handle },
        MTU: { signature: 'q', get: () => this.spec.mtu ?? 23 },
      },
      methods: {
        ReadValue: {
          inSignature: 'a{sv}',
          outSignature: 'ay',
          call: () => {
            if (!this.#connected) throw bluezErrors.failed('Not connected');
            if (!object.flags.includes('read'))
              throw new DBusError('org.bluez.Error.NotPermitted', 'Read not permitted');
            object.value = Buffer.from(this.spec.peripheral.read?.(object.ref) ?? new Uint8Array(0));
            this.#binding?.service.propertiesChanged(object.path, GATT_CHARACTERISTIC1, ['Value']);
            return object.value;
          },
        },
        WriteValue: {
          inSignature: 'aya{sv}',
          call: ([value, options]) => this.#write(object, value, options),
        },
        StartNotify: {
          call: (_args, client) => {
            if (!notifies) throw bluezErrors.notSupported();
            const first = object.sessions.size === 0;
            object.sessions.add(client);
            // Not connected: BlueZ answers success and registers the session when the link is up.
            if (first && this.#connected) {
              this.#binding?.service.propertiesChanged(object.path, GATT_CHARACTERISTIC1, ['Notifying']);
            }
          },
        },
        StopNotify: {
          call: (_args, client) => {
            if (!object.sessions.delete(client)) throw bluezErrors.failed('No notify session started');
            if (object.sessions.size === 0) {
              this.#binding?.service.propertiesChanged(object.path, GATT_CHARACTERISTIC1, ['Notifying']);
            }
          },
        },
      },
    };
  }

  #write(object: CharacteristicObject, value: unknown, options: unknown): void {
    if (!Buffer.isBuffer(value)) throw bluezErrors.invalidArguments();
    const typeOption = (options as Record<string, unknown> | undefined)?.type;
    const type = typeOption instanceof Variant ? typeOption.value : undefined;
    if (type !== undefined && type !== 'command' && type !== 'request' && type !== 'reliable') {
      throw bluezErrors.invalidArguments();
    }
    if (!this.#connected) throw bluezErrors.failed('Not connected');
    const withoutResponse = type === 'command' || (type === undefined && !object.flags.includes('write'));
    const allowed = withoutResponse
      ? object.flags.includes('write-without-response') || type === 'command'
      : object.flags.includes('write');
    if (!allowed) throw bluezErrors.notSupported();
    this.spec.peripheral.written(object.ref, Uint8Array.from(value), this.#link(), withoutResponse);
  }

  #link(): PeripheralLink {
    return { notify: (target, bytes, options) => this.#notify(target, bytes, options?.delayMs ?? 0, true) };
  }

  /** One notification: its pieces of MTU − 3 bytes as PropertiesChanged Value, with the faults applied. */
  #notify(target: CharacteristicRef, bytes: Uint8Array, delayMs: number, faulty: boolean): void {
    const object = this.#characteristics.find(
      (c) => c.ref.service === target.service && c.ref.characteristic === target.characteristic,
    );
    if (object === undefined)
      throw new RangeError(`no characteristic ${target.service}/${target.characteristic}`);
    const plan = faulty ? this.faults.planNotification(bytes) : { bytes, drop: -1, extraDelayMs: 0 };
    const size = Math.max(1, (this.spec.mtu ?? 23) - 3);
    const pieces: Buffer[] = [];
    for (let offset = 0; offset < plan.bytes.length; offset += size) {
      pieces.push(Buffer.from(plan.bytes.subarray(offset, offset + size)));
    }
    const interval = this.spec.pieceIntervalMs ?? 0;
    pieces.forEach((piece, index) => {
      if (index === plan.drop) return;
      this.#later(delayMs + plan.extraDelayMs + index * interval, () => {
        // A notification reaches only a connected central that enabled them.
        if (!this.#connected || object.sessions.size === 0) return;
        object.value = piece;
        this.#binding?.service.propertiesChanged(object.path, GATT_CHARACTERISTIC1, ['Value']);
      });
    });
  }

  #later(ms: number, run: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      run();
    }, ms);
    this.#timers.add(timer);
    return timer;
  }

  #cancel(timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    this.#timers.delete(timer);
  }

  #clearTimers(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
