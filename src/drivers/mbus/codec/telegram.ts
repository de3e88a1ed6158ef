import { fail, hexByte, MbusError } from './errors.js';
import { decodeFixedData } from './fixed.js';
import { parseFrame } from './frames.js';
import { decodeVariableHeader, VARIABLE_HEADER_BYTES } from './header.js';
import { CI_FIELD } from './master.js';
import { normaliseRecord } from './normalise.js';
import { readRecordBlocks } from './records.js';
import type { MbusRecord, MbusSlaveInfo, MbusTelegram } from './types.js';

// The application layer (EN 13757-3) of a slave's answer: a whole frame in, the slave's header and its
// records out, normalised the way libmbus's `mbus_parse_hex -n` does. Pure: no I/O, and nothing but an
// MbusError ever leaves decodeTelegram.

/** C fields of a slave's user data: RSP_UD with any of ACD (0x20) and DFC (0x10). */
const RSP_UD_FAMILY = new Set([0x08, 0x18, 0x28, 0x38]);

/** Where the data starts in a long frame: 68 L L 68 C A CI. */
const DATA_OFFSET = 7;

// The codes of a general application error (EN 13757-3 §6.6), in libmbus's words.
const APPLICATION_ERRORS = [
  'Unspecified error',
  'Unimplemented CI-Field',
  'Buffer too long, truncated',
  'Too many records',
  'Premature end of record',
  'More than 10 DIFE´s',
  'More than 10 VIFE´s',
  'Reserved',
  'Application busy',
  'Too many readouts',
];

/** The message for an application error code; no code (an empty CI 70 frame) is "Unspecified error". */
export function applicationErrorMessage(code: number): string {
  return APPLICATION_ERRORS[code] ?? `Unknown error (0x${hexByte(code)})`;
}

interface Body {
  slave: MbusSlaveInfo;
  records: MbusRecord[];
  moreRecordsFollow: boolean;
}

function variableData(data: Uint8Array): Body {
  const slave = decodeVariableHeader(data);
  const blocks = readRecordBlocks(data, VARIABLE_HEADER_BYTES, DATA_OFFSET);
  return {
    slave,
    records: blocks.map(normaliseRecord),
    moreRecordsFollow: blocks.some((block) => block.kind === 'more_records_follow'),
  };
}

/**
 * Decodes one whole frame (start byte to stop byte) of a slave's answer. Throws only MbusError: the
 * link layer's codes for a broken frame, 'unsupported' for frames that are not slave data,
 * 'application_error' for CI 70 (libmbus's message, e.g. "Application busy"), 'bad_data' for records
 * that cannot be read.
 */
export function decodeTelegram(bytes: Uint8Array): MbusTelegram {
  const frame = parseFrame(bytes);
  if (frame.kind === 'ack') fail('unsupported', 'an ACK (E5) carries no slave data');
  if (frame.kind === 'short') {
    fail('unsupported', `short frame C=${hexByte(frame.c)} A=${hexByte(frame.a)} carries no slave data`);
  }
  const data = frame.kind === 'long' ? frame.data : new Uint8Array(0);
  if (!RSP_UD_FAMILY.has(frame.c)) {
    fail('unsupported', `C=${hexByte(frame.c)} is not a slave's answer with data (RSP_UD: 08, 18, 28, 38)`);
  }
  let body: Body;
  switch (frame.ci) {
    case CI_FIELD.APPLICATION_ERROR:
      throw new MbusError('application_error', applicationErrorMessage(data[0] ?? 0));
    case CI_FIELD.VARIABLE_DATA:
      body = variableData(data);
      break;
    case CI_FIELD.FIXED_DATA:
      body = { ...decodeFixedData(data), moreRecordsFollow: false };
      break;
    default:
      fail(
        'unsupported',
        `CI=${hexByte(frame.ci)} is not slave data this decoder reads (70 application error, 72 variable, 73 fixed)`,
      );
  }
  return { frame: frame.kind, c: frame.c, a: frame.a, ci: frame.ci, ...body };
}

/** The telegram as the CLI prints it: the frame fields, the slave and the records (libmbus's names). */
export function telegramJson(telegram: MbusTelegram): Omit<MbusTelegram, 'moreRecordsFollow'> {
  const { frame, c, a, ci, slave, records } = telegram;
  return { frame, c, a, ci, slave, records };
}
