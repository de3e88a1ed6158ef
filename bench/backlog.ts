import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Mosquitto } from './broker.js';
import { GatewayPath, type MemoryAtPeak, readingValues, RssSampler, untilOutboxEmpty } from './mqttRig.js';
import type { Figure } from './report.js';
import { resultOfFreshProcess } from './freshProcess.js';
import { RUNTIME } from './scripts.js';
import { nowUs, type SubscriberProcess } from './subscriber.js';

// A long broker outage, then the catch-up: MESSAGES readings queued in the outbox while the link is
// down (enqueueReading: sequence number, outbox, history; BATCH readings per transaction, yielding
// between batches as a busy gateway would), then the link comes up and the drainer sends them all to
// mosquitto, until the subscriber has every one. The drain rate is compared with the raw mqtt.js rate
// of the pipeline benchmark; the process's RSS is sampled every 100 ms throughout.
//
// It runs in a fresh process (backlogProcess.ts), with a subscriber process of its own on the same
// broker, so the RSS is that of a gateway process draining a backlog, not of a process that just ran
// 10,000 device actors. `npm run bench` runs it as compiled JavaScript with plain node, as the gateway
// runs (see scripts.ts); the figure names how it ran.

const MESSAGES = 1_000_000;
const BATCH = 1_000;
const DEVICES = 100;
const TIMEOUT_MS = 600_000;
const MB = 1e6;

export interface BacklogResult {
  enqueueSeconds: number;
  drainSeconds: number;
  queuedBytes: number;
  rssBefore: number;
  rssPeak: number;
  peak: MemoryAtPeak;
}

/** The measurement itself; run by backlogProcess.ts in a process of its own. */
export async function measureBacklog(url: string, subscriber: SubscriberProcess): Promise<BacklogResult> {
  global.gc?.();
  const rssBefore = process.memoryUsage.rss();
  const sampler = new RssSampler(100);
  const path = new GatewayPath({ url, base: 'fbb', startLink: false });
  try {
    const { persistence, topics } = path;
    sampler.phase('queueing');
    const begin = nowUs();
    for (let i = 0; i < MESSAGES;) {
      persistence.transaction(() => {
        for (const end = Math.min(MESSAGES, i + BATCH); i < end; i++) {
          const deviceId = `dev${i % DEVICES}`;
          const at = Date.now();
          const ts = new Date(at).toISOString();
          persistence.enqueueReading({ deviceId, topic: topics.reading(deviceId), ts: at }, (seq) =>
            JSON.stringify({ seq, ts, ...readingValues(i) }),
          );
        }
      });
      path.drainer.kick(); // a no-op while the link is down, as in the bridge
      await nextTurn();
    }
    const enqueueSeconds = (nowUs() - begin) / 1e6;
    const queued = persistence.outbox.stats();
    if (queued.depth !== MESSAGES) throw new Error(`${queued.depth} messages queued, not ${MESSAGES}`);

    const delivered = await subscriber.watch({ filter: `${topics.base}/#`, readings: MESSAGES });
    sampler.phase('draining');
    const drainBegin = nowUs();
    path.startLink();
    const { atUs } = await delivered(TIMEOUT_MS);
    await untilOutboxEmpty(path);
    return {
      enqueueSeconds,
      drainSeconds: (atUs - drainBegin) / 1e6,
      queuedBytes: queued.bytes,
      rssBefore,
      rssPeak: sampler.stop(),
      peak: sampler.peak,
    };
  } finally {
    sampler.stop();
    await path.close();
  }
}

export async function benchBacklog(broker: Mosquitto, rawRate: number): Promise<Figure[]> {
  const result = await resultOfFreshProcess<BacklogResult>('backlogProcess', [broker.url]);
  const { enqueueSeconds, drainSeconds, rssBefore, rssPeak } = result;
  const total = enqueueSeconds + drainSeconds;
  console.log(
    `  ${MESSAGES.toLocaleString('en-US')} readings queued in ${enqueueSeconds.toFixed(1)} s ` +
      `(${Math.round(MESSAGES / enqueueSeconds).toLocaleString('en-US')} readings/s, ${BATCH} per transaction, ` +
      `${Math.round(result.queuedBytes / MB)} MB of topics and payloads), drained to the subscriber in ` +
      `${drainSeconds.toFixed(1)} s; ${total.toFixed(1)} s in all; RSS ${Math.round(rssBefore / MB)} MB ` +
      `at the start, peak ${Math.round(rssPeak / MB)} MB while ${result.peak.phase} (V8 heap ` +
      `${Math.round(result.peak.heapUsed / MB)} MB used of ${Math.round(result.peak.heapTotal / MB)} MB, ` +
      `external ${Math.round(result.peak.external / MB)} MB; the rest is code, stacks, SQLite's page cache ` +
      `and allocator slack)`,
  );
  return [
    {
      name: `drain ${MESSAGES.toLocaleString('en-US')} queued readings to the subscriber`,
      value: MESSAGES / drainSeconds,
      unit: 'msg/s',
      baselineName: 'raw mqtt.js (pipeline benchmark)',
      baseline: rawRate,
      better: 'higher',
    },
    {
      name: `peak RSS while queueing and draining (${RUNTIME})`,
      value: rssPeak / MB,
      unit: 'MB',
      baselineName: 'goal',
      baseline: 150,
      better: 'lower',
    },
    {
      name: 'queue and drain, in all',
      value: total,
      unit: 's',
      baselineName: 'goal',
      baseline: 120,
      better: 'lower',
    },
  ];
}
