import { describe, expect, it } from 'vitest';
import { MbusError } from '../src/drivers/mbus/codec/errors.js';
import { encodeFrame, parseHex } from '../src/drivers/mbus/codec/frames.js';
import { decodeTelegram, telegramJson } from '../src/drivers/mbus/codec/telegram.js';
import type { MbusRecord, MbusTelegram } from '../src/drivers/mbus/codec/types.js';

// The application-layer decoder on hand-made telegrams, continued from mbus-codec.test.ts: the VIF
// tables, the fixed data structure, application errors and the JSON form.

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

function refusal(bytes: Uint8Array): { code: string; message: string } {
  try {
    decodeTelegram(bytes);
  } catch (error) {
    if (error instanceof MbusError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('decoded without an error');
}

describe('M-Bus VIF and VIFE tables', () => {
  it('normalises the primary VIFs to SI units and keeps the raw value, scale and libmbus unit', () => {
    expect(only([0x04, 0x06, 0xe7, 0x91, 0x00, 0x00])).toMatchObject({
      unit: 'Wh',
      quantity: 'Energy',
      value: 37351000,
      raw: { value: 37351, unit: 'Energy (kWh)', scale: 3 },
    });
    expect(only([0x04, 0x14, 0x2c, 0xdb, 0x00, 0x00])).toMatchObject({
      unit: 'm^3',
      value: 561.08,
      raw: { unit: 'Volume (1e-2  m^3)', scale: -2 },
    });
    expect(only([0x02, 0x59, 0xb9, 0x27])).toMatchObject({
      unit: '°C',
      quantity: 'Flow temperature',
      value: 101.69,
    });
    expect(only([0x02, 0x61, 0xb1, 0x15])).toMatchObject({ unit: 'K', quantity: 'Temperature difference' });
    expect(only([0x02, 0x3b, 0x1f, 0x02])).toMatchObject({ unit: 'm^3/h', value: 0.543 });
  });

  it('converts durations to seconds', () => {
    expect(only([0x02, 0x22, 0x02, 0x00])).toMatchObject({ unit: 's', quantity: 'On time', value: 7200 });
    expect(only([0x02, 0x27, 0x02, 0x00])).toMatchObject({ quantity: 'Operating time', value: 172800 });
    expect(only([0x01, 0xfd, 0x26, 0x03])).toMatchObject({ quantity: 'Storage interval', value: 10800 });
  });

  it('reads the FD (main) extension table', () => {
    expect(only([0x02, 0xfd, 0x48, 0xe6, 0x08])).toMatchObject({
      unit: 'V',
      quantity: 'Voltage',
      value: 227.8,
      raw: { unit: '1e-1  V', scale: -1, vif: 'FD 48' },
    });
    expect(only([0x02, 0xfd, 0x59, 0x10, 0x00])).toMatchObject({
      unit: 'A',
      value: 0.016,
      raw: { unit: 'm A' },
    });
    expect(only([0x02, 0xfd, 0x17, 0x04, 0x00])).toMatchObject({
      unit: '',
      quantity: 'Error flags',
      value: 4,
    });
    expect(only([0x0c, 0xfd, 0x0e, 0x01, 0x00, 0x00, 0x00])).toMatchObject({ quantity: 'Firmware version' });
    expect(only([0x01, 0xfd, 0x71, 0x1e])).toMatchObject({
      unit: 'dBm',
      quantity: 'Reception level',
      value: -70,
    });
  });

  it('reads the FB (alternate) extension table', () => {
    expect(only([0x02, 0xfb, 0x00, 0x0c, 0x00])).toMatchObject({
      unit: 'Wh',
      value: 1.2e6,
      raw: { unit: 'Energy (0.1 MWh)', scale: 5 },
    });
    expect(only([0x0a, 0xfb, 0x1a, 0x31, 0x05])).toMatchObject({
      unit: '%',
      quantity: 'Relative humidity',
      value: 53.1,
    });
    expect(only([0x02, 0xfb, 0x5a, 0x64, 0x00])).toMatchObject({
      unit: '°F',
      quantity: 'Flow temperature',
      value: 10,
    });
    expect(only([0x01, 0xfb, 0x05, 0x01])).toMatchObject({
      unit: 'Reserved',
      raw: { unit: 'Reserved (0x05)' },
    });
  });

  it('reads plain-text units (VIF 7C, and FC with a scaling VIFE)', () => {
    expect(only([0x01, 0x7c, 0x03, 0x48, 0x52, 0x25, 0x2a])).toMatchObject({
      unit: '-',
      quantity: '%RH',
      value: 42,
      raw: { unit: '%RH' },
    });
    expect(only([0x02, 0xfc, 0x03, 0x48, 0x52, 0x25, 0x74, 0xd4, 0x11])).toMatchObject({
      quantity: '%RH',
      value: 45.64,
      raw: { unit: '1e-2  %RH', vif: 'FC 74' },
    });
  });

  it('applies a multiplicative correction VIFE (70–77, 7D) to a primary VIF', () => {
    expect(only([0x02, 0x83, 0x75, 0x10, 0x00])).toMatchObject({
      unit: 'Wh',
      value: 1.6,
      raw: { scale: -1 },
    });
    expect(only([0x02, 0x83, 0x7d, 0x10, 0x00])).toMatchObject({ value: 16000, raw: { scale: 3 } });
  });

  it('accepts 10 VIFEs and refuses 11', () => {
    const vifes = (count: number) => [...Array<number>(count - 1).fill(0xff), 0x7f];
    expect(only([0x01, 0x83, ...vifes(10), 0x05]).value).toBe(5);
    expect(refusal(frame([...HEADER, 0x01, 0x83, ...vifes(11), 0x05])).message).toContain(
      'more than 10 VIFEs',
    );
  });

  it('names VIFs libmbus cannot normalise by their code and keeps the raw value', () => {
    expect(only([0x0c, 0x7b, 0x02, 0x03, 0x00, 0x00])).toMatchObject({
      unit: '',
      quantity: 'Unknown (VIF=0x7B)',
      value: 302,
      raw: { unit: 'Unknown (VIF=0x7B)' },
    });
  });
});

describe('M-Bus fixed data structure (CI 73)', () => {
  it('reads both counters, normalised, with libmbus units in raw', () => {
    // id 12345678, access 10, status 0 (BCD, actual), counter 1 in l, counter 2 in kWh; medium water.
    const fixed = [
      0x78, 0x56, 0x34, 0x12, 0x0a, 0x00, 0xe9, 0x45, 0x01, 0x00, 0x00, 0x00, 0x35, 0x01, 0x00, 0x00,
    ];
    const result = decodeTelegram(frame(fixed, { ci: 0x73 }));
    expect(result.slave).toEqual({
      id: '12345678',
      manufacturer: '',
      version: 0,
      product_name: '',
      medium: 'Water',
      access_number: 10,
      status: 0,
      signature: 0,
    });
    expect(result.records).toMatchObject([
      {
        function: 'Actual value',
        unit: 'm^3',
        quantity: 'Volume',
        value: 0.001,
        raw: { value: 1, unit: 'l' },
      },
      {
        function: 'Actual value',
        unit: 'Wh',
        quantity: 'Energy',
        value: 135000,
        raw: { value: 135, unit: 'kWh' },
      },
    ]);
  });

  it('reads binary counters and stored values from the status byte', () => {
    const fixed = [
      0x78, 0x56, 0x34, 0x12, 0x0a, 0xc0, 0x29, 0x05, 0xff, 0xff, 0xff, 0xff, 0x10, 0x00, 0x00, 0x00,
    ];
    const { records } = decodeTelegram(frame(fixed, { ci: 0x73 }));
    expect(records.map((record) => [record.function, record.raw.value])).toEqual([
      ['Stored value', -1],
      ['Stored value', 16],
    ]);
  });

  it('refuses a fixed structure that is not 16 bytes', () => {
    expect(refusal(frame([0x78, 0x56, 0x34, 0x12], { ci: 0x73 })).code).toBe('bad_data');
  });
});

describe('M-Bus application errors and frames that are not slave data', () => {
  it('throws application_error with libmbus messages for CI 70', () => {
    const messages = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x42].map((code) => refusal(frame([code], { ci: 0x70 })));
    expect(messages.every((m) => m.code === 'application_error')).toBe(true);
    expect(messages.map((m) => m.message)).toEqual([
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
      'Unknown error (0x42)',
    ]);
    expect(refusal(parseHex('68 03 03 68 08 01 70 79 16'))).toEqual({
      code: 'application_error',
      message: 'Unspecified error',
    });
  });

  it('refuses master frames, ACKs, short frames and unknown CIs as unsupported, naming the field', () => {
    expect(refusal(frame([0x01, 0x7a, 0x05], { c: 0x53, ci: 0x51 }))).toEqual({
      code: 'unsupported',
      message: "C=53 is not a slave's answer with data (RSP_UD: 08, 18, 28, 38)",
    });
    expect(refusal(frame(HEADER, { ci: 0x7a })).message).toMatch(/^CI=7A is not slave data/);
    expect(refusal(parseHex('E5')).code).toBe('unsupported');
    expect(refusal(parseHex('10 5B 01 5C 16')).message).toBe('short frame C=5B A=01 carries no slave data');
    expect(decodeTelegram(frame(HEADER, { c: 0x28 })).c).toBe(0x28); // ACD set: still data
  });

  it('passes link-layer errors through with their codes', () => {
    expect(refusal(parseHex('68 03 03 68 08 01 72 7C 16')).code).toBe('bad_checksum');
    expect(refusal(new Uint8Array(0)).code).toBe('empty');
  });
});

describe('telegramJson', () => {
  it('has the CLI keys in order, records with their raw part', () => {
    const json = telegramJson(telegram([0x04, 0x06, 0xe7, 0x91, 0x00, 0x00]));
    expect(Object.keys(json)).toEqual(['frame', 'c', 'a', 'ci', 'slave', 'records']);
    expect(Object.keys(json.records[0] ?? {})).toEqual([
      'function',
      'storage_number',
      'tariff',
      'device',
      'unit',
      'quantity',
      'value',
      'raw',
    ]);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});
