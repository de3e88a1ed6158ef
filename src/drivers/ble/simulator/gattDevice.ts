import { type InterfaceSpec, type ServiceConnection, Variant } from './dbusService.js';
import { bluezErrors } from './gattErrors.js';
import { GattFaults } from './gattFaults.js';
import type { CharacteristicRef, Peripheral, PeripheralLink } from './gattPeripheral.js';
import { GattTable } from './gattTable.js';
import { TimerSet } from '../../shared/timerSet.js';

// A connectable BLE device as bluetoothd exports it (BlueZ doc/org.bluez.Device.rst; behaviour from
// src/device.c): Device1 with Connect and Disconnect, Connected/ServicesResolved with PropertiesChanged,
// and under it the GATT objects (gattTable.ts). An LE Connect answers once the link is up; service discovery finishes after it
// (ServicesResolved true later). A second Connect while one is pending gets InProgress; Connect on a
// connected device succeeds at once; Disconnect cancels a pending Connect (which then fails with
// br-connection-canceled) and succeeds on a device that is not connected. GATT objects outlive a
// disconnect (BlueZ's default `Cache = always`) unless the device was created without a cache.

export const DEVICE1 = 'org.bluez.Device1';

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
  powered(): boolean;
  log(line: string): void;
}

interface Binding {
  service: ServiceConnection;
  adapter: AdapterView;
  path: string;
  table: GattTable;
}

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
  readonly #timers = new TimerSet();
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

  /** The object path of the characteristic of a pair, while exported. */
  characteristicPath(ref: CharacteristicRef): string | undefined {
    return this.#binding?.table.exported === true ? this.#binding.table.path(ref) : undefined;
  }

  /** Exports Device1 (and, with `withGatt`, the cached GATT objects) under the adapter. */
  export(service: ServiceConnection, adapter: AdapterView, withGatt: boolean): void {
    if (this.#binding !== undefined) return;
    const path = gattDevicePath(adapter.path, this.spec.mac);
    const table = new GattTable({
      service,
      devicePath: path,
      peripheral: this.spec.peripheral,
      faults: this.faults,
      timers: this.#timers,
      mtu: this.spec.mtu ?? 23,
      pieceIntervalMs: this.spec.pieceIntervalMs ?? 0,
      connected: () => this.#connected,
      link: () => this.#link(),
    });
    this.#binding = { service, adapter, path, table };
    this.#connected = false;
    this.#resolved = false;
    service.add(path, [this.#deviceInterface()]);
    if (withGatt && this.spec.gattCache !== 'no') table.export();
  }

  /** Drops the link and removes every object (RemoveDevice, adapter gone, bluetoothd gone). */
  unexport(reason: string): void {
    const binding = this.#binding;
    if (binding === undefined) return;
    // A pending Connect is cancelled as by Disconnect (src/device.c device_request_disconnect).
    this.#cancelPending();
    this.#linkDown(reason);
    binding.table.remove();
    binding.service.remove(binding.path);
    this.#binding = undefined;
    this.#timers.clear();
  }

  /** A client left the bus: its notify sessions end with it (BlueZ watches each session's owner). */
  clientGone(client: string): void {
    this.#binding?.table.dropSessions(client);
  }

  /** bluetoothd is gone with its connection: forget the binding without a signal (nobody could send it). */
  detach(): void {
    this.#binding = undefined;
    this.#pending = undefined;
    if (this.#connected) this.spec.peripheral.disconnected?.();
    this.#connected = false;
    this.#resolved = false;
    this.#timers.clear();
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
    this.#binding?.table.notify(target, bytes, 0, false);
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
    // The kernel refuses an LE connect at once on a powered-off adapter; BlueZ's device_connect_le then
    // returns -EIO and dev_connect answers Failed with strerror(EIO).
    if (!binding.adapter.powered() && !this.#connected) throw bluezErrors.failed('Input/output error');
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
      const linkUp = this.#timers.after(this.spec.connectDelayMs ?? 20, () => {
        this.#pending = undefined;
        if (abort) return reject(bluezErrors.failed('le-connection-abort-by-local'));
        this.#connected = true;
        binding.service.propertiesChanged(binding.path, DEVICE1, ['Connected']);
        this.spec.peripheral.connected?.(this.#link());
        resolve();
        pending.timers.push(this.#timers.after(this.spec.resolveDelayMs ?? 20, () => this.#resolve()));
      });
      pending.timers.push(linkUp);
    });
  }

  #resolve(): void {
    const binding = this.#binding;
    if (binding === undefined || !this.#connected) return;
    if (this.faults.abortWhileScanning && binding.adapter.discovering()) {
      this.#linkDown('discovery ran while the link was being set up (remote features timed out)');
      return;
    }
    if (this.faults.servicesMissing) {
      // The cache was dropped and discovery came back empty: resolved, but nothing to use.
      binding.table.remove();
    } else {
      binding.table.export();
    }
    this.#resolved = true;
    binding.service.propertiesChanged(binding.path, DEVICE1, ['ServicesResolved']);
    binding.table.notifyingChanged();
  }

  #disconnect(): void {
    this.#cancelPending();
    this.#linkDown('disconnected by a client');
  }

  /** A pending Connect fails with br-connection-canceled, as BlueZ answers it when cancelled. */
  #cancelPending(): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    this.#pending = undefined;
    for (const timer of pending.timers) this.#timers.cancel(timer);
    pending.fail(bluezErrors.failed('br-connection-canceled'));
  }

  #linkDown(reason: string): void {
    const binding = this.#binding;
    if (!this.#connected || binding === undefined) return;
    this.#connected = false;
    this.#resolved = false;
    this.#timers.clear();
    // Notify sessions stay registered (BlueZ re-enables them when the link is back); Notifying goes false.
    binding.table.notifyingChanged();
    binding.service.propertiesChanged(binding.path, DEVICE1, ['Connected', 'ServicesResolved']);
    if (this.spec.gattCache === 'no') binding.table.remove();
    this.spec.peripheral.disconnected?.();
    binding.adapter.log(`${this.spec.mac}: disconnected (${reason})`);
  }

  #link(): PeripheralLink {
    return {
      notify: (target, bytes, options) =>
        this.#binding?.table.notify(target, bytes, options?.delayMs ?? 0, true),
    };
  }
}
