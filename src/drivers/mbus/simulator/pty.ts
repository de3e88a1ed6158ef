import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { lstat, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

// A pair of connected pseudo-terminals made by socat: the gateway opens `link` as if it were a USB M-Bus
// adapter, the simulator opens `link.sim`. Killing socat is the simulator's "unplug": both ends hang up
// and the links disappear, as the device node of a pulled USB adapter does.

export interface SocatPtyOptions {
  /** Path of the gateway's end (a symlink socat creates). */
  link: string;
  /** Path of the simulator's end; default `<link>.sim`. */
  simLink?: string;
  /** The socat executable; default `socat` from PATH. */
  socat?: string;
  /** How long to wait for socat to create the links. Default 5000 ms. */
  startTimeoutMs?: number;
  /** socat exited without stop() being called (killed from outside, crashed). */
  onUnexpectedExit?: (detail: string) => void;
}

/** Whether socat can be run, for tests that skip without it. */
export function socatAvailable(socat = 'socat'): boolean {
  const result = spawnSync(socat, ['-V'], { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Removes a leftover symlink (from a socat that was SIGKILLed); anything else at the path is an error. */
async function removeStaleLink(path: string): Promise<void> {
  let isLink: boolean;
  try {
    isLink = (await lstat(path)).isSymbolicLink();
  } catch {
    return;
  }
  if (!isLink) throw new Error(`${path} exists and is not a symlink; refusing to replace it with a pty`);
  await unlink(path);
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class SocatPty {
  readonly link: string;
  readonly simLink: string;
  readonly #socat: string;
  readonly #startTimeoutMs: number;
  readonly #onUnexpectedExit: ((detail: string) => void) | undefined;
  #process: ChildProcess | undefined;
  #exited: Promise<void> | undefined;
  #stopping = false;
  #stderr = '';

  constructor(options: SocatPtyOptions) {
    this.link = options.link;
    this.simLink = options.simLink ?? `${options.link}.sim`;
    this.#socat = options.socat ?? 'socat';
    this.#startTimeoutMs = options.startTimeoutMs ?? 5000;
    this.#onUnexpectedExit = options.onUnexpectedExit;
  }

  get running(): boolean {
    return this.#process !== undefined;
  }

  /** socat's process id while it runs. */
  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** Starts socat and resolves once both links exist and socat is moving data. */
  async start(): Promise<void> {
    if (this.#process !== undefined) return;
    if (!(await exists(dirname(this.link)))) {
      throw new Error(`cannot create ${this.link}: directory ${dirname(this.link)} does not exist`);
    }
    await removeStaleLink(this.link);
    await removeStaleLink(this.simLink);
    this.#stderr = '';
    this.#stopping = false;
    const child = spawn(
      this.#socat,
      ['-d', '-d', `pty,raw,echo=0,link=${this.link}`, `pty,raw,echo=0,link=${this.simLink}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.#process = child;
    let spawnError: Error | undefined;
    child.on('error', (error) => (spawnError = error));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      // Only the tail matters (why it failed); socat -d -d is chatty.
      this.#stderr = (this.#stderr + text).slice(-4000);
    });
    this.#exited = new Promise<void>((resolve) => {
      child.on('close', (code, signal) => {
        const detail = signal === null ? `exit code ${code}` : `signal ${signal}`;
        if (this.#process === child) this.#process = undefined;
        void this.#removeLinks().finally(() => {
          resolve();
          if (!this.#stopping) this.#onUnexpectedExit?.(`socat exited (${detail}): ${this.#lastLines()}`);
        });
      });
    });

    const deadline = Date.now() + this.#startTimeoutMs;
    // socat says "starting data transfer loop" once both ptys are open; the links exist just before.
    while (!(this.#stderr.includes('starting data transfer loop') && (await exists(this.link)))) {
      if (spawnError !== undefined) {
        this.#process = undefined;
        this.#stopping = true; // a socat that never ran did not exit unexpectedly
        const missing = (spawnError as NodeJS.ErrnoException).code === 'ENOENT';
        throw new Error(
          missing
            ? `socat not found ("${this.#socat}"); install it (Debian: apt-get install socat)`
            : `cannot run socat: ${spawnError.message}`,
        );
      }
      if (this.#process === undefined) throw new Error(`socat failed to start: ${this.#lastLines()}`);
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`socat did not create ${this.link} within ${this.#startTimeoutMs} ms`);
      }
      await delay(10);
    }
  }

  /** Kills socat (the gateway's end hangs up) and waits until it is gone and the links are removed. */
  async stop(): Promise<void> {
    const child = this.#process;
    const exited = this.#exited;
    if (child === undefined || exited === undefined) return;
    this.#stopping = true;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }

  #lastLines(): string {
    const lines = this.#stderr.trim().split('\n');
    return lines.slice(-3).join(' | ') || '(no output)';
  }

  async #removeLinks(): Promise<void> {
    // socat removes them on SIGTERM, not when it is SIGKILLed or crashes.
    for (const path of [this.link, this.simLink]) await removeStaleLink(path).catch(() => undefined);
  }
}
