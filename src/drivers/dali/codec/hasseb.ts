import { answer, type BackwardResult, INVALID_ANSWER, NO_ANSWER } from './backward.js';
import { checkRange, fail, hexByte } from './errors.js';
import type { DaliCommand } from './frames.js';

// The hasseb DALI Master's USB HID report protocol (firmware 2.x), as python-dali's hasseb driver
// (dali/driver/hasseb.py, construct()/extract()/readFirmwareVersion()) speaks it, and as the protocol
// notes in hasseb's python-dali fork (dali/driver/hasseb_firmware/README.md) describe it. Every report is
// 10 bytes without a report id, both ways:
//
//   host → adapter  AA cmd seq …            cmd 07 send a DALI frame, 02 read firmware version,
//                                            05 configure (sniffing on/off), 00 no operation
//     send frame    AA 07 seq 10 reply 00 twice A D 00
//                   10 = 16-bit frame; reply 01 when a backward frame is expected; 00 = transmitter
//                   settling time; twice = 0A (10 ms between the two copies) for send-twice commands
//   adapter → host  AA type seq …
//     transmission  AA 07 seq status count data 00 00 00 00
//                   status 01 no answer, 02 answer (count 1, data = the backward frame),
//                   03 invalid answer (collision/framing), 04 answer too early, 05/06 sniffed byte (seq 0)
//     firmware      AA 02 seq major minor 00 …
//     no data       AA 00 …  the adapter had nothing to say when the host polled; ignore it
//
// Assumptions, where the sources are thin (the protocol notes number bytes inconsistently):
// - The firmware version answer is AA 02 seq major minor: python-dali returns f"{data[3]}.{data[4]}" and
//   the notes say answers to host commands echo the sequence number in byte 2.
// - A sniffed byte (status 05) carries its byte where an answer does (byte 5).
// - The adapter sends a transmission report only for frames sent with the reply flag set; python-dali
//   never waits for one otherwise.
// - Firmware 2.3 is the oldest that works: dali2mqtt refuses older with "requires newest hasseb firmware"
//   since python-dali 0.7 switched to this sequence-numbered protocol.

export const HASSEB_REPORT_BYTES = 10;
export const HASSEB_PREAMBLE = 0xaa;

/** Byte 1 of a host → adapter report. */
export const HASSEB_COMMAND = {
  NO_OPERATION: 0x00,
  READ_FIRMWARE_VERSION: 0x02,
  CONFIGURE_DEVICE: 0x05,
  SEND_DALI_FRAME: 0x07,
} as const;

/** Byte 1 of an adapter → host report. */
export const HASSEB_REPORT = {
  NO_DATA: 0x00,
  FIRMWARE_VERSION: 0x02,
  TRANSMISSION: 0x07,
} as const;

export type HassebStatus =
  'no_answer' | 'ok' | 'invalid_answer' | 'too_early' | 'sniffer_byte' | 'sniffer_byte_error';

/** Byte 3 of a transmission report. */
export const HASSEB_STATUS: Readonly<Record<HassebStatus, number>> = {
  no_answer: 0x01,
  ok: 0x02,
  invalid_answer: 0x03,
  too_early: 0x04,
  sniffer_byte: 0x05,
  sniffer_byte_error: 0x06,
};

const STATUS_BY_BYTE = new Map<number, HassebStatus>(
  Object.entries(HASSEB_STATUS).map(([name, byte]) => [byte, name as HassebStatus]),
);

/** The pause python-dali asks for between the two copies of a send-twice command (byte 6). */
export const SEND_TWICE_INTERVAL_MS = 10;
const FRAME_BITS = 16;

/** Sequence numbers run 1-255 and wrap to 1: the adapter reserves 0 for reports nobody asked for. */
export class SequenceCounter {
  #last: number;

  /** `last`: the number used before the first `next()` (0 = start at 1). */
  constructor(last = 0) {
    this.#last = checkRange(last, 0, 255, 'sequence number');
  }

  next(): number {
    this.#last = this.#last >= 255 ? 1 : this.#last + 1;
    return this.#last;
  }

  /** The number `next()` returned last (0 before the first). */
  get last(): number {
    return this.#last;
  }
}

function report(command: number, sequence: number, fields: readonly number[] = []): Buffer {
  const out = Buffer.alloc(HASSEB_REPORT_BYTES);
  out[0] = HASSEB_PREAMBLE;
  out[1] = command;
  out[2] = sequence;
  fields.forEach((value, index) => (out[3 + index] = value));
  return out;
}

function checkSequence(sequence: number): number {
  return checkRange(sequence, 1, 255, 'hasseb sequence number');
}

/** The OUT report that sends one DALI forward frame. */
export function encodeSendFrame(
  command: Pick<DaliCommand, 'frame' | 'isQuery' | 'sendTwice'>,
  sequence: number,
): Buffer {
  if (command.frame.length !== 2) {
    fail('bad_argument', `the hasseb sends 16-bit forward frames (2 bytes), got ${command.frame.length}`);
  }
  return report(HASSEB_COMMAND.SEND_DALI_FRAME, checkSequence(sequence), [
    FRAME_BITS,
    command.isQuery ? 1 : 0,
    0, // transmitter settling time: python-dali always sends 0 (the firmware's default)
    command.sendTwice ? SEND_TWICE_INTERVAL_MS : 0,
    command.frame[0] ?? 0,
    command.frame[1] ?? 0,
  ]);
}

export function encodeFirmwareVersionRequest(sequence: number): Buffer {
  return report(HASSEB_COMMAND.READ_FIRMWARE_VERSION, checkSequence(sequence));
}

/** Sniffing makes the adapter report every frame on the bus; a gateway wants it off (dali2mqtt does too). */
export function encodeSniffingRequest(enabled: boolean, sequence: number): Buffer {
  return report(HASSEB_COMMAND.CONFIGURE_DEVICE, checkSequence(sequence), [enabled ? 1 : 0]);
}

export interface FirmwareVersion {
  major: number;
  minor: number;
}

export type HassebInReport =
  | {
      kind: 'response';
      /** The sequence number of the OUT report this answers; 0 for sniffed bus traffic. */
      sequence: number;
      status: HassebStatus;
      /** An answer too early breaks the timing rules, so it counts as invalid, like a collision. */
      reply: BackwardResult;
    }
  | { kind: 'no_data' }
  | { kind: 'firmware'; sequence: number; version: FirmwareVersion };

function checkFrame(bytes: Uint8Array, direction: string): void {
  if (bytes.length === 0) fail('empty', 'no bytes');
  if (bytes.length !== HASSEB_REPORT_BYTES) {
    fail('bad_length', `a hasseb ${direction} report is ${HASSEB_REPORT_BYTES} bytes, got ${bytes.length}`);
  }
  if (bytes[0] !== HASSEB_PREAMBLE) {
    fail('bad_preamble', `hasseb report starts with ${hexByte(bytes[0] ?? 0)}, expected AA`);
  }
}

/** Parses one IN report (adapter → host); a malformed one is a DaliError saying what is wrong. */
export function parseInReport(bytes: Uint8Array): HassebInReport {
  checkFrame(bytes, 'IN');
  const type = bytes[1] ?? 0;
  const sequence = bytes[2] ?? 0;
  if (type === HASSEB_REPORT.NO_DATA) return { kind: 'no_data' };
  if (type === HASSEB_REPORT.FIRMWARE_VERSION) {
    return { kind: 'firmware', sequence, version: { major: bytes[3] ?? 0, minor: bytes[4] ?? 0 } };
  }
  if (type !== HASSEB_REPORT.TRANSMISSION) {
    fail('unknown_report', `unknown hasseb IN report type ${hexByte(type)} (expected 00, 02 or 07)`);
  }
  const statusByte = bytes[3] ?? 0;
  const status = STATUS_BY_BYTE.get(statusByte);
  if (status === undefined) {
    fail('bad_report', `unknown hasseb transmission status ${hexByte(statusByte)} (expected 01-06)`);
  }
  const count = bytes[4] ?? 0;
  const data = bytes[5] ?? 0;
  switch (status) {
    case 'ok':
    case 'sniffer_byte':
      if (count !== 1) {
        fail(
          'bad_report',
          `hasseb ${status} report with ${count} data bytes, expected 1 (sequence ${sequence})`,
        );
      }
      return { kind: 'response', sequence, status, reply: answer(data) };
    case 'no_answer':
      return { kind: 'response', sequence, status, reply: NO_ANSWER };
    case 'invalid_answer':
    case 'too_early':
    case 'sniffer_byte_error':
      return { kind: 'response', sequence, status, reply: INVALID_ANSWER };
  }
}

export type HassebOutReport =
  | {
      kind: 'send_frame';
      sequence: number;
      /** The 2-byte forward frame. */
      frame: Buffer;
      expectReply: boolean;
      settlingTime: number;
      /** 0: send once; otherwise the pause between the two copies, in ms. */
      sendTwiceIntervalMs: number;
    }
  | { kind: 'read_firmware_version'; sequence: number }
  | { kind: 'configure'; sequence: number; sniffing: boolean }
  | { kind: 'no_operation' };

/** Parses one OUT report (host → adapter): what the fake adapter receives, and what a capture shows. */
export function parseOutReport(bytes: Uint8Array): HassebOutReport {
  checkFrame(bytes, 'OUT');
  const command = bytes[1] ?? 0;
  if (command === HASSEB_COMMAND.NO_OPERATION) return { kind: 'no_operation' };
  const sequence = bytes[2] ?? 0;
  if (sequence === 0)
    fail('bad_report', 'hasseb OUT report with sequence number 0 (the host must use 1-255)');
  if (command === HASSEB_COMMAND.READ_FIRMWARE_VERSION) return { kind: 'read_firmware_version', sequence };
  if (command === HASSEB_COMMAND.CONFIGURE_DEVICE) {
    return { kind: 'configure', sequence, sniffing: (bytes[3] ?? 0) !== 0 };
  }
  if (command !== HASSEB_COMMAND.SEND_DALI_FRAME) {
    fail('unknown_report', `unknown hasseb OUT command ${hexByte(command)} (expected 00, 02, 05 or 07)`);
  }
  const bits = bytes[3] ?? 0;
  if (bits !== FRAME_BITS) {
    fail('bad_report', `hasseb send-frame report for a ${bits}-bit frame; only 16-bit frames are supported`);
  }
  const expect = bytes[4] ?? 0;
  if (expect > 1) fail('bad_report', `hasseb expect-reply flag is ${hexByte(expect)}, expected 00 or 01`);
  return {
    kind: 'send_frame',
    sequence,
    frame: Buffer.from([bytes[7] ?? 0, bytes[8] ?? 0]),
    expectReply: expect === 1,
    settlingTime: bytes[5] ?? 0,
    sendTwiceIntervalMs: bytes[6] ?? 0,
  };
}

/** The IN report answering a send-frame report (what the fake adapter sends). */
export function encodeResponseReport(sequence: number, reply: BackwardResult): Buffer {
  checkRange(sequence, 0, 255, 'hasseb sequence number');
  switch (reply.kind) {
    case 'answer':
      return report(HASSEB_REPORT.TRANSMISSION, sequence, [HASSEB_STATUS.ok, 1, reply.value]);
    case 'no_answer':
      return report(HASSEB_REPORT.TRANSMISSION, sequence, [HASSEB_STATUS.no_answer]);
    case 'invalid_answer':
      return report(HASSEB_REPORT.TRANSMISSION, sequence, [HASSEB_STATUS.invalid_answer]);
  }
}

export function encodeFirmwareVersionReport(sequence: number, version: FirmwareVersion): Buffer {
  return report(HASSEB_REPORT.FIRMWARE_VERSION, checkRange(sequence, 0, 255, 'hasseb sequence number'), [
    checkRange(version.major, 0, 255, 'firmware major version'),
    checkRange(version.minor, 0, 255, 'firmware minor version'),
  ]);
}

/** The report the adapter sends when polled with nothing to say. */
export function encodeNoDataReport(): Buffer {
  return report(HASSEB_REPORT.NO_DATA, 0);
}

/** The oldest firmware that speaks the protocol above (see the assumptions at the top). */
export const MIN_HASSEB_FIRMWARE: FirmwareVersion = Object.freeze({ major: 2, minor: 3 });

export function formatFirmwareVersion(version: FirmwareVersion): string {
  return `${version.major}.${version.minor}`;
}

/** Negative when `a` is older than `b`. Numeric per part, so 2.10 is newer than 2.3. */
export function compareFirmwareVersions(a: FirmwareVersion, b: FirmwareVersion): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

/** Throws a DaliError ('firmware_too_old') naming the version found and the one needed. */
export function checkFirmwareVersion(
  version: FirmwareVersion,
  minimum: FirmwareVersion = MIN_HASSEB_FIRMWARE,
): FirmwareVersion {
  if (compareFirmwareVersions(version, minimum) < 0) {
    fail(
      'firmware_too_old',
      `hasseb DALI Master firmware ${formatFirmwareVersion(version)} is too old: fieldbridge needs ` +
        `${formatFirmwareVersion(minimum)} or newer (the sequence-numbered report protocol). Update it: ` +
        'boot the adapter with jumper JP1 shorted, it appears as a USB drive, replace firmware.bin with ' +
        'the one from github.com/sde1000/python-dali/tree/master/dali/driver/hasseb_firmware',
    );
  }
  return version;
}
