import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import type { JsonValue } from '../src/drivers/contract.js';
import { OutboxDrainer, type PublishLink } from '../src/bridge/drainer.js';
import { ReadingWriter } from '../src/bridge/readingWriter.js';
import { Topics } from '../src/bridge/topics.js';
import { defaultConfig } from '../src/config/index.js';
import { bridgeLinkOf } from '../src/gateway/bridgeLink.js';
import { linkSettingsFromConfig, MqttLink } from '../src/mqtt/index.js';
import { HOT_PATH_OPTIONS } from '../src/mqtt/settings.js';
import { openPersistence, type Persistence } from '../src/persistence/index.js';
import { Mosquitto } from './broker.js';
import { nowUs } from './subscriber.js';

// What the MQTT benchmarks share: the broker they all use, the gateway's publishing path built from
// its real parts, the raw mqtt.js publisher it is compared with, and an RSS sampler.

/**
 * The benchmark broker. The subscriber may fall behind a burst: mosquitto's default of 1,000 queued
 * QoS 1 messages per client would then drop messages (and the benchmark would wait forever), so the
 * queue is unbounded. Everything else is mosquitto's default (20 messages in flight to a subscriber,
 * which is not what limits the rates here: with 100 or no limit the raw rate is the same).
 */
export function startBenchBroker(): Promise<Mosquitto> {
  return Mosquitto.start({ config: ['max_queued_messages 0'] });
}

/** The drainer's in-flight window by default (`queue.inflight`). */
export const DEFAULT_WINDOW = defaultConfig().queue.inflight;

export interface PublishedMessage {
  topic: string;
  payload: string;
  retain: boolean;
}

export interface GatewayPathOptions {
  url: string;
  /** Base topic; every message of this path is under `<base>/`. */
  base: string;
  /** Start the link now (default) or later with startLink(), to build a backlog first. */
  startLink?: boolean;
  /** Keep every message the drainer publishes, in order, to replay it raw. */
  record?: boolean;
}

/**
 * The gateway's publishing path from its real parts, with the defaults of the config: the SQLite
 * persistence (WAL, synchronous normal) in a temporary directory, the OutboxDrainer with the default
 * in-flight window, the MqttLink (QoS 1) behind the same adapter the gateway uses (bridgeLinkOf).
 */
export class GatewayPath {
  readonly persistence: Persistence;
  readonly link: MqttLink;
  readonly drainer: OutboxDrainer;
  readonly topics: Topics;
  readonly published: PublishedMessage[] = [];
  readonly #readings: ReadingWriter;
  readonly #dir: string;

  constructor(options: GatewayPathOptions) {
    const config = defaultConfig();
    this.#dir = mkdtempSync(join(tmpdir(), 'fieldbridge-bench-'));
    this.persistence = openPersistence({
      path: join(this.#dir, 'fieldbridge.db'),
      synchronous: config.persistence.synchronous,
    });
    this.topics = new Topics(options.base);
    this.link = new MqttLink(
      linkSettingsFromConfig(
        { ...config.mqtt, base_topic: options.base, client_id: `fieldbridge-bench-${options.base}` },
        options.url,
      ),
    );
    const bridgeLink = bridgeLinkOf(this.link);
    const recorded = this.published;
    const link: PublishLink = options.record
      ? {
          get online() {
            return bridgeLink.online;
          },
          publish(topic, payload, publishOptions, done) {
            recorded.push({ topic, payload, retain: publishOptions.retain });
            bridgeLink.publish(topic, payload, publishOptions, done);
          },
        }
      : bridgeLink;
    this.drainer = new OutboxDrainer(this.persistence.outbox, link, config.queue.inflight);
    this.#readings = new ReadingWriter(this.persistence, this.topics, () => this.drainer.kick());
    // As Bridge.#linkChanged does.
    bridgeLink.onStateChange((online) => (online ? this.drainer.kick() : this.drainer.linkLost()));
    if (options.startLink ?? true) this.link.start();
  }

  startLink(): void {
    this.link.start();
  }

  async untilOnline(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.link.state !== 'online') {
      if (Date.now() > deadline) throw new Error(`the link is ${this.link.state} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** A reading, written by the bridge's own ReadingWriter (group commit per event-loop turn), then sent. */
  reading(deviceId: string, values: Record<string, JsonValue>, at: number = Date.now()): void {
    this.#readings.add(deviceId, values, at);
  }

  /** A bridge event (not retained), e.g. a marker after the last reading. */
  event(type: string): void {
    this.persistence.transaction(() =>
      this.persistence.outbox.enqueue({
        topic: this.topics.bridgeEvent,
        payload: JSON.stringify({ type }),
        qos: 1,
        retain: false,
        kind: 'event',
      }),
    );
    this.drainer.kick();
  }

  async close(): Promise<void> {
    this.#readings.flush();
    this.drainer.stop();
    await this.link.stop();
    this.persistence.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** Waits for the last PUBACKs to be acknowledged in the outbox (they follow the delivery closely). */
export async function untilOutboxEmpty(path: GatewayPath, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { depth } = path.persistence.outbox.stats();
    if (depth === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${depth} messages still in the outbox ${timeoutMs} ms after delivery`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A plain mqtt.js client as the baseline publisher, with the gateway's hot-path options (no debug
 * logging, no keepalive timer re-armed per PUBACK; see src/mqtt/settings.ts), so the baseline measures
 * mqtt.js as the gateway runs it and the ratio only what the outbox and the link add.
 */
export function connectRaw(url: string, clientId: string): Promise<MqttClient> {
  return connectAsync(url, { clientId, reconnectPeriod: 0, clean: true, ...HOT_PATH_OPTIONS });
}

/**
 * Publishes `messages` in order at QoS 1 with at most `window` waiting for their PUBACK (the raw
 * equivalent of the drainer's window); resolves when the last PUBACK is in.
 */
export function publishWindowed(
  client: MqttClient,
  messages: readonly PublishedMessage[],
  window: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let outstanding = 0;
    const pump = () => {
      while (outstanding < window && next < messages.length) {
        const message = messages[next++] as PublishedMessage;
        outstanding++;
        client.publish(message.topic, message.payload, { qos: 1, retain: message.retain }, (error) => {
          if (error) return reject(error);
          outstanding--;
          if (next === messages.length && outstanding === 0) resolve();
          else pump();
        });
      }
    };
    pump();
  });
}

/** Samples the process's resident set size every `intervalMs` and keeps the peak. */
export interface MemoryAtPeak {
  rss: number;
  /** V8's heap (used / reserved) and memory outside it (Buffers, SQLite's own allocations are not in it). */
  heapUsed: number;
  heapTotal: number;
  external: number;
  /** What the sampled process was doing then (see phase()). */
  phase: string;
}

export class RssSampler {
  #peak: MemoryAtPeak = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, phase: '' };
  #phase = 'start';
  readonly #timer: NodeJS.Timeout;

  constructor(intervalMs = 100) {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  /** Names what the process does from now on, so the peak says when it happened. */
  phase(name: string): void {
    this.#sample();
    this.#phase = name;
  }

  /** Stops sampling; the peak in bytes. */
  stop(): number {
    clearInterval(this.#timer);
    this.#sample();
    return this.#peak.rss;
  }

  get peak(): MemoryAtPeak {
    return this.#peak;
  }

  #sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss <= this.#peak.rss) return;
    const { heapUsed, heapTotal, external } = process.memoryUsage();
    this.#peak = { rss, heapUsed, heapTotal, external, phase: this.#phase };
  }
}

/** A reading's values: a plausible value and `t`, when it was taken (hrtime µs, for latencies). */
export function readingValues(i: number): { value: number; t: number } {
  return { value: 20 + (i % 100) / 10, t: nowUs() };
}

/** The value at quantile q (0..1) of ascending `sorted` (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}
