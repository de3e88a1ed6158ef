import { execFile } from 'node:child_process';
import { errorText } from '../errorText.js';

// systemd's readiness and watchdog protocol (sd_notify) without a native module: Node cannot send on a
// unix datagram socket, so each message goes through `systemd-notify` (part of systemd itself, so it is
// there wherever NOTIFY_SOCKET is). It runs as a child process, which is why the unit file says
// NotifyAccess=all. Outside systemd (no NOTIFY_SOCKET) every call is a no-op.

export type NotifyRunner = (args: readonly string[], socket: string) => Promise<void>;

const runSystemdNotify: NotifyRunner = (args, socket) =>
  new Promise((resolve, reject) => {
    execFile(
      'systemd-notify',
      [...args],
      { timeout: 5_000, env: { ...process.env, NOTIFY_SOCKET: socket } },
      (error) => (error ? reject(new Error(`systemd-notify failed: ${error.message}`)) : resolve()),
    );
  });

/** Characters systemd takes literally in a STATUS= line: one line, no control characters. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  return text.replace(/[\u0000-\u001f]+/g, ' ').slice(0, 200);
}

export class SdNotify {
  readonly enabled: boolean;
  readonly #socket: string;
  /** Half of WatchdogSec (systemd's advice), or undefined when the unit has no watchdog. */
  readonly watchdogIntervalMs: number | undefined;
  #lastStatus: string | undefined;

  constructor(
    env: Record<string, string | undefined> = process.env,
    private readonly run: NotifyRunner = runSystemdNotify,
    private readonly pid: number = process.pid,
  ) {
    this.#socket = env.NOTIFY_SOCKET ?? '';
    this.enabled = this.#socket !== '';
    const usec = Number(env.WATCHDOG_USEC);
    const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === pid;
    this.watchdogIntervalMs =
      this.enabled && forUs && usec > 0 ? Math.max(1, Math.floor(usec / 2_000)) : undefined;
  }

  /** Sends `KEY=value` fields; failures are returned, never thrown at the caller's feet. */
  async send(fields: Record<string, string>): Promise<string | undefined> {
    if (!this.enabled) return undefined;
    const args = [`--pid=${this.pid}`, ...Object.entries(fields).map(([key, value]) => `${key}=${value}`)];
    try {
      await this.run(args, this.#socket);
      return undefined;
    } catch (error) {
      return errorText(error);
    }
  }

  ready(status: string): Promise<string | undefined> {
    this.#lastStatus = oneLine(status);
    return this.send({ READY: '1', STATUS: this.#lastStatus });
  }

  /** STATUS= only when it changed (systemctl status shows the latest). */
  status(status: string): Promise<string | undefined> {
    const line = oneLine(status);
    if (line === this.#lastStatus) return Promise.resolve(undefined);
    this.#lastStatus = line;
    return this.send({ STATUS: line });
  }

  watchdog(): Promise<string | undefined> {
    return this.send({ WATCHDOG: '1' });
  }

  stopping(): Promise<string | undefined> {
    return this.send({ STOPPING: '1', STATUS: 'stopping' });
  }
}
