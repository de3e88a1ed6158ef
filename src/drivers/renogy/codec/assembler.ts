import { frameCrc } from './crc.js';
import { hexRegister } from './errors.js';
import {
  EXCEPTION_BIT,
  EXCEPTION_LENGTH,
  READ_HOLDING_REGISTERS,
  WRITE_ECHO_LENGTH,
  WRITE_SINGLE_REGISTER,
  functionCode,
  hexFunction,
  readResponseLength,
  responseOf,
  type ModbusRequest,
  type ModbusResponse,
} from './modbus.js';

// Reassembly of one answer from the notify characteristic (notes §1.4, §2.1, §3). With the default ATT
// MTU a notification carries at most 20 bytes, so a 73-byte answer comes as 20+20+20+13; fieldbridge
// always reassembles, whatever MTU BlueZ negotiated. One assembler per request, fed every notification
// received after the request was written, in order.
//
// The length is known from the first bytes: a 0x03 answer from its byte count (5 + count), a 0x06 echo
// is 8, an exception (0x83/0x86) is 5. The assembler is strict where renogy-ble scans its buffer at every
// offset: an answer carries no register address, so bytes that do not start with the answer expected
// (another function, another byte count, another echo) are a reply to some other request, late, and
// nothing later on this link can be trusted. That is `session_unusable`: the runtime drops the connection
// rather than guess (renogy-ble's "desynchronized" session). Every failure ends the session in practice
// (renogy-ble drops the link whenever no valid answer arrives in time); the kinds name what went wrong.

export type FrameProblemKind =
  /** The frame has the expected length but its CRC-16/MODBUS does not match. */
  | 'bad_crc'
  /** The first byte is not the device id the request went to (a daisy chain answering 0xFF collides, §2.3). */
  | 'wrong_device_id'
  /** A function byte this protocol never sends or gets (not 03, 06, 83, 86): garbage. */
  | 'wrong_function'
  /** A shape no Modbus answer has (a read answer with an odd or zero byte count). */
  | 'garbled'
  /** More bytes than the frame they belong to: a second frame or noise after the answer. */
  | 'overlong'
  /**
   * A well-formed answer to ANOTHER request (another function, another byte count, an echo of another
   * write): a late reply. The link is out of step; drop the session (notes §2.1, §3).
   */
  | 'session_unusable'
  /**
   * The runtime's wait ran out (`expire()`): no answer, or part of one (notifications lost mid-frame).
   * Its answer may still come and would be taken for the next one's, so this too ends the session (§3.3).
   */
  | 'timeout';

export interface FrameProblem {
  readonly kind: FrameProblemKind;
  readonly message: string;
  /** Everything received for this request, for the log. */
  readonly received: Buffer;
}

export type AssemblyResult =
  | { readonly status: 'incomplete'; readonly received: number; readonly expected: number | undefined }
  | { readonly status: 'complete'; readonly frame: Buffer; readonly response: ModbusResponse }
  | { readonly status: 'failed'; readonly problem: FrameProblem };

/** The functions fieldbridge sends and their exceptions: anything else is not an answer to us at all. */
const OUR_FUNCTIONS = new Set([
  READ_HOLDING_REGISTERS,
  WRITE_SINGLE_REGISTER,
  READ_HOLDING_REGISTERS | EXCEPTION_BIT,
  WRITE_SINGLE_REGISTER | EXCEPTION_BIT,
]);

export class ResponseAssembler {
  private buffer = Buffer.alloc(0);
  private settled: AssemblyResult | undefined;

  constructor(readonly request: ModbusRequest) {}

  /** The state after the last piece (incomplete before the first). */
  get result(): AssemblyResult {
    if (this.settled) return this.settled;
    const total = this.expectedLength();
    return {
      status: 'incomplete',
      received: this.buffer.length,
      expected: typeof total === 'number' ? total : undefined,
    };
  }

  /**
   * Adds one notification's bytes. Once complete or failed the result stays, except that bytes arriving
   * after a complete answer turn it into `overlong` (something else is talking on the link).
   */
  push(piece: Uint8Array): AssemblyResult {
    this.buffer = Buffer.concat([this.buffer, piece]);
    if (this.settled?.status === 'complete' && piece.length > 0) {
      this.settled = this.failure('overlong', `${piece.length} more bytes after the complete answer`);
    }
    if (this.settled) return this.settled;
    const result = this.evaluate();
    if (result.status !== 'incomplete') this.settled = result;
    return result;
  }

  /**
   * The runtime's timeout for this request (the assembler keeps no time): settles an incomplete answer
   * as `timeout`; a settled result stays as it is.
   */
  expire(): AssemblyResult {
    if (this.settled) return this.settled;
    const total = this.expectedLength();
    const got = this.buffer.length;
    this.settled = this.failure(
      'timeout',
      got === 0
        ? 'no answer'
        : `${got} of ${typeof total === 'number' ? total : '?'} bytes of the answer (notifications lost mid-frame)`,
    );
    return this.settled;
  }

  private evaluate(): AssemblyResult {
    const bytes = this.buffer;
    const request = this.request;
    if (bytes.length === 0) return { status: 'incomplete', received: 0, expected: undefined };
    if (bytes[0] !== request.deviceId) {
      return this.failure(
        'wrong_device_id',
        `answer from device ${bytes[0]}, the request went to ${request.deviceId}`,
      );
    }
    const total = this.expectedLength();
    if (typeof total === 'object') return total;
    if (total === undefined || bytes.length < total)
      return { status: 'incomplete', received: bytes.length, expected: total };
    if (bytes.length > total)
      return this.failure('overlong', `${bytes.length} bytes where the answer is ${total}`);
    const crc = frameCrc(bytes);
    if (!crc.valid) {
      return this.failure(
        'bad_crc',
        `CRC ${hexRegister(crc.received)} does not match the frame (computed ${hexRegister(crc.computed)})`,
      );
    }
    const response = responseOf(bytes);
    if (response.kind === 'write_echo' && request.function === 'write_single_register') {
      if (response.register !== request.register || response.value !== request.value) {
        return this.failure(
          'session_unusable',
          `echo of a write of ${response.value} to ${hexRegister(response.register)}, not of ${request.value} to ` +
            `${hexRegister(request.register)}: a late reply`,
        );
      }
    }
    return { status: 'complete', frame: Buffer.from(bytes), response };
  }

  /**
   * The frame's length once the bytes so far tell it; undefined until then; a failed result when they
   * contradict the request.
   */
  private expectedLength(): number | undefined | AssemblyResult {
    const bytes = this.buffer;
    if (bytes.length < 2) return undefined;
    const code = bytes[1] ?? 0;
    const expected = functionCode(this.request);
    if (code === (expected | EXCEPTION_BIT)) return EXCEPTION_LENGTH;
    if (code !== expected) {
      return OUR_FUNCTIONS.has(code)
        ? this.failure(
            'session_unusable',
            `function ${hexFunction(code)} answers another request (a late reply)`,
          )
        : this.failure(
            'wrong_function',
            `function ${hexFunction(code)} is not an answer to ${hexFunction(expected)}`,
          );
    }
    if (this.request.function === 'write_single_register') return WRITE_ECHO_LENGTH;
    if (bytes.length < 3) return undefined;
    const byteCount = bytes[2] ?? 0;
    if (byteCount === 2 * this.request.count) return readResponseLength(this.request.count);
    if (byteCount === 0 || byteCount % 2 === 1)
      return this.failure('garbled', `byte count ${byteCount} in a read answer`);
    return this.failure(
      'session_unusable',
      `${byteCount / 2} registers in the answer, ${this.request.count} asked for: a late reply to another read`,
    );
  }

  private failure(kind: FrameProblemKind, message: string): AssemblyResult {
    return { status: 'failed', problem: { kind, message, received: Buffer.from(this.buffer) } };
  }
}
