import { frameCrc, withCrc } from './crc.js';
import { hexByte } from '../../shared/hex.js';
import { checkRange, fail, hexRegister } from './errors.js';

// Modbus RTU as Renogy's BT-1/BT-2 modules carry it over BLE (notes §2.1): the two functions fieldbridge
// sends (read holding registers 0x03, write single register 0x06), their answers and exception frames.
// Registers are big-endian and a 32-bit value is high word first.

export const READ_HOLDING_REGISTERS = 0x03;
export const WRITE_SINGLE_REGISTER = 0x06;
/** Set in the function byte of an exception answer: 0x83 answers a 0x03, 0x86 a 0x06. */
export const EXCEPTION_BIT = 0x80;

/** The most registers one read may ask for: the answer's byte count is one byte (Modbus caps it at 125). */
export const MAX_READ_WORDS = 125;

/** Length of a 0x03 request, a 0x06 request or its echo, and an exception answer. */
export const REQUEST_LENGTH = 8;
export const WRITE_ECHO_LENGTH = 8;
export const EXCEPTION_LENGTH = 5;

/** Length of the answer to a read of `words` registers: id, function, byte count, data, CRC. */
export function readResponseLength(words: number): number {
  return 5 + 2 * words;
}

export interface ReadRequest {
  readonly function: 'read_holding_registers';
  readonly deviceId: number;
  readonly register: number;
  readonly count: number;
}

export interface WriteRequest {
  readonly function: 'write_single_register';
  readonly deviceId: number;
  readonly register: number;
  readonly value: number;
}

export type ModbusRequest = ReadRequest | WriteRequest;

export function readHoldingRegisters(deviceId: number, register: number, count: number): ReadRequest {
  checkRange(deviceId, 0, 255, 'device id');
  checkRange(register, 0, 0xffff, 'register');
  checkRange(count, 1, MAX_READ_WORDS, 'register count');
  if (register + count > 0x10000)
    fail('bad_argument', `${count} registers from ${hexRegister(register)} pass 0xFFFF`);
  return { function: 'read_holding_registers', deviceId, register, count };
}

export function writeSingleRegister(deviceId: number, register: number, value: number): WriteRequest {
  checkRange(deviceId, 0, 255, 'device id');
  checkRange(register, 0, 0xffff, 'register');
  checkRange(value, 0, 0xffff, 'register value');
  return { function: 'write_single_register', deviceId, register, value };
}

export function functionCode(request: ModbusRequest): number {
  return request.function === 'read_holding_registers' ? READ_HOLDING_REGISTERS : WRITE_SINGLE_REGISTER;
}

/** The 8 bytes to write to ffd1 (notes §2.1): id, function, register, count or value, CRC low first. */
export function encodeRequest(request: ModbusRequest): Buffer {
  const word = request.function === 'read_holding_registers' ? request.count : request.value;
  return withCrc(
    Buffer.from([
      request.deviceId,
      functionCode(request),
      request.register >>> 8,
      request.register & 0xff,
      word >>> 8,
      word & 0xff,
    ]),
  );
}

/** The length of a complete, well-formed answer to `request` (not an exception). */
export function expectedResponseLength(request: ModbusRequest): number {
  return request.function === 'read_holding_registers'
    ? readResponseLength(request.count)
    : WRITE_ECHO_LENGTH;
}

/**
 * A request read back from its 8 bytes (the simulator's side, and `decode` of a logged request). A
 * frame with a bad CRC or of another function is refused: a device ignores it, and so does the
 * simulator (notes §1.4: the app's "main recv data" ACK writes are not Modbus and must be ignored).
 */
export function decodeRequest(frame: Uint8Array): ModbusRequest {
  if (frame.length !== REQUEST_LENGTH)
    fail('bad_frame', `a request is ${REQUEST_LENGTH} bytes, got ${frame.length}`);
  const crc = frameCrc(frame);
  if (!crc.valid)
    fail(
      'bad_frame',
      `request CRC ${hexRegister(crc.received)} is wrong (computed ${hexRegister(crc.computed)})`,
    );
  const deviceId = frame[0] ?? 0;
  const register = ((frame[2] ?? 0) << 8) | (frame[3] ?? 0);
  const word = ((frame[4] ?? 0) << 8) | (frame[5] ?? 0);
  if (frame[1] === READ_HOLDING_REGISTERS) {
    if (word < 1 || word > MAX_READ_WORDS)
      fail('bad_frame', `a read of ${word} registers is not valid Modbus`);
    return { function: 'read_holding_registers', deviceId, register, count: word };
  }
  if (frame[1] === WRITE_SINGLE_REGISTER)
    return { function: 'write_single_register', deviceId, register, value: word };
  return fail('bad_frame', `function ${hexFunction(frame[1] ?? 0)} is not one this protocol uses (03, 06)`);
}

// --- answers

/** Modbus exception codes (Modbus Application Protocol v1.1b3 §7), by the names the decode output uses. */
export const EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  1: 'illegal_function',
  2: 'illegal_data_address',
  3: 'illegal_data_value',
  4: 'server_device_failure',
  5: 'acknowledge',
  6: 'server_device_busy',
  8: 'memory_parity_error',
  10: 'gateway_path_unavailable',
  11: 'gateway_target_failed_to_respond',
};

export function exceptionName(code: number): string {
  return EXCEPTION_NAMES[code] ?? 'unknown_exception';
}

export interface ReadResponse {
  readonly kind: 'read';
  readonly deviceId: number;
  /** The register values, in order (16-bit, unsigned). */
  readonly words: readonly number[];
}

export interface WriteEcho {
  readonly kind: 'write_echo';
  readonly deviceId: number;
  readonly register: number;
  readonly value: number;
}

export interface ExceptionResponse {
  readonly kind: 'exception';
  readonly deviceId: number;
  /** The function the exception answers (0x03 for 0x83). */
  readonly function: number;
  readonly code: number;
  readonly codeName: string;
}

export type ModbusResponse = ReadResponse | WriteEcho | ExceptionResponse;

/** Big-endian 16-bit words of `data` (an even number of bytes). */
export function wordsOf(data: Uint8Array): number[] {
  const words: number[] = [];
  for (let index = 0; index + 1 < data.length; index += 2)
    words.push(((data[index] ?? 0) << 8) | (data[index + 1] ?? 0));
  return words;
}

/** The bytes of `words`, big-endian. */
export function bytesOfWords(words: readonly number[]): Buffer {
  const bytes = Buffer.alloc(words.length * 2);
  words.forEach((word, index) => bytes.writeUInt16BE(word & 0xffff, index * 2));
  return bytes;
}

/**
 * A complete answer frame whose CRC has been checked, by its shape alone: a read response, a write echo
 * or an exception. The assembler calls it once the length is known; `decode` calls it for a logged frame.
 */
export function responseOf(frame: Uint8Array): ModbusResponse {
  const deviceId = frame[0] ?? 0;
  const code = frame[1] ?? 0;
  if (code & EXCEPTION_BIT && frame.length === EXCEPTION_LENGTH) {
    const exceptionCode = frame[2] ?? 0;
    return {
      kind: 'exception',
      deviceId,
      function: code & ~EXCEPTION_BIT,
      code: exceptionCode,
      codeName: exceptionName(exceptionCode),
    };
  }
  if (code === READ_HOLDING_REGISTERS && frame.length === readResponseLength((frame[2] ?? 0) / 2)) {
    return { kind: 'read', deviceId, words: wordsOf(frame.subarray(3, frame.length - 2)) };
  }
  if (code === WRITE_SINGLE_REGISTER && frame.length === WRITE_ECHO_LENGTH) {
    const words = wordsOf(frame.subarray(2, 6));
    return { kind: 'write_echo', deviceId, register: words[0] ?? 0, value: words[1] ?? 0 };
  }
  return fail('bad_frame', `${frame.length} bytes of function ${hexFunction(code)} are not a Modbus answer`);
}

// --- answers the simulator sends

/** A read response for `deviceId` carrying `words`. */
export function encodeReadResponse(deviceId: number, words: readonly number[]): Buffer {
  checkRange(words.length, 1, MAX_READ_WORDS, 'register count');
  return withCrc(
    Buffer.concat([Buffer.from([deviceId, READ_HOLDING_REGISTERS, words.length * 2]), bytesOfWords(words)]),
  );
}

/** The echo of a write single register (identical to the request, notes §2.1). */
export function encodeWriteEcho(request: WriteRequest): Buffer {
  return encodeRequest(request);
}

/** An exception answer: `[id][fc|0x80][code][crc]` (notes §2.1). */
export function encodeException(deviceId: number, functionCode: number, code: number): Buffer {
  return withCrc(Buffer.from([deviceId, (functionCode | EXCEPTION_BIT) & 0xff, code]));
}

/** A function byte as the messages write it (0x03). */
export function hexFunction(value: number): string {
  return `0x${hexByte(value)}`;
}
