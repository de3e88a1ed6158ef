// What a connectable device of the fake BlueZ is behind its GATT objects: a `Peripheral` has a GATT table
// (services holding characteristics), hears what a central writes and answers with notifications. The
// fake (gattDevice.ts) does the BlueZ side: objects, Connect, StartNotify, WriteValue, and splitting each
// notification into ATT_MTU − 3 byte pieces. A virtual device (a Renogy BT-1 with its controller, …)
// plugs in here; EchoPeripheral is the generic one the GATT tests use.

/** Flags as BlueZ lists them in GattCharacteristic1.Flags (doc/org.bluez.GattCharacteristic.rst). */
export type CharacteristicFlag = 'read' | 'write' | 'write-without-response' | 'notify' | 'indicate';

export interface GattCharacteristicSpec {
  /** 128-bit UUID, lower case. */
  uuid: string;
  flags: readonly CharacteristicFlag[];
}

export interface GattServiceSpec {
  uuid: string;
  characteristics: readonly GattCharacteristicSpec[];
}

/** A characteristic by its (service UUID, characteristic UUID) pair: the one way a pair is unique. */
export interface CharacteristicRef {
  service: string;
  characteristic: string;
}

export interface NotifyOptions {
  /** Sent this much later (a slow device); the fake may add its own late-reply delay. */
  delayMs?: number;
}

/** What a peripheral may do to the central while connected. */
export interface PeripheralLink {
  /** Sends `bytes` as one notification (the fake splits it into pieces); dropped unless notifying. */
  notify(target: CharacteristicRef, bytes: Uint8Array, options?: NotifyOptions): void;
}

export interface Peripheral {
  readonly services: readonly GattServiceSpec[];
  /** A central wrote `bytes`; `withoutResponse`: a write command (WriteValue type "command"). */
  written(target: CharacteristicRef, bytes: Uint8Array, link: PeripheralLink, withoutResponse: boolean): void;
  /** ReadValue; undefined answers an empty value. */
  read?(target: CharacteristicRef): Uint8Array | undefined;
  /** The link came up or went down (a peripheral may forget a half-received request then). */
  connected?(link: PeripheralLink): void;
  disconnected?(): void;
}

/** A full 128-bit UUID from a 16-bit one (Bluetooth base UUID). */
export function uuid16(short: number): string {
  return `0000${short.toString(16).padStart(4, '0')}-0000-1000-8000-00805f9b34fb`;
}

export const sameRef = (a: CharacteristicRef, b: CharacteristicRef): boolean =>
  a.service === b.service && a.characteristic === b.characteristic;

/** Throws when two characteristics share a (service, characteristic) pair: nothing could select one. */
export function checkGattTable(services: readonly GattServiceSpec[]): void {
  const seen = new Set<string>();
  for (const service of services) {
    for (const characteristic of service.characteristics) {
      const key = `${service.uuid}/${characteristic.uuid}`;
      if (seen.has(key)) throw new RangeError(`characteristic ${key} appears twice in the GATT table`);
      seen.add(key);
    }
  }
}

export interface EchoLayout {
  write: CharacteristicRef;
  notify: CharacteristicRef;
  /**
   * A second service with the same characteristic UUIDs (as some devices have): writes to its write
   * characteristic come back on its notify characteristic after DECOY_MARK, so a test sees which one it got.
   */
  decoyService?: string;
}

export const ECHO_LAYOUT: EchoLayout = {
  write: { service: uuid16(0xec00), characteristic: uuid16(0xec01) },
  notify: { service: uuid16(0xec10), characteristic: uuid16(0xec11) },
  decoyService: uuid16(0xec20),
};

/** Put before what the decoy service echoes. */
export const DECOY_MARK = Uint8Array.from([0xde, 0xc0]);

/**
 * Echoes every write as a notification on the paired notify characteristic, `replyDelayMs` later. Reads
 * of the write characteristic answer the last bytes written. Knows nothing of any device protocol.
 */
export class EchoPeripheral implements Peripheral {
  readonly services: readonly GattServiceSpec[];
  readonly layout: EchoLayout;
  replyDelayMs: number;
  /** Every write, oldest first: which characteristic, the bytes, and whether it was a write command. */
  readonly writes: { target: CharacteristicRef; bytes: Uint8Array; withoutResponse: boolean }[] = [];
  #last = new Uint8Array(0);

  constructor(layout: EchoLayout = ECHO_LAYOUT, replyDelayMs = 0) {
    this.layout = layout;
    this.replyDelayMs = replyDelayMs;
    const writeFlags: CharacteristicFlag[] = ['read', 'write', 'write-without-response'];
    const pair = (service: string): GattServiceSpec[] =>
      service === layout.notify.service
        ? [{ uuid: service, characteristics: [{ uuid: layout.notify.characteristic, flags: ['notify'] }] }]
        : [
            {
              uuid: service,
              characteristics: [
                { uuid: layout.write.characteristic, flags: writeFlags },
                ...(service === layout.write.service
                  ? []
                  : [{ uuid: layout.notify.characteristic, flags: ['notify'] as const }]),
              ],
            },
          ];
    this.services = [
      ...pair(layout.write.service),
      ...(layout.notify.service === layout.write.service ? [] : pair(layout.notify.service)),
      ...(layout.decoyService === undefined ? [] : pair(layout.decoyService)),
    ];
    checkGattTable(this.services);
  }

  written(
    target: CharacteristicRef,
    bytes: Uint8Array,
    link: PeripheralLink,
    withoutResponse: boolean,
  ): void {
    this.writes.push({ target, bytes: Uint8Array.from(bytes), withoutResponse });
    this.#last = Uint8Array.from(bytes);
    const options = { delayMs: this.replyDelayMs };
    if (sameRef(target, this.layout.write)) {
      link.notify(this.layout.notify, bytes, options);
    } else if (this.layout.decoyService !== undefined && target.service === this.layout.decoyService) {
      const echoed = new Uint8Array(DECOY_MARK.length + bytes.length);
      echoed.set(DECOY_MARK);
      echoed.set(bytes, DECOY_MARK.length);
      link.notify(
        { service: this.layout.decoyService, characteristic: this.layout.notify.characteristic },
        echoed,
        options,
      );
    }
  }

  read(target: CharacteristicRef): Uint8Array | undefined {
    return target.characteristic === this.layout.write.characteristic ? this.#last : undefined;
  }
}
