import { hexRegister, parseHex, fail } from './errors.js';
import { frameCrc } from './crc.js';
import { isAppAck } from './gatt.js';
import {
  EXCEPTION_BIT,
  EXCEPTION_LENGTH,
  READ_HOLDING_REGISTERS,
  REQUEST_LENGTH,
  WRITE_SINGLE_REGISTER,
  exceptionName,
  hexFunction,
  wordsOf,
} from './modbus.js';
import { decodeRead } from './readings.js';
import { decodeShuntFrame, SHUNT_LIVE_HEADER, shuntImplausibilities } from './shunt.js';
import { FAMILY_TABLES, familyFields, familyTable, MODBUS_FAMILIES, type ModbusFamily } from './families.js';
import type { RenogyValue } from './values.js';

// `fieldbridge decode renogy <hex…>`: one frame from a log (either direction), named and checked, and
// its values when the family and start register are given or follow from its length.

export interface DescribeOptions {
  /** controller, dc_charger, battery or inverter. */
  readonly family?: string;
  /** The register the read started at (a response carries none), decimal or 0x hex. */
  readonly register?: string;
}

export interface RenogyDescription {
  readonly type:
    'read_request' | 'read_response' | 'write_single_register' | 'exception' | 'app_ack' | 'shunt_frame';
  readonly deviceId?: number;
  readonly function?: string;
  readonly functionName?: string;
  readonly crc?: { readonly valid: boolean; readonly received: string; readonly computed: string };
  readonly register?: string;
  readonly count?: number;
  readonly value?: number;
  readonly exceptionCode?: number;
  readonly exceptionName?: string;
  /** The blocks of the tables this read is (`controller.dynamic`). */
  readonly reads?: readonly string[];
  readonly words?: readonly number[];
  readonly family?: string;
  readonly values?: Readonly<Record<string, RenogyValue>>;
  readonly warnings?: readonly string[];
  readonly note?: string;
}

function parseRegister(text: string): number {
  const value = /^0x[0-9a-f]+$/i.test(text)
    ? parseInt(text.slice(2), 16)
    : /^\d+$/.test(text)
      ? Number(text)
      : NaN;
  if (!Number.isInteger(value) || value > 0xffff)
    fail('bad_argument', `register "${text}" is not 0-65535 (decimal or 0x hex)`);
  return value;
}

/** The table blocks read by `count` registers from `register` (any register when undefined). */
function matchingBlocks(
  count: number,
  register?: number,
  family?: ModbusFamily,
): { family: ModbusFamily; register: number; name: string }[] {
  return (family ? [family] : MODBUS_FAMILIES).flatMap((name) =>
    FAMILY_TABLES[name].blocks
      .filter((entry) => entry.words === count && (register === undefined || entry.register === register))
      .map((entry) => ({ family: name, register: entry.register, name: `${name}.${entry.name}` })),
  );
}

function crcOf(bytes: Buffer): RenogyDescription['crc'] {
  const crc = frameCrc(bytes);
  return { valid: crc.valid, received: hexRegister(crc.received), computed: hexRegister(crc.computed) };
}

/** The values of a read answer, when the family and start register are known or can be inferred. */
function valuesOf(words: number[], options: DescribeOptions): Partial<RenogyDescription> {
  const family = options.family === undefined ? undefined : familyTable(options.family).family;
  const register = options.register === undefined ? undefined : parseRegister(options.register);
  let target: { family: ModbusFamily; register: number } | undefined;
  if (family !== undefined && register !== undefined) target = { family, register };
  else if (register !== undefined) {
    const families = MODBUS_FAMILIES.filter((name) =>
      familyFields(name).some((field) => field.register === register),
    );
    if (families.length === 1 && families[0]) target = { family: families[0], register };
    else if (families.length > 1)
      return { note: `register ${hexRegister(register)} is in ${families.join(', ')}: give --family` };
  } else {
    const candidates = matchingBlocks(words.length, undefined, family);
    if (candidates.length === 1 && candidates[0]) target = candidates[0];
    else if (candidates.length > 1) {
      return {
        note: `${words.length} registers could be ${candidates.map((entry) => entry.name).join(', ')}: give --register`,
      };
    }
  }
  if (!target)
    return {
      note: 'give --family and --register to decode the values (an answer carries no register address)',
    };
  const decoded = decodeRead(target.family, target.register, words);
  if (Object.keys(decoded.values).length === 0) {
    return {
      family: target.family,
      register: hexRegister(target.register),
      note: `no ${target.family} value lies wholly in ${words.length} registers from ${hexRegister(target.register)}`,
    };
  }
  return {
    family: target.family,
    register: hexRegister(target.register),
    values: decoded.values,
    ...(decoded.warnings.length > 0 ? { warnings: decoded.warnings } : {}),
  };
}

/** What `bytes` are, for the decode command. */
export function describeFrame(bytes: Buffer, options: DescribeOptions = {}): RenogyDescription {
  if (isAppAck(bytes))
    return {
      type: 'app_ack',
      note: 'the Renogy app\'s "main recv data" acknowledgement (§1.4): not Modbus, ignored',
    };
  const shuntAt = bytes.indexOf(SHUNT_LIVE_HEADER);
  if (shuntAt === 0 || (shuntAt === 4 && bytes[0] === 0x61 && bytes[1] === 0xd2)) {
    // Every value shown, implausible ones too, each named: the runtime would not publish this frame.
    const values = decodeShuntFrame(bytes.subarray(shuntAt));
    const implausible = shuntImplausibilities(values).map(
      (problem) =>
        `implausible: ${problem.message} (${problem.otherwise === 'drop_frame' ? 'the frame is dropped' : 'the value is withheld'})`,
    );
    return { type: 'shunt_frame', values, ...(implausible.length > 0 ? { warnings: implausible } : {}) };
  }
  if (bytes.length < EXCEPTION_LENGTH)
    fail('bad_frame', `${bytes.length} bytes are too short for a Modbus frame`);
  const code = bytes[1] ?? 0;
  const head = { deviceId: bytes[0] ?? 0, function: hexFunction(code), crc: crcOf(bytes) };
  if (code & EXCEPTION_BIT) {
    if (bytes.length !== EXCEPTION_LENGTH)
      fail('bad_frame', `an exception answer is ${EXCEPTION_LENGTH} bytes, got ${bytes.length}`);
    const exceptionCode = bytes[2] ?? 0;
    return {
      type: 'exception',
      ...head,
      functionName: `exception to ${hexFunction(code & ~EXCEPTION_BIT)}`,
      exceptionCode,
      exceptionName: exceptionName(exceptionCode),
    };
  }
  if (code === WRITE_SINGLE_REGISTER && bytes.length === REQUEST_LENGTH) {
    const [register = 0, value = 0] = wordsOf(bytes.subarray(2, 6));
    const load = FAMILY_TABLES.controller.loadSwitch;
    return {
      type: 'write_single_register',
      ...head,
      functionName: 'write_single_register (the request and its echo are the same bytes)',
      register: hexRegister(register),
      value,
      ...(register === load?.register
        ? {
            note: `controller load output ${value === load.on ? 'on' : value === load.off ? 'off' : '?'} (§4.2)`,
          }
        : {}),
    };
  }
  if (code === WRITE_SINGLE_REGISTER) {
    fail('bad_frame', `a write single register frame is ${REQUEST_LENGTH} bytes, got ${bytes.length}`);
  }
  if (code !== READ_HOLDING_REGISTERS)
    fail('bad_frame', `function ${hexFunction(code)} is not one Renogy devices use (0x03, 0x06)`);
  // An 8-byte 0x03 frame is a request: an answer of 8 bytes would carry 3 data bytes, half a register.
  if (bytes.length === REQUEST_LENGTH) {
    const [register = 0, count = 0] = wordsOf(bytes.subarray(2, 6));
    const reads = matchingBlocks(count, register).map((entry) => entry.name);
    return {
      type: 'read_request',
      ...head,
      functionName: 'read_holding_registers',
      register: hexRegister(register),
      count,
      ...(reads.length > 0 ? { reads } : {}),
    };
  }
  const byteCount = bytes[2] ?? 0;
  if (bytes.length !== byteCount + 5 || byteCount % 2 !== 0) {
    fail(
      'bad_frame',
      `a read answer of byte count ${byteCount} is ${byteCount + 5} bytes, got ${bytes.length}`,
    );
  }
  const words = wordsOf(bytes.subarray(3, bytes.length - 2));
  return {
    type: 'read_response',
    ...head,
    functionName: 'read_holding_registers',
    count: words.length,
    words,
    ...valuesOf(words, options),
  };
}

/** describeFrame of hex text. */
export function describeHex(hex: string, options: DescribeOptions = {}): RenogyDescription {
  return describeFrame(parseHex(hex), options);
}
