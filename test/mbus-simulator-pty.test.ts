import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameAssembler } from '../src/drivers/mbus/codec/frames.js';
import { reqUd2, sndNke } from '../src/drivers/mbus/codec/master.js';
import { decodeTelegram } from '../src/drivers/mbus/codec/telegram.js';
import { socatAvailable } from '../src/drivers/mbus/simulator/pty.js';
import { MbusSimulator } from '../src/drivers/mbus/simulator/simulator.js';
import { createSimulateCommand, type SimulateRuntime } from '../src/cli/simulate.js';
import type { CliCommand } from '../src/cli/io.js';

// The simulator over a real pty pair: the test plays the gateway and opens `link` with serialport, as
// the M-Bus driver does. Needs socat; without it every test here is skipped with the reason.

const HAVE_SOCAT = socatAvailable();
if (!HAVE_SOCAT) console.warn('mbus-simulator-pty: socat is not installed (apt-get install socat); skipping');

let directory: string;
const simulators: MbusSimulator[] = [];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'fieldbridge-mbus-sim-'));
});

afterAll(async () => {
  for (const simulator of simulators) await simulator.stop();
  await rm(directory, { recursive: true, force: true });
});

function openGatewayEnd(path: string): Promise<SerialPort> {
  const port = new SerialPort({
    path,
    baudRate: 2400,
    dataBits: 8,
    parity: 'even',
    stopBits: 1,
    autoOpen: false,
  });
  return new Promise((resolve, reject) => port.open((error) => (error ? reject(error) : resolve(port))));
}

function closePort(port: SerialPort): Promise<void> {
  return new Promise((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
}

/** Sends a request and resolves with the first whole frame that comes back. */
function exchange(port: SerialPort, request: Buffer, timeoutMs = 2000): Promise<Buffer> {
  const assembler = new FrameAssembler();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      port.off('data', onData);
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    function onData(chunk: Buffer) {
      assembler.push(chunk);
      const next = assembler.next();
      if (!(next instanceof Buffer)) return;
      clearTimeout(timer);
      port.off('data', onData);
      resolve(next);
    }
    port.on('data', onData);
    port.write(request);
  });
}

async function startSimulator(name: string, options: { fast?: boolean } = {}): Promise<MbusSimulator> {
  const log: string[] = [];
  const simulator = new MbusSimulator({
    link: join(directory, name),
    fast: options.fast ?? true,
    log: (line) => log.push(line),
  });
  simulators.push(simulator);
  await simulator.start();
  return simulator;
}

describe.skipIf(!HAVE_SOCAT)('M-Bus simulator on a socat pty', { timeout: 10_000 }, () => {
  it('answers REQ_UD2 on the gateway end with a telegram that decodes', async () => {
    const simulator = await startSimulator('ttyREAD');
    const port = await openGatewayEnd(simulator.link);
    try {
      expect(await exchange(port, sndNke(2))).toEqual(Buffer.from([0xe5]));
      const telegram = decodeTelegram(await exchange(port, reqUd2(2, true)));
      expect(telegram.slave).toMatchObject({ id: '12340002', manufacturer: 'SEN' });
    } finally {
      await closePort(port);
    }
  });

  it('takes the time the reply needs on the wire at 2400 Bd, first byte after the turnaround', async () => {
    const simulator = await startSimulator('ttySLOW', { fast: false });
    const port = await openGatewayEnd(simulator.link);
    try {
      let firstByteAt: number | undefined;
      port.once('data', () => (firstByteAt = performance.now()));
      const started = performance.now();
      const reply = await exchange(port, reqUd2(1, true));
      const elapsed = performance.now() - started;
      const wireMs = (reply.length * 11_000) / 2400;
      expect(elapsed).toBeGreaterThanOrEqual(wireMs);
      // The answer streams in: it starts long before it ends (a master's reply timeout is ~300 ms).
      expect((firstByteAt ?? Infinity) - started).toBeLessThan(wireMs / 2);
    } finally {
      await closePort(port);
    }
  });

  it('unplug hangs up the gateway end and removes the link; replug brings it back', async () => {
    const simulator = await startSimulator('ttyPLUG');
    const port = await openGatewayEnd(simulator.link);
    const closed = new Promise<void>((resolve) => port.on('close', () => resolve()));
    const errors: string[] = [];
    port.on('error', (error: Error) => errors.push(error.message));
    port.on('data', () => undefined);
    await simulator.unplug();
    expect(existsSync(simulator.link)).toBe(false);
    // The hang-up reaches serialport either as a failed poll (close at once) or not at all: a hung-up pty
    // reads as end-of-file, which it ignores (the gateway watches the path for that). Then the gateway's
    // next request fails with EIO, as it does on a pulled USB converter.
    if (port.isOpen) {
      const written = new Promise<void>((resolve) => port.write(sndNke(1), () => resolve()));
      await Promise.race([written, closed]);
      if (errors.length > 0) expect(errors[0]).toMatch(/EIO/);
    }
    await closed;
    expect(port.isOpen).toBe(false);
    await expect(openGatewayEnd(simulator.link)).rejects.toThrow(/ENOENT|No such file/);

    await simulator.replug();
    expect(existsSync(simulator.link)).toBe(true);
    const again = await openGatewayEnd(simulator.link);
    try {
      expect(await exchange(again, sndNke(1))).toEqual(Buffer.from([0xe5]));
    } finally {
      await closePort(again);
    }
    await simulator.stop();
    expect(existsSync(simulator.link)).toBe(false);
  });

  it('one answer at a time: a new request cancels an answer not yet started', async () => {
    const log: string[] = [];
    const simulator = new MbusSimulator({
      link: join(directory, 'ttyBUSY'),
      fast: true,
      faults: { slowMs: 150 },
      log: (line) => log.push(line),
    });
    simulators.push(simulator);
    await simulator.start();
    const port = await openGatewayEnd(simulator.link);
    try {
      const received: Buffer[] = [];
      port.on('data', (chunk: Buffer) => received.push(chunk));
      port.write(sndNke(1));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const answer = exchange(port, sndNke(2));
      expect(await answer).toEqual(Buffer.from([0xe5]));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(Buffer.concat(received)).toEqual(Buffer.from([0xe5]));
      expect(log).toContain('dropped an answer not yet started: the master sent a new request first');
    } finally {
      await closePort(port);
    }
  });

  it('notices socat dying on its own, cleans up the links, and can be replugged', async () => {
    const log: string[] = [];
    const simulator = new MbusSimulator({
      link: join(directory, 'ttyCRASH'),
      fast: true,
      log: (line) => log.push(line),
    });
    simulators.push(simulator);
    await simulator.start();
    process.kill(simulator.socatPid ?? 0, 'SIGKILL');
    for (let i = 0; i < 200 && simulator.state !== 'unplugged'; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(simulator.state).toBe('unplugged');
    expect(log.at(-1)).toMatch(/^socat exited \(signal SIGKILL\).*the link is gone until "replug"$/);
    for (let i = 0; i < 100 && existsSync(simulator.link); i++) await new Promise((r) => setTimeout(r, 10));
    expect(existsSync(simulator.link)).toBe(false);
    await simulator.replug();
    const port = await openGatewayEnd(simulator.link);
    try {
      expect(await exchange(port, sndNke(3))).toEqual(Buffer.from([0xe5]));
    } finally {
      await closePort(port);
    }
  });

  it('the simulate command serves until SIGTERM and obeys stdin commands', async () => {
    const stdin = new PassThrough();
    const handlers = new Map<string, () => void>();
    const runtime: SimulateRuntime = {
      stdin,
      onSignal(signal, handler) {
        handlers.set(signal, handler);
        return () => handlers.delete(signal);
      },
    };
    let stdout = '';
    const command: CliCommand = createSimulateCommand(runtime);
    const link = join(directory, 'ttyCLI');
    const io = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stdout += text) },
      env: {},
      cwd: directory,
    };
    const exit = command.run(['mbus', '--link', link, '--meters', '2', '--fast'], {
      io,
      dependencies: { runGateway: async () => 0 },
    });
    const waitFor = async (text: string) => {
      for (let i = 0; i < 200 && !stdout.includes(text); i++) await new Promise((r) => setTimeout(r, 10));
      expect(stdout).toContain(text);
    };
    await waitFor(`serving 2 meters (1:heat, 2:water) on ${link} at 2400 Bd`);
    stdin.write('noanswer 0.25\nmeter 2 dead\nstatus\nbogus\n');
    await waitFor('error: unknown command "bogus"');
    expect(stdout).toContain('faults: noanswer 0.25, corrupt 0, slow 0 ms');
    expect(stdout).toContain('meter 2 (12340002 SEN water) is dead');
    expect(stdout).toMatch(
      /meter 2 \(12340002 SEN water\) secondary 12340002AE4C0107, 1 telegram\(s\), dead/,
    );
    handlers.get('SIGUSR1')?.();
    await waitFor('unplugged');
    expect(existsSync(link)).toBe(false);
    handlers.get('SIGUSR2')?.();
    await waitFor('replugged');
    expect(existsSync(link)).toBe(true);
    handlers.get('SIGTERM')?.();
    expect(await exit).toBe(0);
    expect(existsSync(link)).toBe(false);
    expect(handlers.size).toBe(0);
  });
});

describe('M-Bus simulator without socat', () => {
  it('says that socat is missing and how to install it', async () => {
    const simulator = new MbusSimulator({ link: join(directory, 'ttyNONE'), socat: '/nonexistent/socat' });
    await expect(simulator.start()).rejects.toThrow(
      'socat not found ("/nonexistent/socat"); install it (Debian: apt-get install socat)',
    );
    expect(simulator.state).toBe('stopped');
  });

  it('refuses a link in a directory that does not exist', async () => {
    const simulator = new MbusSimulator({ link: join(directory, 'missing', 'tty') });
    await expect(simulator.start()).rejects.toThrow(/directory .*missing does not exist/);
  });
});
