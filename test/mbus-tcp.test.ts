import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recoveryStepsFor } from '../src/drivers/registry.js';
import type { BusEvent } from '../src/drivers/contract.js';
import { FrameAssembler } from '../src/drivers/mbus/codec/frames.js';
import { MbusMaster } from '../src/drivers/mbus/master.js';
import { MbusBusRuntime } from '../src/drivers/mbus/runtime.js';
import { MbusBus } from '../src/drivers/mbus/simulator/slave.js';
import { openTcpLink } from '../src/drivers/mbus/tcpLink.js';
import { MbusSimulator } from '../src/drivers/mbus/simulator/simulator.js';
import { defaultMeters } from '../src/drivers/mbus/simulator/meters.js';
import { parseConfig } from '../src/config/index.js';
import { problemsOf } from './helpers/config.js';
import { eventually } from './helpers/eventually.js';

// M-Bus through a level converter on Ethernet (transparent TCP): the same master, scans and timeouts
// as on a serial port, over a socket; a converter that reboots, one that leaves the connection
// half-open and one that accepts but never answers all end in a failure the ladder can act on.

const signal = () => AbortSignal.timeout(20_000);

describe('M-Bus TCP converter config', () => {
  it('takes port: tcp://host:port on mbus lines and devices, and gives them the reconnect ladder', () => {
    const config = parseConfig(
      [
        'mbus:',
        '  - { port: "tcp://192.168.1.50:10001" }',
        'devices:',
        '  - { id: heat, driver: mbus, port: "tcp://[fd00::5]:10001", address: 1 }',
      ].join('\n'),
      {},
    );
    expect(config.mbus[0]?.port).toBe('tcp://192.168.1.50:10001');
    const device = config.devices[0];
    expect(device?.bus).toBe('mbus:tcp://[fd00::5]:10001');
    expect(device && recoveryStepsFor(device).map((step) => step.name)).toEqual([
      'reconnect',
      'restart_actor',
    ]);
  });

  it('names a tcp:// port without a port number or with one out of range', () => {
    expect(problemsOf('mbus:\n  - { port: "tcp://converter" }\n').join('\n')).toContain(
      'mbus[0].port: "tcp://converter" is not a TCP converter address',
    );
    expect(
      problemsOf('devices:\n  - { id: heat, driver: mbus, port: "tcp://converter:70000" }\n').join('\n'),
    ).toContain('expected tcp://host:port with a port 1-65535');
  });
});

describe('M-Bus over TCP against the simulator served as a converter', () => {
  let simulator: MbusSimulator;
  let runtime: MbusBusRuntime;
  let events: BusEvent[];

  beforeEach(async () => {
    const meters = defaultMeters(3);
    simulator = new MbusSimulator({ tcpPort: 0, baud: 9600, seed: 2, meters });
    await simulator.start();
    runtime = new MbusBusRuntime('mbus:tcp', {
      path: simulator.link,
      baud: 9600,
      meters: [
        { deviceId: 'heat', target: { primary: 1 } },
        { deviceId: 'water', target: { secondary: '12340002FFFFFFFF' } },
      ],
      replyTimeoutMs: 100,
      silentLinkMs: 1_500,
    });
    events = [];
    runtime.watchBus((event) => events.push(event));
  });
  afterEach(async () => {
    await runtime.close();
    await simulator.stop();
  });

  it('reads meters by primary and secondary address and scans, as on a serial port', async () => {
    expect(simulator.link).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    await runtime.connect('heat', signal());
    await runtime.connect('water', signal());
    await expect(runtime.execute('heat', 'poll', null, signal())).resolves.toMatchObject({
      meter: { id: '12340001' },
    });
    await expect(runtime.execute('water', 'poll', null, signal())).resolves.toMatchObject({
      meter: { id: '12340002' },
    });
    const found = await runtime.scan({ kind: 'primary', range: { from: 0, to: 4 } }, signal());
    expect(found.map((meter) => meter.target)).toEqual([{ primary: 1 }, { primary: 2 }, { primary: 3 }]);
  });

  it('a converter reboot loses the line at once; once it is back, reconnect heals it', async () => {
    await runtime.connect('heat', signal());
    await simulator.unplug();
    await expect.poll(() => events.some((event) => event.type === 'lost'), { timeout: 2_000 }).toBe(true);
    // While it is off, a connection is refused: a failure, not a hang.
    await expect(runtime.runRecoveryStep('reconnect', 'heat', signal())).rejects.toThrow('cannot connect');
    await simulator.replug();
    await runtime.runRecoveryStep('reconnect', 'heat', signal());
    await runtime.connect('heat', signal());
    await expect(runtime.execute('heat', 'poll', null, signal())).resolves.toBeTruthy();
  });

  it('a half-open connection is noticed as a silent line and reported lost; reconnect heals it', async () => {
    await runtime.connect('heat', signal());
    await runtime.execute('heat', 'poll', null, signal());
    simulator.halfOpen();
    const lost = () => events.find((event) => event.type === 'lost');
    await eventually(
      async () => {
        if (lost() !== undefined) return true;
        await expect(runtime.execute('heat', 'poll', null, signal())).rejects.toThrow();
        return false;
      },
      { what: 'the half-open line reported lost', timeoutMs: 6_000, intervalMs: 0 },
    );
    expect(lost()).toMatchObject({ error: expect.stringContaining('half-open') });
    await runtime.runRecoveryStep('reconnect', 'heat', signal());
    await runtime.connect('heat', signal());
    await expect(runtime.execute('heat', 'poll', null, signal())).resolves.toBeTruthy();
  });

  it('a connect probe on a line silent past the limit reports it lost too', async () => {
    await runtime.connect('heat', signal());
    simulator.halfOpen();
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    await expect(runtime.connect('water', signal())).rejects.toThrow('no meter answers');
    expect(events.find((event) => event.type === 'lost')).toMatchObject({
      error: expect.stringContaining('half-open'),
    });
  });
});

describe('M-Bus over TCP: a converter that accepts but never answers', () => {
  let server: Server;
  const accepted = new Set<Socket>();
  beforeEach(async () => {
    server = createServer((socket) => accepted.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterEach(async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('fails the connect within its bound instead of hanging', async () => {
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const runtime = new MbusBusRuntime('mbus:mute', {
      path: `tcp://127.0.0.1:${port}`,
      baud: 2400,
      meters: [{ deviceId: 'heat', target: { primary: 1 } }],
    });
    try {
      const started = Date.now();
      await expect(runtime.connect('heat', signal())).rejects.toThrow(
        'no meter answers at primary address 1',
      );
      // Two probes of one answer window each (about 0.3 s at 2400 Bd), nothing more.
      expect(Date.now() - started).toBeLessThan(1_500);
    } finally {
      await runtime.close();
    }
  });
});

describe('M-Bus over TCP: an answer split across segments', () => {
  let server: Server;
  const accepted = new Set<Socket>();
  let requests = 0;
  beforeEach(async () => {
    requests = 0;
    const meters = defaultMeters(2);
    const bus = new MbusBus({ meters, startedAt: Date.now(), baud: 2400, fast: true });
    // A converter whose second segment of the answer is held up on the network (a lost segment is
    // resent after 200 ms at the least): the meter sent it without a gap, the master gets a pause.
    server = createServer((socket) => {
      accepted.add(socket);
      const assembler = new FrameAssembler();
      socket.on('data', (chunk) => {
        assembler.push(chunk);
        for (let frame = assembler.next(); frame instanceof Buffer; frame = assembler.next()) {
          requests++;
          const answer = bus.handle(frame, Date.now()).answer?.bytes;
          if (answer === undefined) continue;
          setTimeout(() => socket.write(answer.subarray(0, 20)), 20);
          setTimeout(() => socket.write(answer.subarray(20)), 20 + 250);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterEach(async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('waits for the rest of a frame held up on the network, as libmbus does, instead of asking again', async () => {
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const link = await openTcpLink({ path: `tcp://127.0.0.1:${port}`, baud: 2400 }, signal());
    try {
      const master = new MbusMaster(link, 2400);
      const readout = await master.read({ primary: 2 }, signal());
      expect(readout.secondary.slice(0, 8)).toBe('12340002');
      expect(requests).toBe(1);
    } finally {
      await link.close();
    }
  });
});
