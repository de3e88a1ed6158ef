import { describe, expect, it } from 'vitest';
import { MbusError } from '../src/drivers/mbus/codec/errors.js';
import { encodeFrame, parseFrame } from '../src/drivers/mbus/codec/frames.js';
import {
  applicationReset,
  reqUd2,
  selectSecondary,
  setPrimaryAddress,
  sndNke,
} from '../src/drivers/mbus/codec/master.js';
import { decodeTelegram } from '../src/drivers/mbus/codec/telegram.js';
import type { MbusRecord } from '../src/drivers/mbus/codec/types.js';
import { ControlError, parseControlCommand } from '../src/drivers/mbus/simulator/control.js';
import { collide, corruptReply } from '../src/drivers/mbus/simulator/faults.js';
import { defaultMeters, manufacturerCode, type MeterSpec } from '../src/drivers/mbus/simulator/meters.js';
import { type BusOptions, MbusBus } from '../src/drivers/mbus/simulator/slave.js';
import { encodeRecord } from '../src/drivers/mbus/simulator/telegram.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const HOUR = 3_600_000;

function bus(options: Partial<BusOptions> = {}): MbusBus {
  return new MbusBus({ meters: defaultMeters(3), startedAt: T0, fast: true, ...options });
}

/** The bytes on the line after `request`, or undefined for silence. */
function answer(target: MbusBus, request: Buffer, at = T0): Buffer | undefined {
  return target.handle(request, at).answer?.bytes;
}

function isGarbled(bytes: Buffer | undefined): boolean {
  if (bytes === undefined) return false;
  try {
    parseFrame(bytes);
    return false;
  } catch (error) {
    return error instanceof MbusError;
  }
}

const E5 = Buffer.from([0xe5]);

describe('M-Bus simulator: link layer', () => {
  it('acknowledges SND_NKE at a meter address, and is silent for unknown addresses and broadcasts', () => {
    const target = bus();
    expect(answer(target, sndNke(1))).toEqual(E5);
    expect(answer(target, sndNke(3))).toEqual(E5);
    expect(answer(target, sndNke(9))).toBeUndefined();
    expect(answer(target, sndNke(0xff))).toBeUndefined();
    expect(answer(target, reqUd2(0xff, true))).toBeUndefined();
  });

  it('answers REQ_UD2 with RSP_UD (C 08, CI 72) that decodes to the meter and its growing counters', () => {
    const target = bus();
    const bytes = answer(target, reqUd2(2, true), T0 + 2 * HOUR);
    expect(bytes).toBeDefined();
    const telegram = decodeTelegram(bytes ?? Buffer.alloc(0));
    expect(telegram).toMatchObject({ c: 0x08, a: 2, ci: 0x72, moreRecordsFollow: false });
    expect(telegram.slave).toMatchObject({
      id: '12340002',
      manufacturer: 'SEN',
      version: 1,
      medium: 'Water',
    });
    const volume = telegram.records.find(
      (record) => record.quantity === 'Volume' && record.storage_number === 0,
    );
    // start 523.456 m³ + 2 h × 0.05 m³/h
    expect(volume).toMatchObject({ unit: 'm^3', value: 523.556 });
    const dateTime = telegram.records.find((record) => record.raw.vif === '6D');
    expect(dateTime?.value).toBe('2026-01-15T14:00:00');
  });

  it('encodes each medium with the records a real meter of it sends', () => {
    const target = bus({ meters: defaultMeters(5) });
    // "Energy [Wh] s1 t2": quantity, unit of numbers, storage number and tariff when not 0.
    const label = (record: MbusRecord) =>
      [
        record.quantity,
        typeof record.value === 'number' ? `[${record.unit}]` : '',
        record.storage_number ? `s${record.storage_number}` : '',
        record.tariff ? `t${record.tariff}` : '',
      ]
        .filter((part) => part !== '')
        .join(' ');
    const quantities = (address: number) =>
      decodeTelegram(answer(target, reqUd2(address, true)) ?? E5).records.map(label);
    expect(quantities(3)).toEqual([
      'Energy [Wh]',
      'Energy [Wh] t1',
      'Power [W]',
      'Voltage [V]',
      'Current [A]',
      'Time point (date & time)',
    ]);
    expect(quantities(4)).toEqual(['Volume [m^3]', 'Time point (date & time)', 'Volume [m^3] s1']);
    const heat = decodeTelegram(answer(target, reqUd2(1, true)) ?? Buffer.alloc(0));
    expect(heat.slave.medium).toMatch(/^Heat/);
    const energy = heat.records.find((record) => record.quantity === 'Energy');
    expect(energy).toMatchObject({ unit: 'Wh', value: 12_345_600 });
  });

  it('resends the same telegram when the FCB repeats and advances when it toggles', () => {
    const target = bus();
    const first = answer(target, reqUd2(2, true));
    const repeat = answer(target, reqUd2(2, true), T0 + HOUR);
    expect(repeat).toEqual(first);
    const next = answer(target, reqUd2(2, false), T0 + HOUR);
    const access = (bytes: Buffer | undefined) =>
      decodeTelegram(bytes ?? Buffer.alloc(0)).slave.access_number;
    expect(access(next)).toBe((access(first) + 1) & 0xff);
    // SND_NKE resets the FCB: the next request is new whatever its bit.
    expect(answer(target, sndNke(2))).toEqual(E5);
    expect(access(answer(target, reqUd2(2, false), T0 + HOUR))).toBe((access(first) + 2) & 0xff);
  });

  it('reads a heat meter in two telegrams (DIF 1F), then starts again at the first', () => {
    const target = bus();
    const meter = target.findMeter(1);
    expect(meter && target.telegramCount(meter)).toBe(2);
    const read = (fcb: boolean) => decodeTelegram(answer(target, reqUd2(1, fcb)) ?? Buffer.alloc(0));
    const first = read(true);
    const second = read(false);
    const third = read(true);
    expect(first.moreRecordsFollow).toBe(true);
    expect(first.records.at(-1)?.function).toBe('More records follow');
    expect(second.moreRecordsFollow).toBe(false);
    const quantities = [...first.records, ...second.records]
      .filter((record) => record.function !== 'More records follow')
      .map((record) => record.quantity);
    expect(quantities).toEqual([
      'Energy',
      'Volume',
      'Power',
      'Volume flow',
      'Flow temperature',
      'Return temperature',
      'Temperature difference',
      'Time point (date & time)',
      'Energy',
      'Time point (date)',
    ]);
    expect(third.moreRecordsFollow).toBe(true);
    expect(third.records.map((record) => record.quantity)).toEqual(first.records.map((r) => r.quantity));
  });

  it('application reset (CI 50) answers E5 and restarts the multi-telegram sequence', () => {
    const target = bus();
    answer(target, reqUd2(1, true));
    expect(answer(target, applicationReset(1))).toEqual(E5);
    expect(answer(target, applicationReset(1, 0x10))).toEqual(E5);
    const after = decodeTelegram(answer(target, reqUd2(1, true)) ?? Buffer.alloc(0));
    expect(after.moreRecordsFollow).toBe(true);
  });
});

describe('M-Bus simulator: secondary addressing', () => {
  it('selects one meter by wildcard and answers at FD until SND_NKE FD deselects it', () => {
    const target = bus();
    expect(answer(target, selectSecondary('FFFF0002FFFFFFFF'))).toEqual(E5);
    const telegram = decodeTelegram(answer(target, reqUd2(0xfd, true)) ?? Buffer.alloc(0));
    expect(telegram.slave.id).toBe('12340002');
    expect(answer(target, sndNke(0xfd))).toEqual(E5);
    expect(answer(target, reqUd2(0xfd, false))).toBeUndefined();
    expect(answer(target, sndNke(0xfd))).toBeUndefined();
  });

  it('matches manufacturer, version and medium too', () => {
    const target = bus();
    const pattern = (medium: number) =>
      selectSecondary({ id: 'FFFFFFFF', manufacturer: manufacturerCode('ABB'), version: 0xff, medium });
    expect(answer(target, pattern(0x02))).toEqual(E5);
    expect(target.meters.filter((meter) => meter.selected).map((meter) => meter.address)).toEqual([3]);
    expect(answer(target, pattern(0x07))).toBeUndefined();
    expect(target.meters.some((meter) => meter.selected)).toBe(false);
  });

  it('several matches collide: the master receives garbled bytes; no match is silence', () => {
    const target = bus();
    const result = target.handle(selectSecondary('1234FFFFFFFFFFFF'), T0);
    expect(isGarbled(result.answer?.bytes)).toBe(true);
    expect(result.answer?.bytes[0]).not.toBe(0xe5);
    expect(result.events.map((event) => event.message)).toContain(
      'collision: 3 meters answered (addresses 1, 2, 3)',
    );
    // All three believe they are selected: a read at FD collides as well.
    expect(isGarbled(answer(target, reqUd2(0xfd, true)))).toBe(true);
    expect(answer(target, selectSecondary('99999999FFFFFFFF'))).toBeUndefined();
    expect(answer(target, reqUd2(0xfd, false))).toBeUndefined();
  });

  it('REQ_UD2 to FE: one meter answers, several collide', () => {
    expect(decodeTelegram(answer(bus({ meters: defaultMeters(1) }), reqUd2(0xfe, true)) ?? E5).a).toBe(1);
    expect(isGarbled(answer(bus(), reqUd2(0xfe, true)))).toBe(true);
  });

  it('collide() never yields a valid frame, even from identical replies', () => {
    for (let seed = 0; seed < 50; seed++) {
      let state = seed;
      const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      expect(isGarbled(collide([E5, E5], random))).toBe(true);
      expect(isGarbled(collide([E5, E5, E5], random))).toBe(true);
    }
  });
});

describe('M-Bus simulator: primary address and meter state', () => {
  it('takes a new primary address (CI 51, DIF 01 VIF 7A) and answers only there', () => {
    const target = bus();
    expect(answer(target, setPrimaryAddress(2, 7))).toEqual(E5);
    expect(answer(target, reqUd2(2, true))).toBeUndefined();
    expect(decodeTelegram(answer(target, reqUd2(7, true)) ?? E5).a).toBe(7);
    // Through the selection as well.
    expect(answer(target, selectSecondary('12340003FFFFFFFF'))).toEqual(E5);
    expect(answer(target, setPrimaryAddress(0xfd, 42))).toEqual(E5);
    expect(target.findMeter(42)?.spec.id).toBe('12340003');
  });

  it('refuses a primary address above 250 by staying silent', () => {
    const target = bus();
    const frame = encodeFrame({
      kind: 'long',
      c: 0x53,
      a: 1,
      ci: 0x51,
      data: Buffer.from([0x01, 0x7a, 251]),
    });
    expect(answer(target, frame)).toBeUndefined();
    expect(target.findMeter(1)).toBeDefined();
  });

  it('a dead meter is silent and ignores selection; alive again, it answers', () => {
    const target = bus();
    const meter = target.findMeter('12340001');
    if (meter === undefined) throw new Error('meter 1 missing');
    meter.alive = false;
    expect(answer(target, sndNke(1))).toBeUndefined();
    expect(answer(target, selectSecondary('12340001FFFFFFFF'))).toBeUndefined();
    meter.alive = true;
    expect(answer(target, sndNke(1))).toEqual(E5);
  });

  it('ignores a garbled request and says why', () => {
    const target = bus();
    const result = target.handle(Buffer.from([0x10, 0x5b, 0x01, 0x00, 0x16]), T0);
    expect(result.answer).toBeUndefined();
    expect(result.events[0]?.message).toMatch(/^ignored a garbled request \(checksum is 00, expected 5C\)/);
  });
});

describe('M-Bus simulator: faults and timing', () => {
  it('loses replies at the no-answer rate, the same ones for the same seed', () => {
    const pattern = (seed: number) => {
      const target = bus({ seed, faults: { noAnswer: 0.3 } });
      return Array.from({ length: 200 }, (_, i) =>
        answer(target, reqUd2(1 + (i % 3), i % 2 === 0)) ? 1 : 0,
      );
    };
    const first = pattern(42);
    expect(pattern(42)).toEqual(first);
    expect(pattern(43)).not.toEqual(first);
    const lost = first.filter((got) => got === 0).length;
    expect(lost).toBeGreaterThan(35);
    expect(lost).toBeLessThan(85);
  });

  it('a lost reply still moved the meter on: the repeat with the same FCB gets that telegram', () => {
    const target = bus({ seed: 1, faults: { noAnswer: 1 } });
    expect(answer(target, reqUd2(1, true))).toBeUndefined();
    target.setFaults({ noAnswer: 0 });
    const repeat = decodeTelegram(answer(target, reqUd2(1, true)) ?? E5);
    expect(repeat.moreRecordsFollow).toBe(true); // still telegram 1 of 2
    expect(decodeTelegram(answer(target, reqUd2(1, false)) ?? E5).moreRecordsFollow).toBe(false);
  });

  it('corrupts checksums at the corrupt rate (an E5 becomes another byte)', () => {
    const target = bus({ faults: { corrupt: 1 } });
    const ack = answer(target, sndNke(1));
    expect(ack).toHaveLength(1);
    expect(ack?.[0]).not.toBe(0xe5);
    expect(() => parseFrame(answer(target, reqUd2(1, true)) ?? E5)).toThrow(/checksum/);
    const frame = encodeFrame({ kind: 'short', c: 0x40, a: 1 });
    expect(() => parseFrame(corruptReply(frame, () => 0.99))).toThrow(/checksum/);
  });

  it('delays replies by their time on the wire at the baud rate, plus the slow fault', () => {
    const slow = bus({ fast: false, baud: 2400, turnaroundMs: 10 });
    expect(slow.handle(sndNke(1), T0).answer).toMatchObject({ delayMs: 10, wireMs: 11_000 / 2400 });
    const long = slow.handle(reqUd2(2, true), T0).answer;
    expect(long?.wireMs).toBeCloseTo(((long?.bytes.length ?? 0) * 11_000) / 2400, 5);
    slow.setFaults({ slowMs: 500 });
    expect(slow.handle(sndNke(1), T0).answer?.delayMs).toBe(510);
    expect(bus({ faults: { slowMs: 7 } }).handle(sndNke(1), T0).answer).toMatchObject({
      delayMs: 7,
      wireMs: 0,
    });
  });

  it('refuses nonsense fault values with the field named', () => {
    expect(() => bus().setFaults({ noAnswer: 1.5 })).toThrow(
      'noAnswer must be a probability between 0 and 1, got 1.5',
    );
    expect(() => bus({ faults: { slowMs: -1 } })).toThrow(/slowMs/);
  });
});

describe('M-Bus simulator: records and control commands', () => {
  it('puts storage numbers above 1 and tariffs in a DIFE, and rolls BCD registers over', () => {
    const record = (overrides: Partial<Parameters<typeof encodeRecord>[0]>) =>
      encodeRecord({
        name: 'energy',
        coding: 'bcd8',
        vif: [0x06],
        exponent: 3,
        storage: 0,
        tariff: 0,
        function: 'instantaneous',
        value: 12_345_678_000,
        ...overrides,
      });
    expect(record({}).toString('hex')).toBe('0c0678563412');
    // DIF CC: BCD, storage bit 1, extension; DIFE 22: storage bits 2, tariff 2.
    expect(record({ storage: 5, tariff: 2 }).toString('hex')).toBe('cc220678563412');
    expect(record({ value: 123_456_789_000 }).toString('hex')).toBe('0c0689674523');
    expect(record({ function: 'maximum', coding: 'int16', value: 4000 }).toString('hex')).toBe('12060400');
  });

  it('parses the stdin commands and names what is wrong with a bad one', () => {
    expect(parseControlCommand('  ')).toBeUndefined();
    expect(parseControlCommand('unplug')).toEqual({ kind: 'unplug' });
    expect(parseControlCommand('noanswer 0.5')).toEqual({ kind: 'faults', update: { noAnswer: 0.5 } });
    expect(parseControlCommand('slow 500')).toEqual({ kind: 'faults', update: { slowMs: 500 } });
    expect(parseControlCommand('meter 3 dead')).toEqual({ kind: 'meter', meter: '3', alive: false });
    expect(() => parseControlCommand('corrupt 2')).toThrow(
      'corrupt rate must be a number from 0 to 1, got "2"',
    );
    expect(() => parseControlCommand('meter 3 sleepy')).toThrow(
      'meter: expected "dead" or "alive", got "sleepy"',
    );
    expect(() => parseControlCommand('unplgu')).toThrow(ControlError);
  });

  it('default meters have distinct addresses and secondary ids', () => {
    const meters: MeterSpec[] = defaultMeters(250);
    expect(new Set(meters.map((meter) => meter.address)).size).toBe(250);
    expect(new Set(meters.map((meter) => meter.id)).size).toBe(250);
    expect(() => defaultMeters(0)).toThrow('the number of meters must be 1-250, got 0');
  });
});
