import { describe, expect, it } from 'vitest';
import { LONG_START } from '../src/drivers/mbus/codec/frames.js';
import { MbusMaster } from '../src/drivers/mbus/master.js';
import { scanSecondary } from '../src/drivers/mbus/scan.js';
import { SimulatedLineLink } from '../src/drivers/mbus/simulator/lineLink.js';
import { defaultMeters, type MeterSpec } from '../src/drivers/mbus/simulator/meters.js';
import { MbusBus } from '../src/drivers/mbus/simulator/slave.js';

// Collisions as a real bus has them, against the master and the secondary scan: meters answer a
// wildcard select at their own moments inside the answer window, so the master mostly hears E5 E5 E5 one
// after another, not garbage. Whatever follows an E5 inside the window is a collision (as libmbus
// reads it); a match that cannot be read is searched one digit deeper, never given up.

const BAUD = 9600;
/** The meters' latest answer start, and the master's reply timeout a little above it (fast tests). */
const WINDOW_MS = 40;
const REPLY_TIMEOUT_MS = 60;
const signal = () => AbortSignal.timeout(60_000);

function meters(ids: string[]): MeterSpec[] {
  return ids.map((id, index) => ({ ...defaultMeters(5)[index % 5], address: 0, id }) as MeterSpec);
}

function rig(ids: string[], seed: number, cutTelegrams = 0) {
  const bus = new MbusBus({
    meters: meters(ids),
    startedAt: Date.now(),
    baud: BAUD,
    seed,
    spreadAnswers: true,
    answerWindowMs: WINDOW_MS,
  });
  const link = new SimulatedLineLink(bus);
  const cut = { left: cutTelegrams };
  if (cutTelegrams > 0) {
    // The first telegrams lose everything after their first character: incomplete frames.
    const deliver = link.onData.bind(link);
    let cutting = false;
    link.onData = (listener) =>
      deliver((chunk) => {
        if (chunk[0] === LONG_START) cutting = cut.left-- > 0;
        if (chunk[0] === 0xe5) cutting = false;
        if (!cutting) listener(chunk);
      });
  }
  const master = new MbusMaster(link, BAUD, { replyTimeoutMs: REPLY_TIMEOUT_MS });
  return { bus, link, master, cut };
}

const ids = (found: { secondary: string }[]) => found.map((meter) => meter.secondary.slice(0, 8)).sort();

describe('M-Bus collisions with E5s in sequence', () => {
  it('a wildcard select that three meters answer one after another is a collision, not an acknowledgement', async () => {
    const { master, bus } = rig(['11111111', '22222222', '33333333'], 3);
    // The simulator's draw: three distinct delays, so three clean E5s in a row.
    expect(new Set(bus.meters.map((meter) => Math.round(meter.answerDelayMs))).size).toBe(3);
    await expect(master.select('FFFFFFFFFFFFFFFF', signal(), 1)).resolves.toBe('collision');
    await expect(master.select('1FFFFFFFFFFFFFFF', signal(), 1)).resolves.toBe('ack');
  });

  it('a secondary scan finds all 3 meters whose E5s come in sequence', async () => {
    const { master, link } = rig(['11111111', '22222222', '23456789'], 3);
    const problems: string[] = [];
    const found = await scanSecondary(master, signal(), { problem: (message) => problems.push(message) });
    expect(ids(found)).toEqual(['11111111', '22222222', '23456789']);
    expect(problems).toEqual([]);
    expect(link.line.interrupted).toBe(0);
  });

  it('a secondary scan finds all of 10 meters, E5s in sequence and overlapping', async () => {
    const ten = [
      '10000001',
      '12000002',
      '20000003',
      '31000004',
      '31500005',
      '48000006',
      '55555555',
      '62000008',
      '77000009',
      '90000010',
    ];
    const { master } = rig(ten, 11);
    const found = await scanSecondary(master, signal());
    expect(ids(found)).toEqual([...ten].sort());
  });

  it('an incomplete frame does not lose a meter: a match that cannot be read is searched one digit deeper', async () => {
    // Every try of the first read gets an incomplete frame.
    const { master, cut } = rig(['12345678'], 1, 3);
    const problems: string[] = [];
    const found = await scanSecondary(master, signal(), { problem: (message) => problems.push(message) });
    expect(ids(found)).toEqual(['12345678']);
    expect(cut.left).toBeLessThan(0);
  });
});
