import { describe, expect, it } from 'vitest';
import { nominalBackoffDelay } from '../src/machines/backoff.js';
import { deviceStatusOf } from '../src/machines/connection.js';
import { DEFAULT_RECONNECT } from '../src/machines/policy.js';
import { deviceHarness } from './helpers/deviceHarness.js';
import { advance } from './helpers/time.js';

describe('connection machine: reconnect backoff', () => {
  it('retries after 2, 4, 8, 16, 30 s (within ±20 % jitter, never above the cap) and then goes offline', async () => {
    const h = deviceHarness({ simulation: { failureRate: 1, connectDelayMs: 50 } });
    h.send({ type: 'CONNECT' });
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      await advance(h.clock, 50);
      expect(deviceStatusOf(h.snapshot().value)).toBe('reconnecting');
      const { nextAttemptAt, attempts } = h.snapshot().context;
      expect(attempts).toBe(attempt);
      const delay = nextAttemptAt - h.clock.now();
      delays.push(delay);
      const nominal = nominalBackoffDelay(DEFAULT_RECONNECT, attempt);
      expect(delay).toBeGreaterThanOrEqual(nominal * 0.8 - 1);
      expect(delay).toBeLessThanOrEqual(Math.min(nominal * 1.2 + 1, 30_000));
      await advance(h.clock, delay - 20);
      expect(deviceStatusOf(h.snapshot().value)).toBe('reconnecting');
      await advance(h.clock, 20);
      expect(deviceStatusOf(h.snapshot().value)).toBe('connecting');
    }
    expect(delays.map((d, i) => Math.round(d / nominalBackoffDelay(DEFAULT_RECONNECT, i + 1)))).toEqual([1, 1, 1, 1, 1]);
    await advance(h.clock, 50);
    expect(deviceStatusOf(h.snapshot().value)).toBe('offline');
    expect(h.statuses().at(-1)).toBe('offline');
    h.stop();
  });
});
