import { describe, expect, it } from 'vitest';
import { answerWindowMs, parseFrame, wireTimeMs } from '../src/drivers/mbus/codec/frames.js';
import { reqUd2, selectSecondary } from '../src/drivers/mbus/codec/master.js';
import { parseSimulatorConfig } from '../src/drivers/mbus/simulator/config.js';
import { SimulatedLine } from '../src/drivers/mbus/simulator/line.js';
import { defaultMeters, type MeterSpec } from '../src/drivers/mbus/simulator/meters.js';
import { type BusOptions, MbusBus } from '../src/drivers/mbus/simulator/slave.js';

// The simulator's wire as a real M-Bus segment has it: each meter answers at its own moment inside the
// window EN 13757-2 permits, so a wildcard select gets E5s one after another (or overlapping ones merged
// bit by bit), and characters arrive spaced as the baud rate spaces them.

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const E5 = Buffer.from([0xe5]);

function bus(meters: MeterSpec[], options: Partial<BusOptions> = {}): MbusBus {
  return new MbusBus({ meters, startedAt: T0, baud: 2400, spreadAnswers: true, ...options });
}

function atAddress0(ids: string[], delays?: number[]): MeterSpec[] {
  return defaultMeters(ids.length).map((meter, index) => ({
    ...meter,
    address: 0,
    id: ids[index] ?? meter.id,
    ...(delays === undefined ? {} : { answerDelayMs: delays[index] }),
  }));
}

describe('M-Bus simulator: answers across the answer window', () => {
  it('gives every meter its own delay inside the window, so a wildcard select gets E5 E5 E5 in sequence', () => {
    const target = bus(atAddress0(['11111111', '22222222', '33333333']), { seed: 3 });
    const { earliest, latest } = answerWindowMs(2400);
    const delays = target.meters.map((meter) => meter.answerDelayMs);
    expect(new Set(delays.map(Math.round)).size).toBe(3);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(earliest);
      expect(delay).toBeLessThanOrEqual(latest);
    }
    const { answers } = target.handle(selectSecondary('FFFFFFFFFFFFFFFF'), T0);
    expect(answers.map((answer) => answer.bytes)).toEqual([E5, E5, E5]);
    // One after another: each starts after the one before has ended.
    for (let i = 1; i < answers.length; i++) {
      const before = answers[i - 1];
      expect(answers[i]?.delayMs).toBeGreaterThanOrEqual((before?.delayMs ?? 0) + (before?.wireMs ?? 0));
    }
  });

  it('merges answers that overlap on the wire into what a UART reads from the wired AND', () => {
    // 1 ms apart at 2400 Bd is about 2 bit times: the second E5 starts inside the first.
    const overlapping = bus(atAddress0(['11111111', '22222222'], [40, 41]), { seed: 1 });
    const { answers } = overlapping.handle(selectSecondary('FFFFFFFFFFFFFFFF'), T0);
    expect(answers).toHaveLength(1);
    expect(answers[0]?.bytes.equals(E5)).toBe(false);
    // Far enough apart, the same two meters are two clean E5s.
    const apart = bus(atAddress0(['11111111', '22222222'], [40, 80]), { seed: 1 });
    expect(apart.handle(selectSecondary('FFFFFFFFFFFFFFFF'), T0).answers.map((a) => a.bytes)).toEqual([
      E5,
      E5,
    ]);
  });

  it('garbles long answers that overlap, and keeps the meters that do not match silent', () => {
    const target = bus(atAddress0(['11111111', '12222222', '33333333'], [20, 25, 60]));
    target.handle(selectSecondary('1FFFFFFFFFFFFFFF'), T0);
    const { answers } = target.handle(reqUd2(0xfd, true), T0);
    expect(answers).toHaveLength(1);
    expect(() => parseFrame(answers[0]?.bytes ?? Buffer.alloc(0))).toThrow();
  });
});

describe('M-Bus simulator: characters at the baud rate', () => {
  it('hands over each character when its last bit is in, never the whole answer at once', async () => {
    const target = bus(atAddress0(['11111111']), { spreadAnswers: false, turnaroundMs: 5 });
    const arrivals: { at: number; length: number }[] = [];
    const line = new SimulatedLine({
      bus: target,
      send: (bytes) => arrivals.push({ at: performance.now(), length: bytes.length }),
    });
    const asked = performance.now();
    line.receive(reqUd2(0, true));
    const total = () => arrivals.reduce((sum, chunk) => sum + chunk.length, 0);
    await expect.poll(total, { timeout: 3_000, interval: 20 }).toBeGreaterThan(20);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const bytes = total();
    const wire = wireTimeMs(bytes, 2400);
    const last = arrivals.at(-1)?.at ?? asked;
    // The last character is in no sooner than the telegram's time on the wire after the answer started.
    expect(last - asked).toBeGreaterThanOrEqual(wire * 0.95);
    // Spread over many small writes (one or two characters each), not a burst.
    expect(arrivals.length).toBeGreaterThan(bytes / 3);
    line.halt();
  });
});

describe('M-Bus simulator: meters.yaml', () => {
  it("takes spread_answers and a meter's answer_delay_ms, and names a bad delay", () => {
    const file = parseSimulatorConfig(
      'spread_answers: true\nmeters:\n  - { address: 0, id: "1", medium: heat, answer_delay_ms: 120 }\n',
    );
    expect(file.spreadAnswers).toBe(true);
    expect(file.meters?.[0]?.answerDelayMs).toBe(120);
    expect(() =>
      parseSimulatorConfig('meters:\n  - { address: 0, id: "1", medium: heat, answer_delay_ms: -1 }\n'),
    ).toThrow('answer_delay_ms');
  });
});
