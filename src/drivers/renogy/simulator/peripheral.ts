import type { RegisterImage } from '../codec/index.js';
import {
  encodeException,
  INVERTER_INIT_CHARACTERISTIC,
  isAppAck,
  NOTIFY_CHARACTERISTIC,
  READ_HOLDING_REGISTERS,
  VENDOR_DECOY_SERVICE,
  WRITE_CHARACTERISTIC,
} from '../codec/index.js';
import type { CharacteristicRef, GattServiceSpec, Peripheral, PeripheralLink } from './bluezSim.js';

// A virtual Renogy device behind its BLE module, for the fake BlueZ: the GATT table of a BT-1/BT-2
// (write ffd1 under ffd0, notify fff1 under fff0, notes §1.2) and one register image per Modbus device
// behind it (a controller; a hub's batteries with their own ids). Every request written to ffd1 is
// answered from the image whose id it names, as one notification the fake splits into 20-byte pieces.
// 0xFF reaches a single device; behind a hub several devices would answer at once and collide, so
// nobody answers it there (the runtime's id discovery then tries the hub's ids). An inverter (built-in
// BLE) may also have the ffd4 characteristic renogy-ble reads once after connecting, and may answer
// nothing on a link where it was not read (`requireInitRead`).

const sameRef = (a: CharacteristicRef, b: CharacteristicRef): boolean =>
  a.service === b.service && a.characteristic === b.characteristic;

export interface RenogyPeripheralOptions {
  /** A second service with the same characteristic UUIDs (Pro batteries, §1.2): silent. */
  duplicateService?: boolean;
  /** Each answer this much later (a slow module). */
  replyDelayMs?: number;
  /**
   * Has the inverters' ffd4 characteristic (readable, under ffd0; its service is not stated in the
   * notes) and answers no request on a link until it was read there.
   */
  requireInitRead?: boolean;
}

export class RenogyPeripheral implements Peripheral {
  readonly services: readonly GattServiceSpec[];
  readonly images: readonly RegisterImage[];
  readonly #replyDelayMs: number;
  /** Requests answered with this exception code (the next ones, first first). */
  readonly #exceptions: number[] = [];
  /** The answers to replay before the next ones (a late answer of an earlier request). */
  #replays = 0;
  /** Requests to leave unanswered (the next ones). */
  #ignored = 0;
  readonly #requireInitRead: boolean;
  /** Whether ffd4 was read on the link that is up. */
  #initRead = false;
  /** How often ffd4 was read, and when (wall clock ms), for tests. */
  readonly initReads: number[] = [];
  #lastAnswer: Buffer | undefined;
  /** Every request written to ffd1, for tests (hex), and when it arrived (wall clock ms). */
  readonly requests: string[] = [];
  readonly requestTimes: number[] = [];

  constructor(images: readonly RegisterImage[], options: RenogyPeripheralOptions = {}) {
    this.images = images;
    this.#replyDelayMs = options.replyDelayMs ?? 0;
    this.#requireInitRead = options.requireInitRead ?? false;
    const init = { uuid: INVERTER_INIT_CHARACTERISTIC, flags: ['read'] as const };
    const notify = { uuid: NOTIFY_CHARACTERISTIC.characteristic, flags: ['notify'] as const };
    const write = {
      uuid: WRITE_CHARACTERISTIC.characteristic,
      flags: ['write', 'write-without-response'] as const,
    };
    this.services = [
      {
        uuid: WRITE_CHARACTERISTIC.service,
        characteristics: this.#requireInitRead ? [write, init] : [write],
      },
      { uuid: NOTIFY_CHARACTERISTIC.service, characteristics: [notify] },
      ...(options.duplicateService ? [{ uuid: VENDOR_DECOY_SERVICE, characteristics: [write, notify] }] : []),
    ];
  }

  /** The next `count` requests are refused with `code` (2: illegal data address). */
  refuseNext(code = 2, count = 1): void {
    for (let i = 0; i < count; i += 1) this.#exceptions.push(code);
  }

  /** The next `count` requests get no answer at all (lost on the air, or a module that missed them). */
  ignoreNext(count = 1): void {
    this.#ignored += count;
  }

  /** The next answer comes after a late copy of the one before it (a reply out of step). */
  replayNext(count = 1): void {
    this.#replays += count;
  }

  written(target: CharacteristicRef, bytes: Uint8Array, link: PeripheralLink): void {
    if (!sameRef(target, WRITE_CHARACTERISTIC) || isAppAck(bytes)) return;
    this.requests.push(Buffer.from(bytes).toString('hex'));
    this.requestTimes.push(Date.now());
    const id = bytes[0];
    const image =
      id === 0xff
        ? this.images.length === 1
          ? this.images[0]
          : undefined
        : this.images.find((candidate) => candidate.deviceId === id);
    if (image === undefined || id === undefined) return;
    if (this.#requireInitRead && !this.#initRead) return;
    if (this.#ignored > 0) {
      this.#ignored -= 1;
      return;
    }
    const refusal = this.#exceptions.shift();
    const answer =
      refusal === undefined
        ? image.answer(bytes)
        : encodeException(id, bytes[1] ?? READ_HOLDING_REGISTERS, refusal);
    if (answer === undefined) return;
    if (this.#replays > 0 && this.#lastAnswer !== undefined) {
      this.#replays -= 1;
      link.notify(NOTIFY_CHARACTERISTIC, this.#lastAnswer, { delayMs: this.#replyDelayMs });
    }
    this.#lastAnswer = answer;
    link.notify(NOTIFY_CHARACTERISTIC, answer, { delayMs: this.#replyDelayMs });
  }

  read(target: CharacteristicRef): Uint8Array | undefined {
    if (target.characteristic !== INVERTER_INIT_CHARACTERISTIC) return undefined;
    this.#initRead = true;
    this.initReads.push(Date.now());
    return Uint8Array.of(0x01);
  }

  connected(): void {
    this.#initRead = false;
  }

  disconnected(): void {
    this.#initRead = false;
  }
}
