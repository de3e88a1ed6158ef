import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { MbusError } from '../src/drivers/mbus/codec/errors.js';
import { parseHex } from '../src/drivers/mbus/codec/frames.js';
import { decodeTelegram } from '../src/drivers/mbus/codec/telegram.js';
import type { MbusRecord, MbusTelegram } from '../src/drivers/mbus/codec/types.js';
import { describeWithVectors, vectorFiles } from './helpers/vectors.js';

// libmbus's own test frames, decoded and compared with what libmbus printed for them: the .norm.xml
// (`mbus_parse_hex -n`) for the normalised records, the .xml for the raw values and unit strings. The
// files declare ISO-8859-1, but libmbus writes its UTF-8 source strings as they are ("°C" is C2 B0 in
// every file here), so they are read as UTF-8, and as latin1 only if they are not valid UTF-8.
//
// Where libmbus's output is not a reading, the comparison says so:
// - libmbus -n prints the fixed data structure (CI 73) unnormalised; its two counters are compared
//   with our raw value and unit (the normalised side is checked in mbus-codec.test.ts).
// - a record libmbus -n cannot normalise (VIF 7B, 7D) comes out empty; it is compared with the .xml.
// - libmbus appends "Z" to normalised date-times although meters send local time; we do not.

interface XmlDocument {
  slave: Record<string, string>;
  records: Record<string, string>[];
}

function decodeEntities(text: string): string {
  return text.replace(
    /&(amp|lt|gt|quot);/g,
    (_, name: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"' })[name] ?? '',
  );
}

function fields(block: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const match of block.matchAll(/<(\w+)>([\s\S]*?)<\/\1>/g)) {
    result[match[1] ?? ''] = decodeEntities(match[2] ?? '');
  }
  return result;
}

function readXmlText(path: string): string {
  const bytes = readFileSync(path);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

function readXml(path: string): XmlDocument {
  const text = readXmlText(path);
  const slave = /<SlaveInformation>([\s\S]*?)<\/SlaveInformation>/.exec(text)?.[1] ?? '';
  const records = [...text.matchAll(/<DataRecord id="\d+"[^>]*>([\s\S]*?)<\/DataRecord>/g)].map((match) =>
    fields(match[1] ?? ''),
  );
  return { slave: fields(slave), records };
}

/** The XML prints numbers with 6 decimals (normalised) or as integers / %f (raw). */
function sameNumber(actual: number, printed: string): boolean {
  const expected = Number(printed);
  return Number.isFinite(expected) && Math.abs(actual - expected) <= 5e-7 + Math.abs(expected) * 1e-12;
}

function sameValue(actual: number | string, printed: string): boolean {
  if (typeof actual === 'number') return sameNumber(actual, printed);
  return actual === printed.replace(/^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)Z$/, '$1');
}

/** Every difference between one decoded record and libmbus's normalised and raw records. */
function recordDifferences(
  record: MbusRecord,
  norm: Record<string, string>,
  raw: Record<string, string>,
): string[] {
  const problems: string[] = [];
  const check = (what: string, ok: boolean, actual: unknown, expected: unknown) => {
    if (!ok) problems.push(`${what}: got ${JSON.stringify(actual)}, libmbus ${JSON.stringify(expected)}`);
  };
  // An empty normalised record: libmbus -n could not normalise it; the raw XML still says what it is.
  const reference = norm.Function === undefined ? raw : norm;
  check('function', record.function === reference.Function, record.function, reference.Function);
  const storage = reference.StorageNumber ?? '0';
  check('storage_number', record.storage_number === Number(storage), record.storage_number, storage);
  const tariff = reference.Tariff ?? '0';
  check('tariff', record.tariff === Number(tariff), record.tariff, tariff);
  const device = reference.Device ?? '0';
  check('device', record.device === Number(device), record.device, device);
  if (norm.Function !== undefined) {
    check('unit', record.unit === norm.Unit, record.unit, norm.Unit);
    check('quantity', record.quantity === norm.Quantity, record.quantity, norm.Quantity);
    check('value', sameValue(record.value, norm.Value ?? ''), record.value, norm.Value);
  }
  if (raw.Unit !== undefined) check('raw.unit', record.raw.unit === raw.Unit, record.raw.unit, raw.Unit);
  check('raw.value', sameValue(record.raw.value, raw.Value ?? ''), record.raw.value, raw.Value);
  return problems;
}

function slaveDifferences(telegram: MbusTelegram, xml: Record<string, string>): string[] {
  const { slave } = telegram;
  const actual: Record<string, string> = {
    // libmbus prints the id's digits without leading zeros; we keep all 8.
    Id: slave.id.replace(/^0+(?=.)/, ''),
    Manufacturer: slave.manufacturer,
    Version: String(slave.version),
    ProductName: slave.product_name,
    Medium: slave.medium,
    AccessNumber: String(slave.access_number),
    Status: slave.status.toString(16).toUpperCase().padStart(2, '0'),
    Signature: slave.signature.toString(16).toUpperCase().padStart(4, '0'),
  };
  return Object.entries(xml)
    .filter(([name, value]) => actual[name] !== value)
    .map(
      ([name, value]) =>
        `slave ${name}: got ${JSON.stringify(actual[name])}, libmbus ${JSON.stringify(value)}`,
    );
}

function errorOf(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

describeWithVectors('M-Bus decoder against libmbus test frames', 'libmbus', (dir) => {
  const frames = join(dir, 'test-frames');
  const names = vectorFiles(frames, '.hex').map((file) => file.slice(0, -'.hex'.length));

  it('has the 76 frames', () => {
    expect(names).toHaveLength(76);
  });

  it.each(names)('%s decodes to libmbus -n records and slave information', (name) => {
    const telegram = decodeTelegram(parseHex(readFileSync(join(frames, `${name}.hex`), 'latin1')));
    const norm = readXml(join(frames, `${name}.norm.xml`));
    const raw = readXml(join(frames, `${name}.xml`));
    const problems = slaveDifferences(telegram, norm.slave);
    expect(telegram.records.length, 'record count').toBe(norm.records.length);
    telegram.records.forEach((record, i) => {
      const normalised = telegram.ci === 0x73 ? {} : (norm.records[i] ?? {});
      problems.push(
        ...recordDifferences(record, normalised, raw.records[i] ?? {}).map((p) => `record ${i} ${p}`),
      );
    });
    expect(problems).toEqual([]);
    expect(telegram.moreRecordsFollow).toBe(
      telegram.records.some((r) => r.function === 'More records follow'),
    );
  });

  const errorFrames = join(dir, 'error-frames');
  const errorNames = vectorFiles(errorFrames, '.hex');
  it.each(errorNames)('error-frames/%s is refused with an MbusError that says why', (file) => {
    const bytes = parseHex(readFileSync(join(errorFrames, file), 'latin1'));
    const error = errorOf(() => decodeTelegram(bytes));
    expect(error).toBeInstanceOf(MbusError);
    const { code, message } = error as MbusError;
    const xml = join(errorFrames, file.replace(/\.hex$/, '.xml'));
    const libmbusError = vectorFiles(errorFrames, '.xml').includes(file.replace(/\.hex$/, '.xml'))
      ? readXml(xml).slave.Error
      : undefined;
    if (libmbusError !== undefined) {
      // CI 70: the meter's own application error, with libmbus's words for it.
      expect({ code, message }).toEqual({ code: 'application_error', message: libmbusError });
    } else {
      // libmbus refuses these records: they run past the end of the data or have too many extensions.
      expect(code).toBe('bad_data');
      expect(message).toMatch(/record \d+ .*(ends before|past the end|more than 10)|header needs 12 bytes/);
    }
  });

  const unsupported = join(dir, 'unsupported-frames');
  const expectedCodes: Record<string, string> = {
    'invalid_length.hex': 'bad_length',
    'invalid_length2.hex': 'bad_data', // CI 73 with 15 bytes instead of 16
    'manual_frame1.hex': 'bad_argument', // "D 04 04 …": not hex pairs
    'manual_frame4.hex': 'unsupported', // SND_UD (master to slave)
    'manual_frame5.hex': 'unsupported',
    'manual_frame6.hex': 'unsupported',
  };
  const refused = vectorFiles(unsupported, '.hex').filter((file) => file !== 'svm_f22_telegram2.hex');
  it.each(refused)('unsupported-frames/%s is refused with an MbusError', (file) => {
    const error = errorOf(() => decodeTelegram(parseHex(readFileSync(join(unsupported, file), 'latin1'))));
    expect(error).toBeInstanceOf(MbusError);
    expect((error as MbusError).code).toBe(expectedCodes[file]);
    expect((error as MbusError).message.length).toBeGreaterThan(10);
  });

  // Deliberate deviation: libmbus lists this frame as unsupported, but it is well formed, and it is the
  // second telegram of the SVM F22 whose first telegram (test-frames/svm_f22_telegram1) ends with DIF 1F
  // "more records follow". Refusing it would make that meter unreadable, so we decode it: the header and
  // one DIF 1F record holding the 206 bytes of manufacturer data.
  it('decodes unsupported-frames/svm_f22_telegram2.hex, the follow-up telegram libmbus gives up on', () => {
    const telegram = decodeTelegram(
      parseHex(readFileSync(join(unsupported, 'svm_f22_telegram2.hex'), 'latin1')),
    );
    expect(telegram.slave).toMatchObject({
      id: '01006089',
      manufacturer: 'SVM',
      version: 9,
      access_number: 0x18,
    });
    expect(telegram.records).toHaveLength(1);
    expect(telegram.records[0]?.function).toBe('More records follow');
    expect(String(telegram.records[0]?.value).split(' ')).toHaveLength(206);
    expect(telegram.moreRecordsFollow).toBe(true);
  });
});

describeWithVectors('M-Bus decoder against the pyMeterBus WEPTECH frame', 'pymeterbus', (dir) => {
  it('decodes the 6 records to pyMeterBus values', () => {
    const expected = JSON.parse(readFileSync(join(dir, 'WEP-indoor.expected.json'), 'utf8')) as {
      record_count: number;
      values: number[];
    };
    const telegram = decodeTelegram(parseHex(readFileSync(join(dir, 'WEP-indoor.hex'), 'utf8')));
    expect(telegram.records).toHaveLength(expected.record_count);
    const values = telegram.records.map((record) => record.value);
    expect(values.map((value) => (typeof value === 'number' ? Number(value.toFixed(6)) : value))).toEqual(
      expected.values,
    );
    expect(telegram.records.map((record) => [record.quantity, record.unit])).toEqual([
      ['Fabrication No', ''],
      ['Actuality Duration', 's'],
      ['Reception level', 'dBm'],
      ['External temperature', '°C'],
      ['Relative humidity', '%'],
      ['Error flags', ''],
    ]);
    expect(telegram.slave).toMatchObject({ id: '00000021', manufacturer: 'WEP', medium: 'Ambient Sensor' });
  });
});
