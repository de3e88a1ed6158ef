import type { Mosquitto } from './broker.js';
import { connectRaw, GatewayPath, quantile, readingValues } from './mqttRig.js';
import type { Figure } from './report.js';
import type { SubscriberProcess } from './subscriber.js';

// How long a reading takes from the moment it is taken to the moment a subscriber has it, at a steady
// RATE readings/s from DEVICES devices for SECONDS: written as the bridge writes it (one transaction
// with its state), then drainer → MqttLink → mosquitto → the subscriber (its own process). The
// production time (process.hrtime, the same clock in both processes) travels in the payload. The
// baseline is the same readings and state messages published directly by a bare mqtt.js client.

const RATE = 1_000;
const SECONDS = 10;
const DEVICES = 100;
const TIMEOUT_MS = 30_000;

/** Calls produce(i) for i = 0…count-1 at `rate` per second (on ~1 ms timer ticks, catching up). */
function produceAtRate(rate: number, count: number, produce: (i: number) => void): Promise<void> {
  return new Promise((resolve) => {
    const begin = performance.now();
    let produced = 0;
    const tick = () => {
      const due = Math.min(count, Math.floor(((performance.now() - begin) * rate) / 1000) + 1);
      while (produced < due) produce(produced++);
      if (produced < count) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
}

interface Latencies {
  p50: number;
  p99: number;
  max: number;
}

function summarize(latenciesUs: number[]): Latencies {
  const sorted = latenciesUs.map((us) => us / 1000).sort((a, b) => a - b);
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1] ?? NaN };
}

async function throughGateway(url: string, subscriber: SubscriberProcess, base: string): Promise<Latencies> {
  const path = new GatewayPath({ url, base });
  try {
    await path.untilOnline();
    const count = RATE * SECONDS;
    const delivered = await subscriber.watch({ filter: `${base}/#`, readings: count, latency: true });
    await produceAtRate(RATE, count, (i) => path.reading(`dev${i % DEVICES}`, readingValues(i)));
    const { latenciesUs } = await delivered(TIMEOUT_MS);
    return summarize(latenciesUs);
  } finally {
    await path.close();
  }
}

async function rawMqtt(url: string, subscriber: SubscriberProcess, base: string): Promise<Latencies> {
  const client = await connectRaw(url, `fieldbridge-bench-raw-${base}`);
  try {
    const count = RATE * SECONDS;
    const delivered = await subscriber.watch({ filter: `${base}/#`, readings: count, latency: true });
    let failed: Error | undefined;
    const settled = (error?: Error) => void (failed ??= error);
    await produceAtRate(RATE, count, (i) => {
      const deviceId = `dev${i % DEVICES}`;
      const at = Date.now();
      const ts = new Date(at).toISOString();
      const values = readingValues(i);
      client.publish(
        `${base}/${deviceId}/reading`,
        JSON.stringify({ seq: i, ts, ...values }),
        { qos: 1 },
        settled,
      );
      const state = JSON.stringify({ ...values, last_seen: ts });
      client.publish(`${base}/${deviceId}`, state, { qos: 1, retain: true }, settled);
    });
    const { latenciesUs } = await delivered(TIMEOUT_MS);
    if (failed) throw failed;
    return summarize(latenciesUs);
  } finally {
    await client.endAsync();
  }
}

export async function benchLatency(broker: Mosquitto, subscriber: SubscriberProcess): Promise<Figure[]> {
  const gateway = await throughGateway(broker.url, subscriber, 'fbl');
  const raw = await rawMqtt(broker.url, subscriber, 'fbq');
  console.log(
    `  ${RATE.toLocaleString('en-US')} readings/s from ${DEVICES} devices for ${SECONDS} s, each with its ` +
      `retained state; max ${gateway.max.toFixed(1)} ms through the gateway, ${raw.max.toFixed(1)} ms raw`,
  );
  return [
    {
      name: 'reading taken → subscriber has it, p50',
      value: gateway.p50,
      unit: 'ms',
      baselineName: 'raw mqtt.js p50',
      baseline: raw.p50,
      better: 'lower',
    },
    {
      name: 'reading taken → subscriber has it, p99',
      value: gateway.p99,
      unit: 'ms',
      baselineName: 'goal',
      baseline: 20,
      better: 'lower',
    },
    {
      name: 'reading taken → subscriber has it, p99 (against raw)',
      value: gateway.p99,
      unit: 'ms',
      baselineName: 'raw mqtt.js p99',
      baseline: raw.p99,
      better: 'lower',
    },
  ];
}
