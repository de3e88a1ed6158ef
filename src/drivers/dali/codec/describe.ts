import { describeBackward } from './backward.js';
import { fail, formatHex, hexByte } from './errors.js';
import {
  decodeForwardFrame,
  type DecodedForwardFrame,
  describeForwardFrame,
  FORWARD_FRAME_BYTES,
} from './frames.js';
import {
  formatFirmwareVersion,
  HASSEB_COMMAND,
  HASSEB_REPORT,
  HASSEB_REPORT_BYTES,
  type HassebInReport,
  parseInReport,
  parseOutReport,
} from './hasseb.js';

// Bytes from a log or a USB capture, explained: a 2-byte DALI forward frame or a 10-byte hasseb report
// in either direction. `fieldbridge decode dali` prints this as JSON; the bus runtime can log it.

export type DaliDecoded =
  | { type: 'forward_frame'; frame: DecodedForwardFrame; description: string }
  | {
      type: 'hasseb_out';
      hex: string;
      report:
        | {
            kind: 'send_frame';
            sequence: number;
            expectReply: boolean;
            settlingTime: number;
            sendTwiceIntervalMs: number;
            frame: DecodedForwardFrame;
          }
        | { kind: 'read_firmware_version'; sequence: number }
        | { kind: 'configure'; sequence: number; sniffing: boolean }
        | { kind: 'no_operation' };
    }
  | { type: 'hasseb_in'; hex: string; report: HassebInReport; description: string };

/**
 * Which way a 10-byte report went. OUT and IN share the preamble and codes, but not byte 3: a send-frame
 * OUT report has the frame length there (10), a transmission IN report its status (01-06); a firmware
 * request is all zero after the sequence number, the answer is not.
 */
function direction(bytes: Uint8Array): 'out' | 'in' {
  const code = bytes[1] ?? 0;
  const third = bytes[3] ?? 0;
  if (code === HASSEB_REPORT.NO_DATA) return 'in';
  if (code === HASSEB_COMMAND.CONFIGURE_DEVICE) return 'out';
  if (code === HASSEB_COMMAND.READ_FIRMWARE_VERSION)
    return bytes.subarray(3).every((b) => b === 0) ? 'out' : 'in';
  if (code === HASSEB_COMMAND.SEND_DALI_FRAME) {
    if (third === 0x10) return 'out';
    if (third >= 0x01 && third <= 0x06) return 'in';
    return fail(
      'bad_report',
      `hasseb report AA 07 with byte 3 = ${hexByte(third)}: neither a frame length (10) nor a status (01-06)`,
    );
  }
  return fail('unknown_report', `unknown hasseb report code ${hexByte(code)} (expected 00, 02, 05 or 07)`);
}

function describeIn(report: HassebInReport): string {
  switch (report.kind) {
    case 'no_data':
      return 'no data (idle poll, ignored)';
    case 'firmware':
      return `firmware version ${formatFirmwareVersion(report.version)} (sequence ${report.sequence})`;
    case 'response':
      return `${report.status}: ${describeBackward(report.reply)} (sequence ${report.sequence})`;
  }
}

export function decodeDaliBytes(bytes: Uint8Array): DaliDecoded {
  if (bytes.length === 0) fail('empty', 'no bytes');
  if (bytes.length === FORWARD_FRAME_BYTES) {
    const frame = decodeForwardFrame(bytes);
    return { type: 'forward_frame', frame, description: describeForwardFrame(frame) };
  }
  if (bytes.length !== HASSEB_REPORT_BYTES) {
    fail(
      'bad_length',
      `expected a DALI forward frame (2 bytes) or a hasseb report (10 bytes), got ${bytes.length} bytes`,
    );
  }
  const hex = formatHex(bytes);
  if (bytes[0] !== 0xaa) parseInReport(bytes); // throws the preamble error
  if (direction(bytes) === 'in') {
    const report = parseInReport(bytes);
    return { type: 'hasseb_in', hex, report, description: describeIn(report) };
  }
  const out = parseOutReport(bytes);
  if (out.kind !== 'send_frame') return { type: 'hasseb_out', hex, report: out };
  const { frame, ...rest } = out;
  return { type: 'hasseb_out', hex, report: { ...rest, frame: decodeForwardFrame(frame) } };
}
