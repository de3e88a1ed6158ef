import { fail, hexByte } from './errors.js';

// Cuts the data records of a variable data structure (EN 13757-3 §6.3) into their parts, checking every
// length against the end of the data so a garbled or hostile frame ends in an MbusError, never in a
// read past the end:
//
//   DIF [DIFE…]  VIF [text] [VIFE…]  [LVAR] data
//
// DIF 2F is an idle filler; DIF 0F / 1F end the records: what follows is manufacturer data (1F: and
// the meter has another telegram).

/** libmbus refuses records with more DIFEs or VIFEs than this, and so do we. */
export const MAX_EXTENSIONS = 10;

export const DIF = {
  EXTENSION: 0x80,
  STORAGE_LSB: 0x40,
  FUNCTION: 0x30,
  DATA_FIELD: 0x0f,
  MANUFACTURER_SPECIFIC: 0x0f,
  MORE_RECORDS_FOLLOW: 0x1f,
  IDLE_FILLER: 0x2f,
  VARIABLE_LENGTH: 0x0d,
} as const;

export const VIF_EXTENSION = 0x80;
/** VIF 7C / FC: the unit is an ASCII text that follows the VIF (its length first). */
export const PLAIN_TEXT_VIF = 0x7c;

/** Bytes of data for each DIF data field code; variable length (D) is read from the LVAR byte. */
const DATA_LENGTHS = [0, 1, 2, 3, 4, 4, 6, 8, 0, 1, 2, 3, 4, 0, 6, 8] as const;

export interface RecordBlock {
  kind: 'data' | 'manufacturer' | 'more_records_follow';
  dif: number;
  difes: number[];
  /** undefined for manufacturer data. */
  vif: number | undefined;
  vifes: number[];
  /** The plain-text unit of VIF 7C/FC, read in reading order (the meter sends it last character first). */
  plainTextUnit: string;
  /** The LVAR byte of a variable-length record. */
  lvar: number | undefined;
  data: Uint8Array;
}

/** The data bytes an LVAR byte announces (EN 13757-3:2018 table 5); undefined for reserved codes. */
export function variableLength(lvar: number): number | undefined {
  if (lvar <= 0xbf) return lvar; // text
  if (lvar <= 0xcf) return lvar - 0xc0; // positive BCD, (LVAR − C0) × 2 digits
  if (lvar <= 0xdf) return lvar - 0xd0; // negative BCD
  if (lvar <= 0xef) return lvar - 0xe0; // binary
  if (lvar <= 0xf4) return 4 * (lvar - 0xec); // binary, 16 to 32 bytes
  if (lvar === 0xf5) return 48;
  if (lvar === 0xf6) return 64;
  return undefined;
}

/** Plain text as libmbus shows it: reversed into reading order, control characters as spaces. */
export function readableText(bytes: Uint8Array): string {
  let text = '';
  for (let i = bytes.length - 1; i >= 0; i--) {
    const code = bytes[i] ?? 0;
    text += code < 0x20 || code === 0x7f ? ' ' : String.fromCharCode(code);
  }
  return text;
}

class RecordReader {
  readonly #data: Uint8Array;
  readonly #frameOffset: number;
  #position: number;
  #recordStart = 0;
  #recordIndex = -1;

  constructor(data: Uint8Array, start: number, frameOffset: number) {
    this.#data = data;
    this.#position = start;
    this.#frameOffset = frameOffset;
  }

  get done(): boolean {
    return this.#position >= this.#data.length;
  }

  #fail(problem: string): never {
    const dif = hexByte(this.#data[this.#recordStart] ?? 0);
    return fail(
      'bad_data',
      `record ${this.#recordIndex} (DIF ${dif} at frame byte ${this.#recordStart + this.#frameOffset}): ${problem}`,
    );
  }

  #byte(missing: string): number {
    const value = this.#data[this.#position];
    if (value === undefined) this.#fail(`the data ends before its ${missing}`);
    this.#position += 1;
    return value;
  }

  /** Bytes that each announce another with their extension bit, at most MAX_EXTENSIONS of them. */
  #extensions(announcedBy: number, name: string): number[] {
    const extensions: number[] = [];
    let more = (announcedBy & 0x80) !== 0;
    while (more) {
      if (extensions.length === MAX_EXTENSIONS) this.#fail(`more than ${MAX_EXTENSIONS} ${name}s`);
      const extension = this.#byte(name);
      extensions.push(extension);
      more = (extension & 0x80) !== 0;
    }
    return extensions;
  }

  #take(length: number, what: string): Uint8Array {
    const end = this.#position + length;
    if (end > this.#data.length) {
      this.#fail(
        `${what} of ${length} byte(s) runs ${end - this.#data.length} byte(s) past the end of the data`,
      );
    }
    const bytes = this.#data.subarray(this.#position, end);
    this.#position = end;
    return bytes;
  }

  /** The next record, or undefined when only fillers were left. */
  next(): RecordBlock | undefined {
    while (this.#data[this.#position] === DIF.IDLE_FILLER) this.#position += 1;
    if (this.done) return undefined;
    this.#recordStart = this.#position;
    this.#recordIndex += 1;
    const dif = this.#byte('DIF');
    if (dif === DIF.MANUFACTURER_SPECIFIC || dif === DIF.MORE_RECORDS_FOLLOW) {
      const data = this.#take(this.#data.length - this.#position, 'manufacturer data');
      return {
        kind: dif === DIF.MORE_RECORDS_FOLLOW ? 'more_records_follow' : 'manufacturer',
        dif,
        difes: [],
        vif: undefined,
        vifes: [],
        plainTextUnit: '',
        lvar: undefined,
        data,
      };
    }
    const difes = this.#extensions(dif, 'DIFE');
    const vif = this.#byte('VIF');
    let plainTextUnit = '';
    if ((vif & 0x7f) === PLAIN_TEXT_VIF) {
      const length = this.#byte('plain-text unit length');
      plainTextUnit = readableText(this.#take(length, 'plain-text unit'));
    }
    const vifes = this.#extensions(vif, 'VIFE');
    let length: number = DATA_LENGTHS[dif & DIF.DATA_FIELD] ?? 0;
    let lvar: number | undefined;
    if ((dif & DIF.DATA_FIELD) === DIF.VARIABLE_LENGTH) {
      lvar = this.#byte('LVAR (variable length byte)');
      const announced = variableLength(lvar);
      if (announced === undefined)
        this.#fail(`LVAR ${hexByte(lvar)} is reserved, the record length is unknown`);
      length = announced;
    }
    const data = this.#take(length, 'data');
    return { kind: 'data', dif, difes, vif, vifes, plainTextUnit, lvar, data };
  }
}

/**
 * The records of a variable data structure's data (`data` from `start`, after the header).
 * `frameOffset` is where data[0] sits in the frame, so errors point at the frame's bytes.
 */
export function readRecordBlocks(data: Uint8Array, start: number, frameOffset: number): RecordBlock[] {
  const reader = new RecordReader(data, start, frameOffset);
  const blocks: RecordBlock[] = [];
  for (;;) {
    const block = reader.next();
    if (block === undefined) return blocks;
    blocks.push(block);
  }
}
