import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MbusBusRuntime } from '../src/drivers/mbus/runtime.js';
import { defaultMeters } from '../src/drivers/mbus/simulator/meters.js';
import { socatAvailable } from '../src/drivers/mbus/simulator/pty.js';
import { MbusSimulator } from '../src/drivers/mbus/simulator/simulator.js';

// A Node process held up (CPU load, a long synchronous task) must not cut a meter's answer short: the
// meter's characters keep coming at the baud rate into the port while the event loop is stuck, and the
// end-of-answer timer that fires late must not take that for silence and ask again while the meter is
// still talking (on a real bus, that garbles the telegram).

const HAVE_SOCAT = socatAvailable();

/** Holds the event loop, as a busy process does. */
function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

describe.skipIf(!HAVE_SOCAT)('M-Bus answers under a late event loop', () => {
  let dir: string;
  let simulator: MbusSimulator;
  let runtime: MbusBusRuntime;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fieldbridge-mbus-late-'));
    const link = join(dir, 'ttyLate');
    // One water meter: its whole readout is one long telegram, about 0.3 s on the wire at 2400 Bd.
    const [water] = defaultMeters(2).slice(1);
    simulator = new MbusSimulator({ link, baud: 2400, seed: 2, meters: water ? [water] : [] });
    await simulator.start();
    runtime = new MbusBusRuntime('mbus:late', {
      path: link,
      baud: 2400,
      meters: [{ deviceId: 'water', target: { primary: water?.address ?? 2 } }],
    });
    await runtime.connect('water', AbortSignal.timeout(5_000));
  });
  afterEach(async () => {
    await runtime.close();
    await simulator.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([0, 1, 2])(
    'a loop blocked for 100 ms mid-telegram still gets the whole answer, with no retry while the meter talks (run %i)',
    async () => {
      const before = simulator.requests.taken;
      const reading = runtime.execute('water', 'poll', null, AbortSignal.timeout(10_000));
      // The request is on the wire for 23 ms and the meter starts 10 ms later: block mid-telegram.
      await new Promise((resolve) => setTimeout(resolve, 120));
      busyWait(100);
      await expect(reading).resolves.toMatchObject({ meter: { id: '12340002' } });
      expect(simulator.requests.interrupted).toBe(0);
      // One REQ_UD2: the first answer was whole.
      expect(simulator.requests.taken - before).toBe(1);
    },
  );
});

describe.skipIf(!HAVE_SOCAT)('M-Bus secondary scan under CPU load', () => {
  it('finds every meter whose E5s come in sequence while the event loop keeps stalling', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-mbus-load-'));
    const link = join(dir, 'ttyLoad');
    const ids = ['11111111', '22222222', '23456789'];
    const meters = defaultMeters(3).map((meter, index) => ({ ...meter, address: 0, id: ids[index] ?? '' }));
    const simulator = new MbusSimulator({
      link,
      baud: 9600,
      seed: 4,
      meters,
      spreadAnswers: true,
      answerWindowMs: 40,
    });
    await simulator.start();
    const runtime = new MbusBusRuntime('mbus:load', {
      path: link,
      baud: 9600,
      meters: [],
      replyTimeoutMs: 60,
    });
    // 70 ms stalls every 150 ms, in the middle of answers as often as not.
    const load = setInterval(() => busyWait(70), 150);
    try {
      const found = await runtime.scan({ kind: 'secondary' }, AbortSignal.timeout(60_000));
      expect(found.map((meter) => meter.secondary.slice(0, 8)).sort()).toEqual(ids);
    } finally {
      clearInterval(load);
      await runtime.close();
      await simulator.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
