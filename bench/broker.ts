import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A real Mosquitto on a free loopback port, for the MQTT benchmarks and (through
// test/helpers/mosquitto.ts) the integration tests: one process that a caller can stop, kill, freeze
// and restart on the same port, so clients see the broker vanish and return. No test-runner imports
// here, so plain node can load it.

const CANDIDATES = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/opt/homebrew/sbin/mosquitto'];

/** The broker binary; `MOSQUITTO_BIN=/elsewhere` picks another (a missing path means "not installed"). */
export const MOSQUITTO_BIN = (process.env.MOSQUITTO_BIN ? [process.env.MOSQUITTO_BIN] : CANDIDATES).find(
  (path) => existsSync(path),
);

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port from the OS');
  return address.port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface MosquittoOptions {
  /** More lines for mosquitto.conf (after the listener, anonymous access and no persistence). */
  config?: readonly string[];
  /** false: only the listener line comes before `config` (a config that says who may log in itself). */
  defaults?: boolean;
  /** A command that starts mosquitto itself (an entry point script): it gets `mosquitto -c <conf>` appended. */
  launcher?: readonly string[];
  /** Environment of the launcher (added to this process's). */
  env?: Readonly<Record<string, string>>;
}

export class Mosquitto {
  readonly port: number;
  readonly url: string;
  readonly #configPath: string;
  readonly #dir: string;
  #launcher: readonly string[] = [];
  #env: Readonly<Record<string, string>> = {};
  #process: ChildProcess | null = null;
  #output = '';

  private constructor(dir: string, port: number) {
    this.#dir = dir;
    this.port = port;
    this.url = `mqtt://127.0.0.1:${port}`;
    this.#configPath = join(dir, 'mosquitto.conf');
  }

  static async start(options: MosquittoOptions = {}): Promise<Mosquitto> {
    const dir = await mkdtemp(join(tmpdir(), 'fieldbridge-mosquitto-'));
    const broker = new Mosquitto(dir, await freePort());
    const config = [
      `listener ${broker.port} 127.0.0.1`,
      ...(options.defaults === false ? [] : ['allow_anonymous true', 'persistence false']),
      ...(options.config ?? []),
      '',
    ];
    await writeFile(broker.#configPath, config.join('\n'));
    broker.#launcher = options.launcher ?? [];
    broker.#env = options.env ?? {};
    await broker.#launch();
    return broker;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** SIGTERM: mosquitto closes its connections in an orderly way (clients see a clean close). */
  stop(): Promise<void> {
    return this.#end('SIGTERM');
  }

  /** SIGKILL: the broker vanishes mid-flight. */
  kill(): Promise<void> {
    return this.#end('SIGKILL');
  }

  /** SIGSTOP: the broker stays connected but answers nothing (a hung broker); kill() or resume() after. */
  freeze(): void {
    this.#process?.kill('SIGSTOP');
  }

  resume(): void {
    this.#process?.kill('SIGCONT');
  }

  /** Starts it again on the same port (after stop/kill; kills it first if it is still running). */
  async restart(): Promise<void> {
    if (this.#process) await this.kill();
    await this.#launch();
  }

  /** Kills the broker and removes its directory. */
  async dispose(): Promise<void> {
    if (this.#process) await this.kill();
    await rm(this.#dir, { recursive: true, force: true });
  }

  async #launch(): Promise<void> {
    if (MOSQUITTO_BIN === undefined) throw new Error('mosquitto is not installed');
    this.#output = '';
    const [command = MOSQUITTO_BIN, ...args] = [...this.#launcher, MOSQUITTO_BIN, '-c', this.#configPath];
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.#env },
    });
    child.stdout?.on('data', (chunk: Buffer) => (this.#output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.#output += chunk.toString()));
    this.#process = child;
    const deadline = Date.now() + 5_000;
    while (!(await accepts(this.port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`mosquitto did not start on port ${this.port}:\n${this.#output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async #end(signal: NodeJS.Signals): Promise<void> {
    const child = this.#process;
    if (!child) return;
    this.#process = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }
}
