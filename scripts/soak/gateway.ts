import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

// fieldbridge as the soak runs it: a separate process (`src/cli.ts start` through tsx, as the
// end-to-end tests run it), its output appended to one log file across restarts. An exit the soak did
// not cause is a crash: it is recorded with the last lines of output and the process is started again,
// as a service manager would, so the soak goes on and reports it at the end.

const CLI_PATH = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
/** Resolved here, not from the child's working directory. */
const TSX_LOADER = import.meta.resolve('tsx');
const TAIL_LINES = 60;

/** Gateways still running; if the soak itself dies, they must not outlive it (they are detached). */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface GatewayCrash {
  /** ms since the soak started. */
  t: number;
  pid: number;
  code: number | null;
  signal: string | null;
  /** The last lines the process printed. */
  tail: string[];
}

export class GatewayProcess {
  readonly crashes: GatewayCrash[] = [];
  /** Every process started, with when (ms since the soak started). */
  readonly starts: { pid: number; t: number }[] = [];
  readonly #configPath: string;
  readonly #cwd: string;
  readonly #log: WriteStream;
  readonly #origin: number;
  readonly #onCrash: (crash: GatewayCrash) => void;
  #child: ChildProcess | undefined;
  #expectingExit = false;
  #tail: string[] = [];
  #exited: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: {
    configPath: string;
    cwd: string;
    logPath: string;
    origin: number;
    onCrash: (crash: GatewayCrash) => void;
  }) {
    this.#configPath = options.configPath;
    this.#cwd = options.cwd;
    this.#log = createWriteStream(options.logPath, { flags: 'a' });
    this.#origin = options.origin;
    this.#onCrash = options.onCrash;
  }

  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  /** Whether the output so far (of the current process) matches. */
  printed(pattern: RegExp): boolean {
    return this.#tail.some((line) => pattern.test(line));
  }

  start(): void {
    if (this.#closed || this.running) return;
    this.#expectingExit = false;
    this.#tail = [];
    const child = spawn(
      process.execPath,
      ['--import', TSX_LOADER, CLI_PATH, 'start', '--config', this.#configPath],
      {
        cwd: this.#cwd,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group: a Ctrl-C in the soak's terminal must reach the soak (which stops the
        // gateway in order), not the gateway directly, or the gateway's exit would look like a crash.
        detached: true,
      },
    );
    this.#child = child;
    live.add(child);
    child.once('exit', () => live.delete(child));
    const t = Date.now() - this.#origin;
    if (child.pid !== undefined) this.starts.push({ pid: child.pid, t });
    this.#log.write(
      `\n===== soak: gateway started (pid ${child.pid}) at +${(t / 1000).toFixed(1)} s =====\n`,
    );
    const collect = (chunk: Buffer) => {
      this.#log.write(chunk);
      this.#tail.push(...chunk.toString().split('\n').filter(Boolean));
      if (this.#tail.length > TAIL_LINES * 2) this.#tail = this.#tail.slice(-TAIL_LINES);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.#exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        const at = Date.now() - this.#origin;
        this.#log.write(
          `===== soak: gateway pid ${child.pid} exited (code ${code}, signal ${signal}) at +${(at / 1000).toFixed(1)} s =====\n`,
        );
        if (!this.#expectingExit && !this.#closed) {
          const crash = { t: at, pid: child.pid ?? 0, code, signal, tail: this.#tail.slice(-TAIL_LINES) };
          this.crashes.push(crash);
          this.#onCrash(crash);
        }
        resolve();
      }),
    );
  }

  /** Ends the process with `signal` (SIGKILL: the fault; SIGTERM: a clean stop) and waits for it. */
  async kill(signal: NodeJS.Signals, timeoutMs = 10_000): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    this.#expectingExit = true;
    child.kill(signal);
    const gone = await Promise.race([
      this.#exited.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs)),
    ]);
    if (!gone) {
      child.kill('SIGKILL');
      await this.#exited;
    }
  }

  /** Stops for good (SIGTERM, then SIGKILL after the timeout); later exits are not crashes. */
  async close(timeoutMs = 10_000): Promise<void> {
    await this.kill('SIGTERM', timeoutMs);
    this.#closed = true;
    await new Promise<void>((resolve) => this.#log.end(() => resolve()));
  }

  /** Exit code of the last clean stop, for the report (undefined while running). */
  get lastExit(): { code: number | null; signal: string | null } | undefined {
    const child = this.#child;
    if (!child || (child.exitCode === null && child.signalCode === null)) return undefined;
    return { code: child.exitCode, signal: child.signalCode };
  }
}
