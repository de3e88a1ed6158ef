import { setImmediate as nextTurn } from 'node:timers/promises';
import type { DatabaseSettings } from '../src/persistence/index.js';
import type { Mosquitto } from './broker.js';
import { resultOfFreshProcess } from './freshProcess.js';
import {
  connectRaw,
  DEFAULT_WINDOW,
  GatewayPath,
  untilOutboxEmpty,
  type PublishedMessage,
  publishWindowed,
  readingValues,
} from './mqttRig.js';
import { CpuMeter, type CpuSeconds, describeCpu } from './cpuTime.js';
import type { Figure } from './report.js';
import { nowUs, type SubscriberProcess } from './subscriber.js';

// Readings through the gateway's whole publishing path, end to end: each reading written as the bridge
// writes it (reading + history + sequence + retained device state, one transaction, durable with
// synchronous=normal), the OutboxDrainer (default window) → MqttLink (QoS 1) → mosquitto → a QoS 1
// subscriber in another process. The baseline is a bare mqtt.js client publishing exactly the messages
// the drainer published (same topics, payloads, retain flags, order) with the same in-flight window to
// the same broker and the same kind of subscriber: the difference is what the outbox and the link cost.
//
// Readings arrive in bursts of BURST per event-loop turn from DEVICES devices, as fast as the gateway
// takes them. A device's state message still waiting in the outbox is replaced by its newer one, so up
// to 2 × READINGS + 1 messages (the +1 marks the end) reach the broker; the raw run sends the same ones.

const READINGS = 20_000;
// A full-size round of each first: V8 is still optimising the gateway's path through the first
// ~20,000 readings (measured: the first full round costs ~30 % more CPU per message than the later
// ones, the raw publisher's barely changes), and a gateway runs for months, not 20,000 readings.
const WARMUP_READINGS = READINGS;
const DEVICES = 100;
const BURST = 10;
const ROUNDS = 5;
const TIMEOUT_MS = 120_000;

export interface PipelineResult {
  figures: Figure[];
  /** Messages per second of the raw mqtt.js baseline, for the backlog drain to compare with. */
  rawRate: number;
}

interface Run {
  seconds: number;
  /** CPU seconds of this process, the broker and the subscriber during the run. */
  cpu: CpuSeconds;
  messages: PublishedMessage[];
  /** As read back from the database. */
  settings: DatabaseSettings;
}

async function throughGateway(
  broker: BrokerRef,
  subscriber: SubscriberProcess,
  base: string,
  readings: number,
): Promise<Run> {
  const path = new GatewayPath({ url: broker.url, base, record: true });
  try {
    await path.untilOnline();
    const delivered = await subscriber.watch({
      filter: `${base}/#`,
      readings,
      marker: path.topics.bridgeEvent,
    });
    const cpu = new CpuMeter({ broker: broker.pid, subscriber: subscriber.pid });
    const begin = nowUs();
    for (let i = 0; i < readings;) {
      for (const end = Math.min(readings, i + BURST); i < end; i++) {
        path.reading(`dev${i % DEVICES}`, readingValues(i));
      }
      await nextTurn();
    }
    path.event('bench_done');
    const { atUs } = await delivered(TIMEOUT_MS);
    const used = cpu.stop();
    await untilOutboxEmpty(path);
    return {
      seconds: (atUs - begin) / 1e6,
      cpu: used,
      messages: path.published,
      settings: path.persistence.settings(),
    };
  } finally {
    await path.close();
  }
}

/** How the raw baseline publishes: with the gateway's in-flight window, or one publish awaited at a time. */
type RawMode = 'windowed' | 'sequential';

interface RawRun {
  seconds: number;
  cpu: CpuSeconds;
}

async function rawMqtt(
  broker: BrokerRef,
  subscriber: SubscriberProcess,
  base: string,
  from: Run,
  readings: number,
  mode: RawMode = 'windowed',
): Promise<RawRun> {
  const messages = from.messages.map((message) => ({
    ...message,
    topic: base + message.topic.slice(message.topic.indexOf('/')),
  }));
  const client = await connectRaw(broker.url, `fieldbridge-bench-raw-${base}`);
  try {
    const delivered = await subscriber.watch({
      filter: `${base}/#`,
      readings,
      marker: `${base}/bridge/event`,
    });
    const cpu = new CpuMeter({ broker: broker.pid, subscriber: subscriber.pid });
    const begin = nowUs();
    if (mode === 'windowed') await publishWindowed(client, messages, DEFAULT_WINDOW);
    else {
      // The plain publish loop: each QoS 1 publish awaited before the next.
      for (const message of messages) {
        await client.publishAsync(message.topic, message.payload, { qos: 1, retain: message.retain });
      }
    }
    const { atUs } = await delivered(TIMEOUT_MS);
    return { seconds: (atUs - begin) / 1e6, cpu: cpu.stop() };
  } finally {
    await client.endAsync();
  }
}

const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/** The broker as the measuring process knows it: where to connect, and its pid for its CPU time. */
export interface BrokerRef {
  url: string;
  pid: number | undefined;
}

/**
 * The pipeline benchmark in a fresh process (pipelineProcess.ts), with a subscriber process of its
 * own: it measures a gateway's publishing path, not a process that just ran the actor tree.
 */
export function benchMqttPipeline(broker: Mosquitto): Promise<PipelineResult> {
  return resultOfFreshProcess<PipelineResult>('pipelineProcess', [broker.url, String(broker.pid ?? '')]);
}

/** The measurement itself; run by pipelineProcess.ts. */
export async function measurePipeline(
  broker: BrokerRef,
  subscriber: SubscriberProcess,
): Promise<PipelineResult> {
  // One round of each first, so neither pays for the JIT and the first connections (see WARMUP_READINGS).
  const warm = await throughGateway(broker, subscriber, 'fbw', WARMUP_READINGS);
  await rawMqtt(broker, subscriber, 'fbv', warm, WARMUP_READINGS);

  // Then ROUNDS pairs (this machine's rates vary from run to run); the medians are the figures.
  const gatewayRates: number[] = [];
  const rawRates: number[] = [];
  const sequentialRates: number[] = [];
  let last = warm;
  for (let round = 0; round < ROUNDS; round++) {
    const gateway = await throughGateway(broker, subscriber, `fbp${round}`, READINGS);
    const raw = await rawMqtt(broker, subscriber, `fbr${round}`, gateway, READINGS);
    const sequential = await rawMqtt(broker, subscriber, `fbs${round}`, gateway, READINGS, 'sequential');
    const messages = gateway.messages.length;
    last = gateway;
    gatewayRates.push(messages / gateway.seconds);
    rawRates.push(messages / raw.seconds);
    sequentialRates.push(messages / sequential.seconds);
    // Where the time goes: "self" is the gateway's publishing path in one run, the raw publisher in the
    // other; on two cores, "cores busy" near 2 means the three processes share a saturated machine.
    console.log(
      `  round ${round + 1}: gateway ${describeCpu(gateway.cpu, messages, gateway.seconds)}\n` +
        `           raw windowed ${describeCpu(raw.cpu, messages, raw.seconds)}`,
    );
  }
  const gatewayRate = median(gatewayRates);
  const rawRate = median(rawRates);
  const sequentialRate = median(sequentialRates);
  const list = (rates: number[]) => rates.map((rate) => Math.round(rate).toLocaleString('en-US')).join(', ');
  console.log(
    `  ${READINGS.toLocaleString('en-US')} readings from ${DEVICES} devices, ${BURST} per event-loop turn, ` +
      `~${last.messages.length.toLocaleString('en-US')} messages (readings, retained states, end marker), window ` +
      `${DEFAULT_WINDOW}, SQLite ${last.settings.journalMode} synchronous=${last.settings.synchronous}; msg/s in ` +
      `${ROUNDS} rounds: gateway ${list(gatewayRates)}; raw mqtt.js windowed ${list(rawRates)}, ` +
      `one at a time ${list(sequentialRates)}; gateway / raw windowed in each round (run back to back): ` +
      gatewayRates.map((rate, round) => (rate / (rawRates[round] as number)).toFixed(2)).join(', '),
  );
  return {
    rawRate,
    figures: [
      {
        name: 'readings + states, outbox → drainer → MqttLink → subscriber',
        value: gatewayRate,
        unit: 'msg/s',
        baselineName: `raw mqtt.js QoS 1, window ${DEFAULT_WINDOW}`,
        baseline: rawRate,
        better: 'higher',
      },
      {
        name: 'readings + states, outbox → drainer → MqttLink → subscriber',
        value: gatewayRate,
        unit: 'msg/s',
        baselineName: 'raw mqtt.js QoS 1 publish loop, each publish awaited',
        baseline: sequentialRate,
        better: 'higher',
      },
      {
        name: 'gateway rate / raw windowed rate',
        value: gatewayRate / rawRate,
        unit: '×',
        baselineName: 'goal',
        baseline: 0.8,
        better: 'higher',
      },
    ],
  };
}
