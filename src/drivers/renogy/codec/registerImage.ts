import {
  decodeRequest,
  encodeException,
  encodeReadResponse,
  encodeWriteEcho,
  READ_HOLDING_REGISTERS,
  WRITE_SINGLE_REGISTER,
  type ModbusRequest,
} from './modbus.js';
import { blocksFor, FAMILY_TABLES, familyFields, type ModbusFamily } from './families.js';
import { encodeFields, type DecodeOptions, type RenogyValue } from './values.js';

// The simulator's side of the register maps: a virtual device's registers built from values with the
// same table the decoder reads, and the Modbus slave behaviour of notes §8 (answer 0xFF and its own id,
// exception 2 outside the mapped reads, FC 6 on the load register with an echo, ignore anything that is
// not a valid request, such as the app's ACK strings). Tests check the decoder against captured frames,
// never against this encoder.

/** Modbus exception codes the virtual devices use. */
export const ILLEGAL_DATA_ADDRESS = 2;
export const ILLEGAL_DATA_VALUE = 3;

/** The register words (by address) holding `values` on a device of `family`. */
export function encodeRegisters(
  family: ModbusFamily,
  values: Readonly<Record<string, RenogyValue>>,
  options: DecodeOptions = {},
): Map<number, number> {
  return encodeFields(familyFields(family), values, options);
}

export interface RegisterImageOptions extends DecodeOptions {
  /** The device's own Modbus id (it also answers 0xFF). Default: the family's first stand-alone id that is not 0xFF. */
  readonly deviceId?: number;
  /** The model, which picks a variant's reads (a DC-DC charger's -G6). */
  readonly model?: string;
}

export class RegisterImage {
  readonly deviceId: number;
  private values: Record<string, RenogyValue>;
  private words = new Map<number, number>();
  /** Registers a read may cover: the blocks of the family's table (gaps inside a block read as 0). */
  private readonly readable = new Set<number>();

  constructor(
    readonly family: ModbusFamily,
    values: Readonly<Record<string, RenogyValue>>,
    private readonly options: RegisterImageOptions = {},
  ) {
    const table = FAMILY_TABLES[family];
    this.deviceId = options.deviceId ?? table.ids.standalone.find((id) => id !== 0xff) ?? 0x01;
    for (const entry of blocksFor(family, options.model)) {
      for (let offset = 0; offset < entry.words; offset++) this.readable.add(entry.register + offset);
    }
    this.values = { device_address: this.deviceId, ...values };
    this.encode();
  }

  /** Changes some values (a new reading); the next read answers them. */
  update(values: Readonly<Record<string, RenogyValue>>): void {
    this.values = { ...this.values, ...values };
    this.encode();
  }

  /** The current value of a key, as the device would report it. */
  value(key: string): RenogyValue | undefined {
    return this.values[key];
  }

  /** The words of a read, or the exception code that refuses it. */
  read(register: number, count: number): number[] | { exception: number } {
    const words: number[] = [];
    for (let offset = 0; offset < count; offset++) {
      if (!this.readable.has(register + offset)) return { exception: ILLEGAL_DATA_ADDRESS };
      words.push(this.words.get(register + offset) ?? 0);
    }
    return words;
  }

  /**
   * The frame a device answers `frame` (written to ffd1) with, or undefined when it stays silent: not a
   * valid request (bad CRC, the app's ACK), or for another id.
   */
  answer(frame: Uint8Array): Buffer | undefined {
    let request: ModbusRequest;
    try {
      request = decodeRequest(frame);
    } catch {
      return undefined;
    }
    if (request.deviceId !== 0xff && request.deviceId !== this.deviceId) return undefined;
    if (request.function === 'read_holding_registers') {
      const words = this.read(request.register, request.count);
      return Array.isArray(words)
        ? encodeReadResponse(request.deviceId, words)
        : encodeException(request.deviceId, READ_HOLDING_REGISTERS, words.exception);
    }
    const refusal = this.write(request.register, request.value);
    return refusal === undefined
      ? encodeWriteEcho(request)
      : encodeException(request.deviceId, WRITE_SINGLE_REGISTER, refusal);
  }

  /** A write single register: only the load output is writable (§4.2). Undefined when done, else the exception code. */
  write(register: number, value: number): number | undefined {
    const load = FAMILY_TABLES[this.family].loadSwitch;
    if (!load || register !== load.register) return ILLEGAL_DATA_ADDRESS;
    if (value !== load.on && value !== load.off) return ILLEGAL_DATA_VALUE;
    this.update({ load_on: value === load.on });
    return undefined;
  }

  private encode(): void {
    this.words = encodeRegisters(this.family, this.values, this.options);
  }
}
