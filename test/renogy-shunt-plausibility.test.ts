import { describe, expect, it } from 'vitest';
import {
  encodeShuntFrame,
  judgeShuntFrame,
  SHUNT_LIVE_HEADER,
  ShuntAssembler,
} from '../src/drivers/renogy/codec/index.js';
import { renogyDecoder } from '../src/drivers/renogy/decode.js';

// A Smart Shunt frame carries no checksum: bytes garbled on the way still start with the live header
// and decode into numbers. Only values a 12/24/48 V battery monitor can read are believed; a frame with
// one that is not is noise (dropped whole), except an out-of-range temperature, which is only withheld.
// The starter voltage has no bound: its 16 bits cannot hold an implausible one.

const GOOD = {
  current: -12.345,
  voltage: 13.275,
  starter_voltage: 12.61,
  battery_soc: 76.5,
  battery_temperature: 18.5,
};

const frameOf = (changes: Partial<typeof GOOD>) => encodeShuntFrame({ ...GOOD, ...changes });

/** The keys of the problems of a frame judged implausible (none: it was a reading). */
function droppedFor(frame: Buffer): string[] {
  const judged = judgeShuntFrame(frame);
  return judged.kind === 'implausible' ? judged.problems.map((problem) => problem.key) : [];
}

describe('Smart Shunt frame plausibility', () => {
  it('believes a frame of plausible values, the bounds themselves included', () => {
    expect(judgeShuntFrame(frameOf({}))).toEqual({ kind: 'reading', values: GOOD, withheld: [] });
    for (const edge of [
      { voltage: 6, current: 500 },
      { voltage: 80, current: -500 },
      { starter_voltage: 0, battery_soc: 0, battery_temperature: -40 },
      { starter_voltage: 65.535, battery_soc: 100, battery_temperature: 100 },
    ]) {
      expect(judgeShuntFrame(frameOf(edge))).toMatchObject({ kind: 'reading', values: { ...GOOD, ...edge } });
    }
  });

  it('drops a frame whose voltage, current or SOC no battery monitor reads', () => {
    expect(droppedFor(frameOf({ voltage: 80.001 }))).toEqual(['voltage']);
    expect(droppedFor(frameOf({ voltage: 5.999 }))).toEqual(['voltage']);
    expect(droppedFor(frameOf({ current: 500.001 }))).toEqual(['current']);
    expect(droppedFor(frameOf({ current: -612.5 }))).toEqual(['current']);
    expect(droppedFor(frameOf({ battery_soc: 100.1 }))).toEqual(['battery_soc']);
  });

  it('drops frames of garbled bytes behind a good header: zeros, ones, a flipped stream', () => {
    const zeros = Buffer.alloc(110);
    SHUNT_LIVE_HEADER.copy(zeros);
    const ones = Buffer.alloc(110, 0xff);
    SHUNT_LIVE_HEADER.copy(ones);
    const flipped = frameOf({});
    for (let at = 4; at < flipped.length; at += 1) flipped[at] = (flipped[at] ?? 0) ^ 0x5a;
    expect(droppedFor(zeros)).toEqual(['voltage']);
    // All ones: -0.001 A (a plausible current), 16777 V, 6553.5 %.
    expect(droppedFor(ones)).toEqual(['voltage', 'battery_soc']);
    expect(droppedFor(flipped)).toContain('voltage');
    const judged = judgeShuntFrame(flipped);
    expect(judged.kind === 'implausible' && judged.problems[0]?.message).toMatch(
      /^current -?\d+(\.\d+)? A is outside -500\.\.500 A$|^voltage \d+(\.\d+)? V is outside 6\.\.80 V$/,
    );
  });

  it('withholds only an out-of-range temperature and keeps the rest of the frame', () => {
    const judged = judgeShuntFrame(frameOf({ battery_temperature: 3276.7 }));
    const { battery_temperature: _withheld, ...rest } = GOOD;
    expect(judged).toEqual({
      kind: 'reading',
      values: rest,
      withheld: [
        {
          key: 'battery_temperature',
          value: 3276.7,
          otherwise: 'withhold_value',
          message: 'battery_temperature 3276.7 °C is outside -40..100 °C',
        },
      ],
    });
    expect(judgeShuntFrame(frameOf({ battery_temperature: -40.1 }))).toMatchObject({
      kind: 'reading',
      values: rest,
    });
  });

  it('a garbled frame in the stream is dropped and the next good one read', () => {
    const garbled = frameOf({ current: 8_000 });
    const assembler = new ShuntAssembler();
    const judged = [...assembler.push(garbled), ...assembler.push(frameOf({}))].map(judgeShuntFrame);
    expect(judged.map((result) => result.kind)).toEqual(['implausible', 'reading']);
  });

  it('the decode command shows every value of an implausible frame, each implausible one named', () => {
    expect(renogyDecoder.decode('renogy', frameOf({ voltage: 150 }).toString('hex'), {})).toEqual({
      json: {
        type: 'shunt_frame',
        values: { ...GOOD, voltage: 150 },
        warnings: ['implausible: voltage 150 V is outside 6..80 V (the frame is dropped)'],
      },
    });
  });
});
