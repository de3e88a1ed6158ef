import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SdNotify } from '../src/ops/sdNotify.js';
import { SystemdWatchdog } from '../src/ops/watchdog.js';
import { advance, simulatedClock } from './helpers/time.js';

// sd_notify through the real systemd-notify, to a fake NOTIFY_SOCKET: a unix datagram socket served by a
// few lines of Python that print every message and, like systemd, close the file descriptor a BARRIER=1
// message carries (systemd-notify waits for that before it exits, so its message is never orphaned).

const FAKE_SYSTEMD = `
import array, socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    data, ancdata, flags, addr = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
            for fd in fds:
                os.close(fd)
    print(data.decode().replace(chr(10), " | "), flush=True)
`;

const PYTHON = ['/usr/bin/python3', '/usr/local/bin/python3'].find((path) => existsSync(path)) ?? 'python3';
const HAVE_TOOLS = existsSync('/usr/bin/systemd-notify');
if (!HAVE_TOOLS)
  console.warn('skipping the sd_notify tests: systemd-notify is missing (Debian package systemd)');

describe.skipIf(!HAVE_TOOLS)('sd_notify', () => {
  let dir: string;
  let listener: ChildProcess;
  const received: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fieldbridge-notify-'));
    const socket = join(dir, 'notify.sock');
    listener = spawn(PYTHON, ['-c', FAKE_SYSTEMD, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
    listener.stdout?.on('data', (chunk: Buffer) =>
      received.push(...chunk.toString().split('\n').filter(Boolean)),
    );
    for (let i = 0; i < 100 && !existsSync(socket); i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    process.env.FIELDBRIDGE_TEST_NOTIFY_SOCKET = socket;
  });
  afterAll(() => {
    listener.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const notifier = (extra: Record<string, string> = {}) =>
    new SdNotify({ NOTIFY_SOCKET: process.env.FIELDBRIDGE_TEST_NOTIFY_SOCKET, ...extra });

  it('sends READY, STATUS (only when it changes), WATCHDOG and STOPPING', async () => {
    const notify = notifier();
    expect(notify.enabled).toBe(true);
    expect(await notify.ready('online: 3 devices')).toBeUndefined();
    await notify.status('online: 3 devices');
    await notify.status('degraded: heat1 offline');
    await notify.watchdog();
    await notify.stopping();
    await expect.poll(() => received.join('\n')).toContain('STOPPING=1');
    const all = received.join('\n');
    expect(all).toContain('READY=1');
    expect(all).toContain('STATUS=online: 3 devices');
    expect(all.match(/STATUS=online: 3 devices/g)).toHaveLength(1);
    expect(all).toContain('STATUS=degraded: heat1 offline');
    expect(all).toContain('WATCHDOG=1');
  });

  it('is a no-op outside systemd, and takes half of WatchdogSec as its interval', () => {
    expect(new SdNotify({}).enabled).toBe(false);
    expect(notifier({ WATCHDOG_USEC: '120000000' }).watchdogIntervalMs).toBe(60_000);
    expect(notifier({ WATCHDOG_USEC: '120000000', WATCHDOG_PID: '1' }).watchdogIntervalMs).toBeUndefined();
  });

  it('ticks on the clock it is given (simulated time)', async () => {
    const pings: string[][] = [];
    const notify = new SdNotify({ NOTIFY_SOCKET: '/x' }, async (args) => void pings.push([...args]));
    const clock = simulatedClock();
    const watchdog = new SystemdWatchdog({ notify, intervalMs: 60_000, probes: [], log: () => {}, clock });
    watchdog.start();
    try {
      await advance(clock, 59_000, 1_000);
      expect(pings).toHaveLength(0);
      await advance(clock, 121_000, 1_000);
      expect(pings.filter((args) => args.includes('WATCHDOG=1'))).toHaveLength(3);
    } finally {
      watchdog.stop();
    }
  });

  it('pings the watchdog only while every probe passes and the event loop is not blocked', async () => {
    const pings: string[][] = [];
    const notify = new SdNotify({ NOTIFY_SOCKET: '/x' }, async (args) => void pings.push([...args]));
    let supervisorAlive = true;
    let clock = 0;
    const logged: string[] = [];
    const watchdog = new SystemdWatchdog({
      notify,
      intervalMs: 1_000,
      probes: [
        { name: 'supervisor', check: () => (supervisorAlive ? undefined : 'the supervision tree stopped') },
      ],
      log: (line) => logged.push(line),
      now: () => clock,
    });
    watchdog.start();
    watchdog.stop(); // ticks are driven by hand below
    clock = 1_000;
    expect(await watchdog.tick()).toBeUndefined();
    supervisorAlive = false;
    clock = 2_000;
    expect(await watchdog.tick()).toBe('supervisor: the supervision tree stopped');
    clock = 3_000;
    await watchdog.tick();
    supervisorAlive = true;
    clock = 9_000; // the tick came 5 s late: the event loop was blocked
    expect(await watchdog.tick()).toMatch(/event loop blocked for 5000 ms/);
    clock = 10_000;
    expect(await watchdog.tick()).toBeUndefined();
    expect(pings.filter((args) => args.includes('WATCHDOG=1'))).toHaveLength(2);
    // Each failure is said once, and the recovery once.
    expect(logged).toEqual([
      'not pinging the systemd watchdog: supervisor: the supervision tree stopped',
      'not pinging the systemd watchdog: event loop blocked for 5000 ms',
      'pinging the systemd watchdog again',
    ]);
  });
});
