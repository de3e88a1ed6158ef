import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { GatewayProcess } from './process.js';
import { eventually } from './eventually.js';

// End-to-end rig: a gateway process with its config and database in a temp directory, and a
// subscriber that reconnects by itself (a broker restart must not end the recording).

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  at: number;
}

export class Subscriber {
  readonly messages: Received[] = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) =>
      this.messages.push({ topic, payload: payload.toString(), retain: packet.retain, at: Date.now() }),
    );
  }

  static async start(url: string, filters: string[]): Promise<Subscriber> {
    const client = await connectAsync(url, {
      reconnectPeriod: 50,
      connectTimeout: 2_000,
      clientId: `e2e-${Math.random().toString(16).slice(2)}`,
    });
    const subscriber = new Subscriber(client);
    // mqtt.js subscribes again after every reconnect (resubscribe defaults to true).
    await client.subscribeAsync(filters, { qos: 1 });
    return subscriber;
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  json<T = Record<string, unknown>>(topic: string): T[] {
    return this.on(topic).map((m) => (m.payload === '' ? ({} as T) : (JSON.parse(m.payload) as T)));
  }

  waitFor(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
    return eventually(check, { what, timeoutMs, intervalMs: 20 });
  }

  publish(topic: string, payload: string, retain = false): Promise<unknown> {
    return this.client.publishAsync(topic, payload, { qos: 1, retain });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

export class GatewayRig {
  readonly dir = mkdtempSync(join(tmpdir(), 'fieldbridge-e2e-'));
  gateway: GatewayProcess | undefined;

  constructor(public config: string) {}

  /** Writes the current `config` to the gateway's file (start does it too). */
  writeConfig(): void {
    writeFileSync(join(this.dir, 'fieldbridge.yaml'), this.config);
  }

  start(): GatewayProcess {
    this.writeConfig();
    this.gateway = new GatewayProcess(['start', '--config', join(this.dir, 'fieldbridge.yaml')], {
      cwd: this.dir,
    });
    return this.gateway;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const gateway = this.gateway;
    if (!gateway || gateway.child.exitCode !== null) return;
    gateway.kill(signal);
    await gateway.exited;
  }
}

/** Readings of one device in arrival order, duplicates (same seq) removed. */
export function readingSeqs(subscriber: Subscriber, topic: string): number[] {
  const seen = new Set<number>();
  const seqs: number[] = [];
  for (const reading of subscriber.json<{ seq: number }>(topic)) {
    if (seen.has(reading.seq)) continue;
    seen.add(reading.seq);
    seqs.push(reading.seq);
  }
  return seqs;
}

/** Asserts nothing is missing and nothing is out of order: each seq is the previous plus one. */
export function gapsIn(seqs: readonly number[]): string[] {
  const problems: string[] = [];
  for (let i = 1; i < seqs.length; i++) {
    const previous = seqs[i - 1] as number;
    const current = seqs[i] as number;
    if (current !== previous + 1) problems.push(`after ${previous} came ${current}`);
  }
  return problems;
}
