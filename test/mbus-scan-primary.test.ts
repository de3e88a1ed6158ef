import { describe, expect, it } from 'vitest';
import { parseFrame } from '../src/drivers/mbus/codec/frames.js';
import { C_FIELD } from '../src/drivers/mbus/codec/master.js';
import { MbusMaster } from '../src/drivers/mbus/master.js';
import { MbusBusRuntime } from '../src/drivers/mbus/runtime.js';
import { scanPrimary } from '../src/drivers/mbus/scan.js';
import { SimulatedLineLink } from '../src/drivers/mbus/simulator/lineLink.js';
import { defaultMeters } from '../src/drivers/mbus/simulator/meters.js';
import { MbusBus } from '../src/drivers/mbus/simulator/slave.js';

// A primary scan as fast as the line allows: one SND_NKE per address (a second only when the answer
// was garbled), and meters already known keep being read while a long scan runs.

const BAUD = 9600;
const signal = () => AbortSignal.timeout(60_000);

function simulatedBus(addresses: number[]): { bus: MbusBus; link: SimulatedLineLink } {
  const meters = defaultMeters(addresses.length).map((meter, index) => ({
    ...meter,
    address: addresses[index] ?? 0,
  }));
  const bus = new MbusBus({
    meters,
    startedAt: Date.now(),
    baud: BAUD,
    seed: 1,
    spreadAnswers: true,
    answerWindowMs: 30,
  });
  return { bus, link: new SimulatedLineLink(bus) };
}

/** SND_NKE frames the master sent, per address. */
function pings(link: SimulatedLineLink): Map<number, number> {
  const counts = new Map<number, number>();
  for (const { bytes } of link.written) {
    const frame = parseFrame(bytes);
    if (frame.kind === 'short' && frame.c === C_FIELD.SND_NKE)
      counts.set(frame.a, (counts.get(frame.a) ?? 0) + 1);
  }
  return counts;
}

describe('M-Bus primary scan', () => {
  it('sends one SND_NKE per address, empty or not', async () => {
    const { link } = simulatedBus([3, 7]);
    const master = new MbusMaster(link, BAUD, { replyTimeoutMs: 50 });
    const found = await scanPrimary(master, { from: 0, to: 12 }, signal());
    expect(found.map((meter) => meter.target)).toEqual([{ primary: 3 }, { primary: 7 }]);
    const counts = pings(link);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([...Array(13).keys()]);
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
  });

  it('probes an address a second time only when its answer was garbled', async () => {
    const { link } = simulatedBus([5]);
    // The first E5 on the line loses a bit: noise, not a collision.
    const deliver = link.onData.bind(link);
    let garble = true;
    link.onData = (listener) =>
      deliver((chunk) => {
        if (garble && chunk[0] === 0xe5) {
          garble = false;
          listener(Buffer.from([0xe4]));
        } else listener(chunk);
      });
    const master = new MbusMaster(link, BAUD, { replyTimeoutMs: 50 });
    const found = await scanPrimary(master, { from: 4, to: 6 }, signal());
    expect(found.map((meter) => meter.target)).toEqual([{ primary: 5 }]);
    expect(Object.fromEntries(pings(link))).toEqual({ 4: 1, 5: 2, 6: 1 });
  });
});

describe('M-Bus polling during a long scan', () => {
  it('keeps reading the meters it knows while a primary scan runs', async () => {
    const { bus } = simulatedBus([1, 2]);
    const runtime = new MbusBusRuntime('mbus:interleave', {
      // The runtime watches its port's path for a pulled converter: one that always exists.
      path: '/dev/null',
      baud: BAUD,
      meters: [{ deviceId: 'heat', target: { primary: 1 } }],
      openLink: () => Promise.resolve(new SimulatedLineLink(bus, { path: '/dev/null' })),
      replyTimeoutMs: 50,
    });
    try {
      await runtime.connect('heat', signal());
      let scanDone = false;
      const scanning = runtime
        .scan({ kind: 'primary', range: { from: 0, to: 40 } }, signal())
        .then((found) => {
          scanDone = true;
          return found;
        });
      const readsDuringScan: number[] = [];
      for (let i = 0; i < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        await runtime.execute('heat', 'poll', null, signal());
        if (!scanDone) readsDuringScan.push(i);
      }
      expect(readsDuringScan).toEqual([0, 1, 2]);
      const found = await scanning;
      expect(found.map((meter) => meter.target)).toEqual([{ primary: 1 }, { primary: 2 }]);
    } finally {
      await runtime.close();
    }
  });
});
