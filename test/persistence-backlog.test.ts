import { describe, expect, it } from 'vitest';
import { persistenceFixture } from './helpers/persistenceFiles.js';

// A day-long broker outage at a high reading rate: a million queued messages must cost disk, not heap,
// and drain back to zero with the drainer's bounded window. Takes ~15 s on a 2-core box.

const { dbPath, open } = persistenceFixture();

const MESSAGES = 1_000_000;
const ENQUEUE_BATCH = 10_000;
const DRAIN_WINDOW = 1_000;
const MB = 1024 * 1024;

describe('a backlog of 1,000,000 messages', () => {
  it('is enqueued and drained with bounded memory, back to an empty outbox', { timeout: 180_000 }, () => {
    const persistence = open({ path: dbPath() });
    const { outbox } = persistence;
    const heapAtStart = process.memoryUsage().heapUsed;
    let peakHeapWhileEnqueuing = heapAtStart;

    const enqueueStart = performance.now();
    for (let first = 0; first < MESSAGES; first += ENQUEUE_BATCH) {
      persistence.transaction(() => {
        for (let i = first; i < first + ENQUEUE_BATCH; i += 1) {
          outbox.enqueue({
            topic: `fb/meter${i % 100}/reading`,
            payload: `{"v":${i}}`,
            qos: 1,
            retain: false,
            kind: 'reading',
          });
        }
      });
      peakHeapWhileEnqueuing = Math.max(peakHeapWhileEnqueuing, process.memoryUsage().heapUsed);
    }
    const enqueueMs = performance.now() - enqueueStart;
    expect(outbox.stats()).toMatchObject({ depth: MESSAGES, dropped: 0 });

    const before = process.memoryUsage();
    let peakHeap = before.heapUsed;
    let peakRss = before.rss;
    let afterId = 0;
    let drained = 0;
    const drainStart = performance.now();
    for (;;) {
      const window = outbox.peek(DRAIN_WINDOW, afterId);
      if (window.length === 0) break;
      // The broker's PUBACKs for a window, acknowledged together.
      drained += outbox.ackMany(window.map((message) => message.id));
      afterId = window[window.length - 1]?.id ?? afterId;
      if (drained % 50_000 === 0) {
        const usage = process.memoryUsage();
        peakHeap = Math.max(peakHeap, usage.heapUsed);
        peakRss = Math.max(peakRss, usage.rss);
      }
    }
    const drainMs = performance.now() - drainStart;

    expect(drained).toBe(MESSAGES);
    expect(outbox.stats()).toMatchObject({ depth: 0, bytes: 0, published: MESSAGES });
    expect(peakHeapWhileEnqueuing - heapAtStart).toBeLessThan(50 * MB);
    expect(peakHeap - before.heapUsed).toBeLessThan(50 * MB);
    expect(peakRss - before.rss).toBeLessThan(100 * MB);

    const rate = (ms: number) => Math.round((MESSAGES / ms) * 1000);
    console.log(
      `1M backlog: enqueue ${(enqueueMs / 1000).toFixed(1)} s (${rate(enqueueMs)}/s), ` +
        `drain ${(drainMs / 1000).toFixed(1)} s (${rate(drainMs)}/s); ` +
        `heap +${((peakHeapWhileEnqueuing - heapAtStart) / MB).toFixed(1)} MB enqueuing, ` +
        `+${((peakHeap - before.heapUsed) / MB).toFixed(1)} MB draining; rss +${((peakRss - before.rss) / MB).toFixed(1)} MB draining`,
    );
  });
});
