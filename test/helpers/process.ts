import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eventually } from './eventually.js';

export const CLI_PATH = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
/** Resolved here, not from the child's working directory (tests run it in temp directories). */
const TSX_LOADER = import.meta.resolve('tsx');

/** A gateway process started from the sources (through tsx), with its output collected as it comes. */
export class GatewayProcess {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
    this.child = spawn(process.execPath, ['--import', TSX_LOADER, CLI_PATH, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
    });
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  /** Resolves once the output matches, rejects after `timeoutMs` with the output so far. */
  waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<void> {
    return eventually(() => pattern.test(this.output), {
      what: String(pattern),
      timeoutMs,
      intervalMs: 25,
      detail: () => `output:\n${this.output}`,
      abandon: () => (this.child.exitCode === null ? undefined : `exited (${this.child.exitCode})`),
    });
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.child.kill(signal);
  }
}
