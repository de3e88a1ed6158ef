import { type InterfaceSpec, type ServiceConnection, Variant } from './dbusService.js';
import { bluezErrors } from './gattErrors.js';
import type { GattFaults } from './gattFaults.js';
import type { CharacteristicRef, Peripheral, PeripheralLink } from './gattPeripheral.js';
import type { TimerSet } from '../../shared/timerSet.js';

// The GATT objects of one connectable device of the fake BlueZ (doc/org.bluez.GattService.rst,
// GattCharacteristic.rst; src/gatt-client.c): a GattService1 per service (serviceXXXX, its handle) and a
// GattCharacteristic1 per characteristic (charYYYY) with ReadValue, WriteValue (type "command" is a
// write without response), StartNotify/StopNotify (one session per client; a client's second
// StartNotify succeeds), and each notification as PropertiesChanged Value in pieces of ATT_MTU − 3 bytes.

export const GATT_SERVICE1 = 'org.bluez.GattService1';
export const GATT_CHARACTERISTIC1 = 'org.bluez.GattCharacteristic1';

/** What the table needs of its device. */
export interface TableHost {
  service: ServiceConnection;
  devicePath: string;
  peripheral: Peripheral;
  faults: GattFaults;
  timers: TimerSet;
  /** ATT MTU (23 unless the device negotiates more). */
  mtu: number;
  pieceIntervalMs: number;
  connected(): boolean;
  link(): PeripheralLink;
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

const hex4 = (n: number) => n.toString(16).padStart(4, '0');

export class GattTable {
  readonly #host: TableHost;
  #exported = false;
  #services: { path: string; uuid: string; handle: number }[] = [];
  #characteristics: CharacteristicObject[] = [];

  constructor(host: TableHost) {
    this.#host = host;
  }

  get exported(): boolean {
    return this.#exported;
  }

  /** The object path of the characteristic of a pair. */
  path(ref: CharacteristicRef): string | undefined {
    return this.#find(ref)?.path;
  }

  /** Ends the notify sessions of a client that left the bus. */
  dropSessions(client: string): void {
    for (const characteristic of this.#characteristics) {
      if (!characteristic.sessions.delete(client) || characteristic.sessions.size > 0) continue;
      if (this.#host.connected()) {
        this.#host.service.propertiesChanged(characteristic.path, GATT_CHARACTERISTIC1, ['Notifying']);
      }
    }
  }

  /** Notifying of every characteristic with a session, after the link came up or went down. */
  notifyingChanged(): void {
    for (const characteristic of this.#characteristics) {
      if (characteristic.sessions.size === 0) continue;
      this.#host.service.propertiesChanged(characteristic.path, GATT_CHARACTERISTIC1, ['Notifying']);
    }
  }

  /** Exports every service and characteristic of the peripheral (InterfacesAdded each). */
  export(): void {
    if (this.#exported) return;
    this.#exported = true;
    const host = this.#host;
    this.#services = [];
    this.#characteristics = [];
    let handle = 0x000c;
    for (const service of host.peripheral.services) {
      const servicePath = `${host.devicePath}/service${hex4(handle)}`;
      this.#services.push({ path: servicePath, uuid: service.uuid, handle });
      const serviceHandle = handle;
      host.service.add(servicePath, [
        {
          name: GATT_SERVICE1,
          properties: {
            UUID: { signature: 's', get: () => service.uuid },
            Primary: { signature: 'b', get: () => true },
            Device: { signature: 'o', get: () => host.devicePath },
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
        host.service.add(object.path, [this.#characteristicInterface(object, servicePath)]);
        // Declaration, value and (for notify) the CCCD.
        handle += 3;
      }
    }
  }

  /** Removes them all (InterfacesRemoved), characteristics before their service as BlueZ does. */
  remove(): void {
    if (!this.#exported) return;
    this.#exported = false;
    for (const characteristic of this.#characteristics) this.#host.service.remove(characteristic.path);
    for (const service of this.#services) this.#host.service.remove(service.path);
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
          get: () => (notifies ? object.sessions.size > 0 && this.#host.connected() : undefined),
        },
        Flags: { signature: 'as', get: () => [...object.flags] },
        Handle: { signature: 'q', get: () => object.handle },
        MTU: { signature: 'q', get: () => this.#host.mtu },
      },
      methods: {
        ReadValue: {
          inSignature: 'a{sv}',
          outSignature: 'ay',
          call: () => {
            if (!this.#host.connected()) throw bluezErrors.failed('Not connected');
            if (!object.flags.includes('read')) throw bluezErrors.notPermitted('Read not permitted');
            object.value = Buffer.from(this.#host.peripheral.read?.(object.ref) ?? new Uint8Array(0));
            this.#host.service.propertiesChanged(object.path, GATT_CHARACTERISTIC1, ['Value']);
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
            if (first && this.#host.connected()) {
              this.#host.service.propertiesChanged(object.path, GATT_CHARACTERISTIC1, ['Notifying']);
            }
          },
        },
        StopNotify: {
          call: (_args, client) => {
            if (!object.sessions.delete(client)) throw bluezErrors.failed('No notify session started');
            if (object.sessions.size === 0) {
              this.#host.service.propertiesChanged(object.path, GATT_CHARACTERISTIC1, ['Notifying']);
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
    if (!this.#host.connected()) throw bluezErrors.failed('Not connected');
    const withoutResponse = type === 'command' || (type === undefined && !object.flags.includes('write'));
    const allowed = withoutResponse
      ? object.flags.includes('write-without-response') || type === 'command'
      : object.flags.includes('write');
    if (!allowed) throw bluezErrors.notSupported();
    this.#host.peripheral.written(object.ref, Uint8Array.from(value), this.#host.link(), withoutResponse);
  }

  /** One notification: its pieces of MTU − 3 bytes as PropertiesChanged Value, with the faults applied. */
  notify(target: CharacteristicRef, bytes: Uint8Array, delayMs: number, faulty: boolean): void {
    const object = this.#find(target);
    if (object === undefined)
      throw new RangeError(`no characteristic ${target.service}/${target.characteristic}`);
    const plan = faulty ? this.#host.faults.planNotification(bytes) : { bytes, drop: -1, extraDelayMs: 0 };
    const size = Math.max(1, this.#host.mtu - 3);
    const pieces: Buffer[] = [];
    for (let offset = 0; offset < plan.bytes.length; offset += size) {
      pieces.push(Buffer.from(plan.bytes.subarray(offset, offset + size)));
    }
    const interval = this.#host.pieceIntervalMs;
    pieces.forEach((piece, index) => {
      if (index === plan.drop) return;
      this.#host.timers.after(delayMs + plan.extraDelayMs + index * interval, () => {
        // A notification reaches only a connected central that enabled them.
        if (!this.#host.connected() || object.sessions.size === 0) return;
        object.value = piece;
        this.#host.service.propertiesChanged(object.path, GATT_CHARACTERISTIC1, ['Value']);
      });
    });
  }

  #find(ref: CharacteristicRef): CharacteristicObject | undefined {
    return this.#characteristics.find(
      (c) => c.ref.service === ref.service && c.ref.characteristic === ref.characteristic,
    );
  }
}
