import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BusEvent } from '../src/drivers/contract.js';
import { sndNke } from '../src/drivers/mbus/codec/master.js';
import { MbusMaster } from '../src/drivers/mbus/master.js';
import { MbusBusRuntime } from '../src/drivers/mbus/runtime.js';
import { type ByteLink, openSerialLink } from '../src/drivers/mbus/serialLink.js';
import { socatAvailable } from '../src/drivers/mbus/simulator/pty.js';
import { defaultMeters } from '../src/drivers/mbus/simulator/meters.js';
import { MbusSimulator } from '../src/drivers/mbus/simulator/simulator.js';
import type { MeterReading } from '../src/drivers/mbus/readings.js';

// The serial master and the bus runtime against the meter simulator on a real socat pty pair: the
// same serial path (8E1, exclusive open, reads, port loss) a USB level converter takes.

const HAVE_SOCAT = socatAvailable();
if (!HAVE_SOCAT)
  console.warn('skipping the M-Bus runtime tests: socat is not installed (apt-get install -y socat)');

const signal = () => AbortSignal.timeout(20_000);

describe.skipIf(!HAVE_SOCAT)('M-Bus bus runtime over a pty', () => {
  let dir: string;
  let simulator: MbusSimulator;
  let runtime: MbusBusRuntime;
  let events: BusEvent[];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fieldbridge-mbus-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeEach(async () => {
    const link = join(dir, `tty${Math.random().toString(36).slice(2, 8)}`);
    simulator = new MbusSimulator({ link, fast: true, seed: 7, baud: 38_400 });
    await simulator.start();
    runtime = new MbusBusRuntime('mbus:test', {
      path: link,
      baud: 38_400,
      meters: [
        { deviceId: 'heat', target: { primary: 1 } },
        { deviceId: 'water', target: { secondary: '12340002FFFFFFFF' } },
        { deviceId: 'nobody', target: { primary: 42 } },
      ],
      watchIntervalMs: 50,
      // The simulator answers at once: a short reply timeout keeps scans (mostly silence) quick.
      replyTimeoutMs: 150,
    });
    events = [];
    runtime.watchBus((event) => events.push(event));
  });
  afterEach(async () => {
    await runtime.close();
    await simulator.stop();
  });

  it('connects by primary and secondary address and reads every record', async () => {
    await runtime.connect('heat', signal());
    await runtime.connect('water', signal());
    const heat = (await runtime.execute('heat', 'poll', null, signal())) as MeterReading;
    expect(heat.meter.id).toBe('12340001');
    expect(heat.meter.secondary_address.startsWith('12340001')).toBe(true);
    expect(heat.records.length).toBeGreaterThan(3);
    const energy = heat.records.find((record) => record.quantity === 'Energy');
    expect(energy?.unit).toBe('Wh');
    expect(typeof heat[energy?.key ?? '']).toBe('number');
    const water = (await runtime.execute('water', 'poll', null, signal())) as MeterReading;
    expect(water.meter.id).toBe('12340002');
    expect(water.records.some((record) => record.unit === 'm^3')).toBe(true);
  });

  it('refuses to connect a meter that does not answer, naming its address', async () => {
    await expect(runtime.connect('nobody', signal())).rejects.toThrow(
      'no meter answers at primary address 42',
    );
  });

  it('reads through lost and corrupted answers by repeating the request with the same FCB', async () => {
    await runtime.connect('heat', signal());
    simulator.setFaults({ noAnswer: 0.3, corrupt: 0.2 });
    let ok = 0;
    for (let i = 0; i < 8; i++) {
      try {
        await runtime.execute('heat', 'poll', null, signal());
        ok++;
      } catch {
        // three bad answers in a row happen sometimes; most reads must still succeed
      }
    }
    expect(ok).toBeGreaterThanOrEqual(6);
  });

  it('opens the breaker of a meter that stops answering: its link is reported lost after 5 failed reads', async () => {
    await runtime.connect('heat', signal());
    await runtime.connect('water', signal());
    simulator.setMeterAlive(1, false);
    for (let i = 0; i < 5; i++) {
      await expect(runtime.execute('heat', 'poll', null, signal())).rejects.toThrow('did not answer REQ_UD2');
    }
    const lost = events.find((event) => event.type === 'device' && event.deviceId === 'heat');
    expect(lost).toMatchObject({
      event: { type: 'lost', error: expect.stringContaining('circuit breaker open') },
    });
    // The other meter on the bus is not affected.
    await expect(runtime.execute('water', 'poll', null, signal())).resolves.toBeTruthy();
  });

  it('reports the whole bus lost when the converter is unplugged, and present again within 1 s of the replug', async () => {
    await runtime.connect('heat', signal());
    await simulator.unplug();
    await expect.poll(() => events.some((event) => event.type === 'lost'), { timeout: 3_000 }).toBe(true);
    await expect(runtime.execute('heat', 'poll', null, signal())).rejects.toThrow();
    const replugged = Date.now();
    await simulator.replug();
    await expect.poll(() => events.some((event) => event.type === 'present'), { timeout: 2_000 }).toBe(true);
    expect(Date.now() - replugged).toBeLessThan(1_000);
    await runtime.connect('heat', signal());
    await expect(runtime.execute('heat', 'poll', null, signal())).resolves.toBeTruthy();
  });

  it('scans primary addresses and learns the secondary address of each meter', async () => {
    const primary = await runtime.scan({ kind: 'primary', range: { from: 0, to: 4 } }, signal());
    expect(primary.map((meter) => meter.target)).toEqual([{ primary: 1 }, { primary: 2 }, { primary: 3 }]);
    expect(primary.map((meter) => meter.secondary.slice(0, 8))).toEqual(['12340001', '12340002', '12340003']);
  });

  it('fails a write in flight when the port is closed under it, and refuses writes and flushes meanwhile', async () => {
    const link = await openSerialLink({ path: simulator.link, baud: 38_400 }, signal());
    const writing = link.write(sndNke(1));
    const closing = link.close();
    // serialport would queue the write's drain until an `open` that a closed port never gets.
    await expect(writing).rejects.toThrow('the serial port is being closed');
    await expect(link.write(sndNke(1))).rejects.toThrow(`${simulator.link} is gone`);
    await expect(link.discardInput()).rejects.toThrow(`${simulator.link} is gone`);
    await closing;
  });

  it('runs the reopen and reenumerate recovery steps on the same port', async () => {
    await runtime.connect('heat', signal());
    await runtime.runRecoveryStep('reopen', 'heat', signal());
    await runtime.runRecoveryStep('reenumerate', 'heat', signal());
    await expect(runtime.execute('heat', 'poll', null, signal())).resolves.toBeTruthy();
    await expect(runtime.runRecoveryStep('reflash', 'heat', signal())).rejects.toThrow(
      'no recovery step "reflash"',
    );
  });
});

describe.skipIf(!HAVE_SOCAT)('M-Bus secondary scan over a pty', () => {
  it('walks the id digits where meters collide and finds each meter, even several at one primary address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-mbus-scan-'));
    const link = join(dir, 'ttyScan');
    // All at primary address 0, as meters often come; ids that collide at the first digit and the second.
    const meters = defaultMeters(3).map((meter, index) => ({
      ...meter,
      address: 0,
      id: ['11111111', '22222222', '23456789'][index] ?? meter.id,
    }));
    const simulator = new MbusSimulator({ link, fast: true, seed: 5, baud: 38_400, meters });
    await simulator.start();
    const runtime = new MbusBusRuntime('mbus:scan', {
      path: link,
      baud: 38_400,
      meters: [],
      replyTimeoutMs: 150,
    });
    try {
      const found = await runtime.scan({ kind: 'secondary' }, signal());
      expect(found.map((meter) => meter.secondary.slice(0, 8)).sort()).toEqual([
        '11111111',
        '22222222',
        '23456789',
      ]);
      expect(
        found.every((meter) => 'secondary' in meter.target && meter.target.secondary === meter.secondary),
      ).toBe(true);
    } finally {
      await runtime.close();
      await simulator.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A converter that takes requests and never completes them, like a port closing under a write. */
class StuckLink implements ByteLink {
  readonly path = '/dev/ttyStuck';
  writes = 0;
  constructor(private readonly stuckAt: 'discardInput' | 'write') {}
  write(): Promise<void> {
    this.writes++;
    return this.stuckAt === 'write' ? new Promise(() => undefined) : Promise.resolve();
  }
  discardInput(): Promise<void> {
    return this.stuckAt === 'discardInput' ? new Promise(() => undefined) : Promise.resolve();
  }
  onData(): void {}
  onLost(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe('M-Bus on a port that never completes a request', () => {
  it.each(['discardInput', 'write'] as const)(
    'a request stuck in %s ends with the caller’s signal',
    async (stuckAt) => {
      const master = new MbusMaster(new StuckLink(stuckAt), 2_400);
      const caller = new AbortController();
      const asking = master.transact(sndNke(1), caller.signal);
      setTimeout(() => caller.abort(new Error('poll timed out')), 20);
      await expect(asking).rejects.toThrow('poll timed out');
    },
  );

  it('a stuck poll holding the line gives it up on its signal, and callers that gave up waiting never reach the port', async () => {
    const link = new StuckLink('write');
    const runtime = new MbusBusRuntime('mbus:stuck', {
      path: link.path,
      baud: 2_400,
      meters: [
        { deviceId: 'heat', target: { primary: 1 } },
        { deviceId: 'water', target: { primary: 2 } },
      ],
      openLink: () => Promise.resolve(link),
    });
    try {
      const holder = runtime.connect('heat', AbortSignal.timeout(300));
      const waiter = new AbortController();
      const waiting = runtime.connect('water', waiter.signal);
      waiter.abort(new Error('connect water timed out'));
      const started = Date.now();
      await expect(waiting).rejects.toThrow('connect water timed out');
      // Left the queue while the holder still held the line.
      expect(Date.now() - started).toBeLessThan(200);
      expect(link.writes).toBe(1);
      await expect(holder).rejects.toThrow();
      // The line is free again: the next caller reaches the port.
      await expect(runtime.connect('water', AbortSignal.timeout(50))).rejects.toThrow();
      expect(link.writes).toBe(2);
    } finally {
      await runtime.close();
    }
  });
});
