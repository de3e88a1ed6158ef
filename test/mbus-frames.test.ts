import { describe, expect, it } from 'vitest';
import { MbusError } from '../src/drivers/mbus/codec/errors.js';
import {
  encodeFrame,
  FrameAssembler,
  formatHex,
  parseFrame,
  parseHex,
} from '../src/drivers/mbus/codec/frames.js';
import {
  applicationReset,
  formatSecondaryAddress,
  matchesSecondary,
  parseSecondaryAddress,
  reqUd2,
  secondaryAddressFromBytes,
  selectSecondary,
  setPrimaryAddress,
  sndNke,
} from '../src/drivers/mbus/codec/master.js';
import { describeWithVectors, readVector } from './helpers/vectors.js';

function errorCode(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof MbusError) return error.code;
    throw error;
  }
  return 'no error';
}

describe('M-Bus link layer', () => {
  it('parses the four frame formats and encodes them back byte for byte', () => {
    for (const hex of [
      'E5',
      '10 5B 01 5C 16',
      '68 03 03 68 08 0B 72 85 16',
      '68 06 06 68 53 01 51 01 7A 05 25 16',
    ]) {
      const frame = parseFrame(parseHex(hex));
      expect(formatHex(encodeFrame(frame))).toBe(hex);
    }
    expect(parseFrame(parseHex('10 08 0B 13 16'))).toEqual({ kind: 'short', c: 0x08, a: 0x0b });
  });

  it('refuses bad frames with a typed error naming what is wrong', () => {
    expect(errorCode(() => parseFrame(Buffer.alloc(0)))).toBe('empty');
    expect(errorCode(() => parseFrame(parseHex('10 5B 01 5D 16')))).toBe('bad_checksum');
    expect(errorCode(() => parseFrame(parseHex('10 5B 01 5C 17')))).toBe('bad_stop');
    expect(errorCode(() => parseFrame(parseHex('10 5B 01')))).toBe('truncated');
    expect(errorCode(() => parseFrame(parseHex('68 03 04 68 08 0B 72 85 16')))).toBe('bad_length');
    expect(errorCode(() => parseFrame(parseHex('68 00 00 68 08 16')))).toBe('bad_length');
    expect(errorCode(() => parseFrame(parseHex('E5 E5')))).toBe('trailing_data');
    expect(errorCode(() => parseFrame(parseHex('42')))).toBe('bad_start');
    expect(() => parseFrame(parseHex('10 5B 01 5D 16'))).toThrow('checksum is 5D, expected 5C');
    expect(errorCode(() => parseHex('10 5G'))).toBe('bad_argument');
  });

  it('reassembles frames split across reads and skips noise before them', () => {
    const assembler = new FrameAssembler();
    const stream = parseHex('00 E5 68 03 03 68 08 0B 72 85 16 10 5B 01 5C 16');
    assembler.push(stream.subarray(0, 4));
    const noise = assembler.next();
    expect(noise).toBeInstanceOf(MbusError);
    expect(formatHex(assembler.next() as Buffer)).toBe('E5');
    expect(assembler.next()).toBeUndefined();
    assembler.push(stream.subarray(4, 12));
    expect(formatHex(assembler.next() as Buffer)).toBe('68 03 03 68 08 0B 72 85 16');
    expect(assembler.next()).toBeUndefined();
    assembler.push(stream.subarray(12));
    expect(formatHex(assembler.next() as Buffer)).toBe('10 5B 01 5C 16');
    expect(assembler.pending).toBe(0);
  });

  it('reads and writes secondary addresses with wildcards', () => {
    const address = parseSecondaryAddress('068558172D2C0804');
    expect(formatSecondaryAddress(address)).toBe('068558172D2C0804');
    expect(secondaryAddressFromBytes(parseHex('17 58 85 06 2D 2C 08 04'))).toEqual(address);
    expect(matchesSecondary(address, parseSecondaryAddress('0685FFFFFFFFFFFF'))).toBe(true);
    expect(matchesSecondary(address, parseSecondaryAddress('1FFFFFFFFFFFFFFF'))).toBe(false);
    expect(matchesSecondary(address, parseSecondaryAddress('FFFFFFFF2D2CFF05'))).toBe(false);
    expect(() => parseSecondaryAddress('0685581')).toThrow('must be 16 hex digits');
    expect(errorCode(() => setPrimaryAddress(1, 251))).toBe('bad_argument');
  });
});

describeWithVectors('M-Bus master frames (mbus-master vectors)', 'mbus-master', (dir) => {
  const vectors = JSON.parse(readVector(dir, 'master_frames.json')) as {
    frames: { desc: string; hex: string }[];
  };
  const expected = (fragment: string) => {
    const found = vectors.frames.find((frame) => frame.desc.includes(fragment));
    if (!found) throw new Error(`no vector "${fragment}"`);
    return found.hex;
  };

  it('builds the same bytes as libmbus', () => {
    expect(formatHex(sndNke(1))).toBe(expected('SND_NKE primary 1'));
    expect(formatHex(sndNke(0xfe))).toBe(expected('SND_NKE broadcast'));
    expect(formatHex(sndNke(0xfd))).toBe(expected('SND_NKE network layer'));
    expect(formatHex(reqUd2(1, true))).toBe(expected('C=0x7B (FCV=1,FCB=1'));
    expect(formatHex(reqUd2(1, false))).toBe(expected('C=0x5B'));
    expect(formatHex(reqUd2(0xfd, true))).toBe(expected('REQ_UD2 to selected secondary'));
    expect(formatHex(selectSecondary('068558172D2C0804'))).toBe(expected('Kamstrup MC601'));
    expect(formatHex(selectSecondary('FFFFFFFFFFFFFFFF'))).toBe(expected('wildcard'));
    expect(formatHex(setPrimaryAddress(1, 5))).toBe(expected('set primary address'));
    expect(formatHex(applicationReset(1))).toBe(expected('application reset'));
  });

  it('parses every vector as a valid frame', () => {
    for (const frame of vectors.frames)
      expect(() => parseFrame(parseHex(frame.hex)), frame.desc).not.toThrow();
  });
});
