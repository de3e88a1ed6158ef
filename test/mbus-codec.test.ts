import { describe, expect, it } from 'vitest';
import { MbusError } from '../src/drivers/mbus/codec/errors.js';
import { encodeFrame } from '../src/drivers/mbus/codec/frames.js';
import { decodeTelegram } from '../src/drivers/mbus/codec/telegram.js';
import type { MbusRecord, MbusTelegram } from '../src/drivers/mbus/codec/types.js';

// The application-layer decoder on hand-made telegrams: one feature per test, so a failure names what
// broke. libmbus's real frames are in mbus-codec-conformance.test.ts.

/** id 12345678, KAM, version 8, heat (outlet), access number 42, status 0, signature 0. */
const HEADER = [0x78, 0x56, 0x34, 0x12, 0x2d, 0x2c, 0x08, 0x04, 0x2a, 0x00, 0x00, 0x00];

function frame(data: number[], fields: { c?: number; ci?: number } = {}): Buffer {
  return encodeFrame({
    kind: 'long',
    c: fields.c ?? 0x08,
    a: 5,
    ci: fields.ci ?? 0x72,
    data: Buffer.from(data),
  });
}

function telegram(recordBytes: number[]): MbusTelegram {
  return decodeTelegram(frame([...HEADER, ...recordBytes]));
}

function only(recordBytes: number[]): MbusRecord {
  const { records } = telegram(recordBytes);
  const [record] = records;
  if (records.length !== 1 || record === undefined)
    throw new Error(`expected 1 record, got ${records.length}`);
  return record;
}

function value(recordBytes: number[]): number | string {
  return only(recordBytes).value;
}

function refusal(bytes: Uint8Array): { code: string; message: string } {
  try {
    decodeTelegram(bytes);
  } catch (error) {
    if (error instanceof MbusError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('decoded without an error');
}

describe('M-Bus variable data header (CI 72)', () => {
  it('reads id, manufacturer, version, medium, access number, status, signature and product name', () => {
    const result = decodeTelegram(
      frame([0x17, 0x58, 0x85, 0x06, 0x2d, 0x2c, 0x08, 0x04, 0x04, 0x10, 0x34, 0x12]),
    );
    expect(result).toEqual({
      frame: 'long',
      c: 0x08,
      a: 5,
      ci: 0x72,
      slave: {
        id: '06855817',
        manufacturer: 'KAM',
        version: 8,
        product_name: 'Kamstrup Multical 601',
        medium: 'Heat: Outlet',
        access_number: 4,
        status: 0x10,
        signature: 0x1234,
      },
      records: [],
      moreRecordsFollow: false,
    });
  });

  it('names media libmbus does not know by their code', () => {
    const data = [...HEADER];
    data[7] = 0x45;
    expect(decodeTelegram(frame(data)).slave.medium).toBe('Unknown medium (0x45)');
    data[7] = 0x2a;
    expect(decodeTelegram(frame(data)).slave.medium).toBe('Reserved');
  });

  it('refuses a header shorter than 12 bytes', () => {
    expect(refusal(frame([0x78, 0x56, 0x34, 0x12, 0x24]))).toEqual({
      code: 'bad_data',
      message: expect.stringContaining('needs 12 bytes') as unknown as string,
    });
  });
});

describe('M-Bus data types', () => {
  it('reads signed integers of 8, 16, 24, 32, 48 and 64 bits (VIF 03: Wh, no scaling)', () => {
    expect(value([0x01, 0x03, 0xff])).toBe(-1);
    expect(value([0x02, 0x03, 0x34, 0x12])).toBe(0x1234);
    expect(value([0x03, 0x03, 0x00, 0x00, 0x80])).toBe(-0x800000);
    expect(value([0x04, 0x03, 0x78, 0x56, 0x34, 0x12])).toBe(0x12345678);
    expect(value([0x06, 0x03, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff])).toBe(-2);
    expect(value([0x06, 0x03, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01])).toBe(2 ** 40 + 1);
    expect(value([0x07, 0x03, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00])).toBe(2 ** 52 + 1);
    expect(value([0x07, 0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])).toBe(-1);
  });

  it('reads BCD of 2 to 12 digits, negative when the top nibble is F', () => {
    expect(value([0x09, 0x03, 0x42])).toBe(42);
    expect(value([0x0a, 0x03, 0x34, 0x12])).toBe(1234);
    expect(value([0x0b, 0x03, 0x56, 0x34, 0x12])).toBe(123456);
    expect(value([0x0c, 0x03, 0x78, 0x56, 0x34, 0x12])).toBe(12345678);
    expect(value([0x0e, 0x03, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12])).toBe(123456789012);
    expect(only([0x0a, 0x03, 0x18, 0xf0])).toMatchObject({ value: -18, raw: { value: -18 } });
  });

  it("keeps BCD with non-decimal digits (error markers) as the digits in raw, libmbus's number in value", () => {
    // libmbus counts a high nibble above 9 as 0 and a low one with its value: DB → 0·10 + 11.
    expect(only([0x0a, 0x03, 0xdb, 0x00])).toMatchObject({ value: 11, raw: { value: '00DB' } });
  });

  it('reads a 32-bit real', () => {
    expect(value([0x05, 0x03, 0x00, 0x00, 0x48, 0x41])).toBe(12.5);
  });

  it('reads "no data" as an empty string, and "selection for readout" the same', () => {
    expect(only([0x00, 0x03])).toMatchObject({ value: '', unit: 'Wh', quantity: 'Energy' });
    expect(value([0x08, 0x03])).toBe('');
  });

  it('reads variable-length text (sent last character first), BCD and binary', () => {
    expect(value([0x0d, 0x78, 0x05, 0x4f, 0x4c, 0x4c, 0x45, 0x48])).toBe('HELLO');
    expect(value([0x0d, 0x03, 0xc2, 0x34, 0x12])).toBe(1234);
    expect(value([0x0d, 0x03, 0xd2, 0x34, 0x12])).toBe(-1234);
    expect(value([0x0d, 0x03, 0xe3, 0x01, 0x02, 0x03])).toBe('03 02 01');
    const sixteen = Array.from({ length: 16 }, (_, i) => i);
    expect(String(value([0x0d, 0x03, 0xf0, ...sixteen])).split(' ')).toHaveLength(16);
  });

  it('refuses a reserved LVAR, whose length cannot be known', () => {
    expect(refusal(frame([...HEADER, 0x0d, 0x03, 0xfb, 0x00]))).toMatchObject({
      code: 'bad_data',
      message: expect.stringContaining('LVAR FB is reserved') as unknown as string,
    });
  });

  it('reads dates of type G and date-times of type F and I', () => {
    expect(value([0x02, 0x6c, 0x1f, 0x3c])).toBe('2024-12-31'); // year: 000 (day byte) 0011 (month byte)
    expect(value([0x04, 0x6d, 0x1a, 0x2f, 0x65, 0x11])).toBe('2011-01-05T15:26:00');
    expect(value([0x06, 0x6d, 0x2a, 0x1a, 0x0f, 0x65, 0x11, 0x00])).toBe('2011-01-05T15:26:42');
    expect(value([0x04, 0xfd, 0x30, 0x00, 0x0c, 0x01, 0x01])).toBe('2000-01-01T12:00:00'); // start of tariff
  });

  it('reads years 81–99 as 19xx and prints an invalid time as libmbus does', () => {
    expect(value([0x04, 0x6d, 0x10, 0x09, 0x05, 0xc5])).toBe('1996-05-05T09:16:00');
    expect(value([0x04, 0x6d, 0x80, 0x09, 0x05, 0x15])).toBe('1900-01-00T00:00:00');
  });
});

describe('M-Bus DIF and DIFEs', () => {
  it('reads the function field', () => {
    const functions = [0x04, 0x14, 0x24, 0x34].map((dif) => only([dif, 0x03, 0, 0, 0, 0]).function);
    expect(functions).toEqual([
      'Instantaneous value',
      'Maximum value',
      'Minimum value',
      'Value during error state',
    ]);
  });

  it('reads storage number, tariff and subunit from DIF bit 6 and the DIFEs', () => {
    expect(only([0x44, 0x03, 0, 0, 0, 0])).toMatchObject({ storage_number: 1, tariff: 0, device: 0 });
    // DIFE 1: storage 0xF, tariff 1, subunit 1; DIFE 2: storage 0xF, tariff 2, subunit 0.
    expect(only([0xc4, 0xdf, 0x2f, 0x03, 0, 0, 0, 0])).toMatchObject({
      storage_number: 1 + 0xf * 2 + 0xf * 32,
      tariff: 1 + 2 * 4,
      device: 1,
      raw: { dif: 'C4 DF 2F', vif: '03' },
    });
  });

  it('accepts 10 DIFEs and refuses 11, as libmbus does', () => {
    const difes = (count: number) => [...Array<number>(count - 1).fill(0x80), 0x01];
    const ten = only([0x84, ...difes(10), 0x03, 0, 0, 0, 0]);
    expect(ten.storage_number).toBe(2 ** 37); // the 10th DIFE's storage bits start at bit 37
    expect(refusal(frame([...HEADER, 0x84, ...difes(11), 0x03, 0, 0, 0, 0])).message).toMatch(
      /record 0 \(DIF 84 at frame byte 19\): more than 10 DIFEs/,
    );
  });

  it('skips idle fillers (2F) and reads manufacturer data after DIF 0F to the end', () => {
    const result = telegram([0x2f, 0x2f, 0x01, 0x03, 0x07, 0x2f, 0x0f, 0x01, 0x2f, 0xab]);
    expect(result.records.map((record) => record.value)).toEqual([7, '01 2F AB']);
    expect(result.records[1]).toMatchObject({ function: 'Manufacturer specific', unit: '', quantity: '' });
    expect(result.moreRecordsFollow).toBe(false);
  });

  it('reports DIF 1F: more records follow in the next telegram', () => {
    const result = telegram([0x01, 0x03, 0x07, 0x1f]);
    expect(result.records[1]).toMatchObject({ function: 'More records follow', value: '' });
    expect(result.moreRecordsFollow).toBe(true);
  });

  it('refuses records cut short, saying where', () => {
    expect(refusal(frame([...HEADER, 0x84])).message).toBe(
      'record 0 (DIF 84 at frame byte 19): the data ends before its DIFE',
    );
    expect(refusal(frame([...HEADER, 0x04])).message).toContain('the data ends before its VIF');
    expect(refusal(frame([...HEADER, 0x04, 0x83])).message).toContain('the data ends before its VIFE');
    expect(refusal(frame([...HEADER, 0x04, 0x03, 0x01, 0x02])).message).toContain(
      'data of 4 byte(s) runs 2 byte(s) past the end of the data',
    );
    expect(refusal(frame([...HEADER, 0x0d, 0x03])).message).toContain('ends before its LVAR');
  });
});
