import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { describe } from 'vitest';

// A real Mosquitto for the MQTT integration tests: one process per test file, on a free loopback port,
// that a test can stop, kill and restart on the same port, so clients see the broker vanish and return.

const CANDIDATES = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/opt/homebrew/sbin/mosquitto'];

/** The broker binary; `MOSQUITTO_BIN=/elsewhere` picks another (a missing path skips the tests). */
export const MOSQUITTO_BIN = (process.env.MOSQUITTO_BIN ? [process.env.MOSQUITTO_BIN] : CANDIDATES).find(
  (path) => existsSync(path),
);

/** `describe` that skips, saying why, when mosquitto is not installed. */
export function describeWithMosquitto(name: string, body: () => void): void {
  if (MOSQUITTO_BIN === undefined) {
    console.warn(`skipping "${name}": mosquitto is not installed (apt-get install -y mosquitto)`);
  }
  describe.skipIf(MOSQUITTO_BIN === undefined)(name, body);
}

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

export class Mosquitto {
  readonly port: number;
  readonly url: string;
  readonly #configPath: string;
  readonly #dir: string;
  #process: ChildProcess | null = null;
  #output = '';

  private constructor(dir: string, port: number) {
    this.#dir = dir;
    this.port = port;
    this.url = `mqtt://127.0.0.1:${port}`;
    this.#configPath = join(dir, 'mosquitto.conf');
  }

  static async start(): Promise<Mosquitto> {
    const dir = await mkdtemp(join(tmpdir(), 'fieldbridge-mosquitto-'));
    const broker = new Mosquitto(dir, await freePort());
    const config = [`listener ${broker.port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', ''];
    await writeFile(broker.#configPath, config.join('\n'));
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
    const child = spawn(MOSQUITTO_BIN, ['-c', this.#configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
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

export interface RecordedMessage {
  topic: string;
  payload: string;
  retain: boolean;
}

/** A plain mqtt.js client that records every message on `filters`, for assertions. */
export class Recorder {
  readonly messages: RecordedMessage[] = [];
  readonly client: MqttClient;

  private constructor(client: MqttClient) {
    this.client = client;
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload: payload.toString(), retain: packet.retain });
    });
  }

  static async start(url: string, filters: string | string[]): Promise<Recorder> {
    const client = await connectAsync(url, { reconnectPeriod: 0, clientId: `recorder-${Math.random()}` });
    const recorder = new Recorder(client);
    await client.subscribeAsync(filters, { qos: 1 });
    return recorder;
  }

  on(topic: string): RecordedMessage[] {
    return this.messages.filter((message) => message.topic === topic);
  }

  /** Resolves with the first recorded message that matches, waiting up to `timeoutMs` for it. */
  async waitFor(match: (message: RecordedMessage) => boolean, timeoutMs = 5_000): Promise<RecordedMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** Polls `condition` every 10 ms until it holds, failing after `timeoutMs` with `what`. */
export async function eventually(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
