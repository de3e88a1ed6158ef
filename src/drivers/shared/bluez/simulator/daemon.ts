import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeXml } from '../../../../xml.js';
import { findDbusDaemon } from '../dbusDaemon.js';

export { findDbusDaemon };

// A private dbus-daemon for the fake BlueZ: the gateway under test talks to it exactly as it talks to the
// system bus, without root, without touching the machine's real bluetoothd, and several can run at once.
// dbus-next in this repo has no usocket (stubbed out), so the bus listens on a socket file
// (unix:path=…), never on an abstract socket.

export interface PrivateBusOptions {
  /** The dbus-daemon executable; default: found on PATH. */
  dbusDaemon?: string;
  /** Parent of the bus's temporary directory (default: the OS temp directory). */
  parentDirectory?: string;
  /** How long to wait for the daemon to print its address (default 5000 ms). */
  startTimeoutMs?: number;
}

export interface PrivateBus {
  /** `unix:path=<dir>/bus,guid=…`: what `dbus.sessionBus({ busAddress })` takes. */
  readonly address: string;
  /** The dbus-daemon's process id. */
  readonly pid: number;
  /** Holds the socket and the config; removed by stop(). */
  readonly directory: string;
  /** Kills the daemon (every client is disconnected) and removes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** A session-like bus on a socket file that lets anyone own any name and talk to anyone (a test bus). */
export function busConfig(socketPath: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${escapeXml(socketPath)}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;
}

/**
 * Runs the daemon ("$@") under a small sh watchdog that kills it when its stdin reaches end of file: when
 * stop() closes the pipe, and also when this process dies in any way (even SIGKILL, when no exit hook
 * runs), so a crashed test run leaves no dbus-daemon behind. The daemon's own exit ends the watchdog with
 * its status. Background jobs get /dev/null as stdin in sh, hence the copy of stdin on fd 3. SIGINT is
 * ignored (and so by the daemon too): Ctrl-C reaches the whole process group, and the daemon must stay
 * until the simulator has stopped and closes the pipe, not die first under its clients.
 */
const WATCHDOG = `trap '' INT
exec 3<&0
"$@" </dev/null &
daemon=$!
echo "pid $daemon"
( read -r _ignored <&3; kill -TERM "$daemon" 2>/dev/null ) &
reader=$!
wait "$daemon"
status=$?
kill "$reader" 2>/dev/null
exit "$status"`;

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Starts a private dbus-daemon and resolves once it accepts connections (it has printed its address). */
export async function startPrivateBus(options: PrivateBusOptions = {}): Promise<PrivateBus> {
  const executable = options.dbusDaemon ?? findDbusDaemon();
  if (executable === undefined) {
    throw new Error('dbus-daemon is not installed (Debian: apt-get install dbus-daemon)');
  }
  const directory = await mkdtemp(join(options.parentDirectory ?? tmpdir(), 'fieldbridge-bluez-'));
  const configPath = join(directory, 'bus.conf');
  await writeFile(configPath, busConfig(join(directory, 'bus')));

  // --nofork keeps the daemon the watchdog's child, so closing the watchdog's stdin always reaches it.
  const child = spawn(
    '/bin/sh',
    ['-c', WATCHDOG, 'sh', executable, `--config-file=${configPath}`, '--print-address', '--nofork'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  // Closing stdin after the watchdog died (daemon crashed) must not throw EPIPE at the process.
  child.stdin?.on('error', () => undefined);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    // Kept for the error message only; the daemon warns about fd limits when not root, harmlessly.
    stderr = (stderr + chunk).slice(-2000);
  });

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      child.stdin?.end();
      await waitForExit(child, 2000);
      await rm(directory, { recursive: true, force: true });
    })());

  try {
    const timeoutMs = options.startTimeoutMs ?? 5000;
    const { address, pid } = await new Promise<{ address: string; pid: number }>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(
        () => reject(new Error(`dbus-daemon printed no address within ${timeoutMs} ms`)),
        timeoutMs,
      );
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => {
        output += chunk;
        // Two complete lines, in either order: the watchdog's "pid N" and the daemon's address.
        const lines = output.split('\n').slice(0, -1);
        const pidLine = lines.find((line) => /^pid \d+$/.test(line));
        const addressLine = lines.find((line) => !/^pid \d+$/.test(line));
        if (pidLine === undefined || addressLine === undefined) return;
        clearTimeout(timer);
        resolve({ address: addressLine.trim(), pid: Number(pidLine.slice(4)) });
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const how = signal ?? `code ${code}`;
        reject(new Error(`dbus-daemon exited (${how}) before it was ready: ${stderr.trim()}`));
      });
    });
    if (!address.startsWith('unix:path=')) {
      throw new Error(`dbus-daemon listens on ${address}, not unix:path=…`);
    }
    return { address, pid, directory, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
