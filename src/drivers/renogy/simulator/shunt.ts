import {
  encodeShuntFrame,
  NOTIFY_CHARACTERISTIC,
  SHUNT_HISTORY_HEADER,
  SHUNT_LIVE_HEADER,
  SHUNT_NOTIFY_CHARACTERISTIC,
  WRITE_CHARACTERISTIC,
} from '../codec/index.js';
import type { CharacteristicRef, GattServiceSpec, Peripheral, PeripheralLink } from './bluezSim.js';

// A virtual Smart Shunt 300 for the fake BlueZ (notes §4.6): it answers no Modbus and streams frames on
// c411 unasked while a central is connected, in a cycle that has what a real one mixes in: a history
// frame (42 57 01 0B), a live frame behind a 61 D2 prefix, a bare live frame. It also has the BT
// module's write and notify characteristics, and records every write to any of them, so a test sees
// that fieldbridge never writes to a shunt. The notes do not say which service holds c411: this one
// puts it under a service of its own (an assumption; the runtime looks c411 up under any service).

/** The service the virtual shunt puts c411 under (not from the notes: see above). */
export const VIRTUAL_SHUNT_SERVICE = '0000c410-0000-1000-8000-00805f9b34fb';

/** A history frame's length is not documented: this one is only long enough to be skipped. */
const HISTORY_FRAME = Buffer.concat([SHUNT_HISTORY_HEADER, Buffer.alloc(36)]);
const PREFIX = Buffer.from([0x61, 0xd2, 0x00, 0x6e]);

export interface ShuntPeripheralOptions {
  /** Between two frames of the stream. Default 400 ms. */
  intervalMs?: number;
}

export class ShuntPeripheral implements Peripheral {
  readonly services: readonly GattServiceSpec[];
  /** Every write a central made (hex): there must be none. */
  readonly writes: string[] = [];
  /** Frames streamed so far, by kind, for tests. */
  readonly sent = { live: 0, prefixed: 0, history: 0, garbled: 0 };
  /** Streams history frames only: a central waiting for a live one waits in vain. */
  silent = false;
  /**
   * How many of the next live frames are garbled: the live header, then every byte XORed with 0x5A, as
   * a corrupted stream would bring them (no checksum shows it; the voltage lands in the thousands of
   * volts, whatever the values). `Infinity`: all of them.
   */
  garbleLiveFrames = 0;
  readonly #intervalMs: number;
  #values: Record<string, number>;
  #timer: NodeJS.Timeout | undefined;
  #tick = 0;

  constructor(values: Readonly<Record<string, number>>, options: ShuntPeripheralOptions = {}) {
    this.#values = { ...values };
    this.#intervalMs = options.intervalMs ?? 400;
    this.services = [
      {
        uuid: WRITE_CHARACTERISTIC.service,
        characteristics: [
          { uuid: WRITE_CHARACTERISTIC.characteristic, flags: ['write', 'write-without-response'] },
        ],
      },
      {
        uuid: NOTIFY_CHARACTERISTIC.service,
        characteristics: [{ uuid: NOTIFY_CHARACTERISTIC.characteristic, flags: ['notify'] }],
      },
      {
        uuid: VIRTUAL_SHUNT_SERVICE,
        characteristics: [{ uuid: SHUNT_NOTIFY_CHARACTERISTIC, flags: ['notify'] }],
      },
    ];
  }

  /** What the next live frames carry. */
  update(values: Readonly<Record<string, number>>): void {
    this.#values = { ...this.#values, ...values };
  }

  value(key: string): number | undefined {
    return this.#values[key];
  }

  written(target: CharacteristicRef, bytes: Uint8Array): void {
    this.writes.push(`${target.characteristic}:${Buffer.from(bytes).toString('hex')}`);
  }

  connected(link: PeripheralLink): void {
    this.disconnected();
    const target = { service: VIRTUAL_SHUNT_SERVICE, characteristic: SHUNT_NOTIFY_CHARACTERISTIC };
    this.#timer = setInterval(() => {
      try {
        link.notify(target, this.#nextFrame());
      } catch (error) {
        // Connected without GATT objects (the services-missing fault): the stream goes nowhere.
        if (!(error instanceof RangeError)) throw error;
      }
    }, this.#intervalMs);
    this.#timer.unref();
  }

  disconnected(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #nextFrame(): Buffer {
    const kind = this.#tick % 3;
    this.#tick += 1;
    if (kind === 0 || this.silent) {
      this.sent.history += 1;
      return HISTORY_FRAME;
    }
    const live = encodeShuntFrame(this.#values);
    if (this.garbleLiveFrames > 0) {
      this.garbleLiveFrames -= 1;
      this.sent.garbled += 1;
      for (let at = SHUNT_LIVE_HEADER.length; at < live.length; at += 1) live[at] = (live[at] ?? 0) ^ 0x5a;
    }
    if (kind === 1) {
      this.sent.prefixed += 1;
      return Buffer.concat([PREFIX, live]);
    }
    this.sent.live += 1;
    return live;
  }
}
