import { afterEach, describe, expect, it } from 'vitest';
import {
  BurstLog,
  captureLogs,
  configureLogging,
  currentLoggingOptions,
  formatDuration,
  getLogger,
  type LogCapture,
  RepeatedFailureLog,
} from '../src/logging/index.js';

const MINUTE = 60_000;

/** A RepeatedFailureLog on a fake clock, with its lines captured. */
function setup(options: { summaryEveryMs?: number; summary?: string } = { summaryEveryMs: 5 * MINUTE }) {
  let now = 1_000_000;
  const capture = captureLogs({ level: 'debug' });
  captures.push(capture);
  const failures = new RepeatedFailureLog(getLogger('device.heat1'), { ...options, now: () => now });
  const lines = () => capture.entries.map((entry) => `${entry.level} ${entry.msg}`);
  return {
    failures,
    capture,
    lines,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const captures: LogCapture[] = [];
afterEach(() => {
  for (const capture of captures.splice(0).reverse()) capture.stop();
});

describe('RepeatedFailureLog', () => {
  it('logs 100 identical failures within the window as a single warn', () => {
    const { failures, lines, advance } = setup();
    for (let i = 0; i < 100; i += 1) {
      failures.failure('connect', 'connect failed: ETIMEDOUT');
      advance(1_000); // 100 s in total, well inside the 5 min window
    }
    expect(lines()).toEqual(['warn connect failed: ETIMEDOUT']);
    expect(failures.failureCount('connect')).toBe(100);
  });

  it('writes one summary once the interval has passed, with the right count and span', () => {
    const { failures, capture, lines, advance } = setup({
      summaryEveryMs: 5 * MINUTE,
      summary: 'still offline',
    });
    failures.failure('connect', 'connect failed: ETIMEDOUT', { port: '/dev/ttyUSB0' });
    for (let i = 0; i < 36; i += 1) {
      advance(8_389); // 36 retries spread over 5m 2s
      failures.failure('connect', 'connect failed: ETIMEDOUT', { port: '/dev/ttyUSB0' });
    }
    expect(lines()).toEqual([
      'warn connect failed: ETIMEDOUT',
      'warn still offline after 37 attempts over 5m 2s: connect failed: ETIMEDOUT',
    ]);
    expect(capture.entries[1]?.meta).toEqual({
      port: '/dev/ttyUSB0',
      failureCount: 37,
      failingForMs: 302_004,
    });

    // The next summary waits for a full interval after the previous line, not after the first failure.
    advance(MINUTE);
    failures.failure('connect', 'connect failed: ETIMEDOUT');
    expect(lines()).toHaveLength(2);
    advance(4 * MINUTE);
    failures.failure('connect', 'connect failed: ETIMEDOUT');
    expect(lines()[2]).toBe('warn still offline after 39 attempts over 10m 2s: connect failed: ETIMEDOUT');
  });

  it('still collapses when the error text flaps, and reports the latest text', () => {
    const { failures, lines, advance } = setup({ summaryEveryMs: MINUTE });
    const texts = ['connect ETIMEDOUT', 'connect ECONNREFUSED', 'EHOSTUNREACH'];
    for (let i = 0; i < 30; i += 1) {
      failures.failure('connect', texts[i % texts.length] ?? '');
      advance(1_000);
    }
    expect(lines()).toEqual(['warn connect ETIMEDOUT']);
    advance(MINUTE);
    failures.failure('connect', 'connect ECONNREFUSED');
    expect(lines()).toEqual([
      'warn connect ETIMEDOUT',
      'warn still failing after 31 attempts over 1m 30s: connect ECONNREFUSED',
    ]);
  });

  it('logs one recovery line and starts over after it', () => {
    const { failures, capture, lines, advance } = setup();
    failures.failure('poll', 'no answer');
    advance(30_000);
    failures.failure('poll', 'no answer');
    advance(33_000);
    failures.success('poll');
    expect(lines()).toEqual(['warn no answer', 'info recovered after 2 failures over 1m 3s']);
    expect(capture.entries[1]?.meta).toEqual({ failureCount: 2, failingForMs: 63_000 });
    expect(failures.size).toBe(0);

    failures.failure('poll', 'no answer');
    expect(lines()[2]).toBe('warn no answer'); // a new outage is announced again
  });

  it('writes nothing on success without a preceding failure, nor on reset', () => {
    const { failures, lines } = setup();
    failures.success('poll');
    failures.success('poll', 'back online');
    expect(lines()).toEqual([]);

    failures.failure('poll', 'no answer');
    failures.reset('poll');
    failures.success('poll');
    expect(lines()).toEqual(['warn no answer']);
    expect(failures.size).toBe(0);
  });

  it('uses the caller wording for recovery and summaries', () => {
    const { failures, lines, advance } = setup({ summaryEveryMs: MINUTE });
    failures.failure('mqtt', 'broker refused connection', undefined, { summary: 'broker still down' });
    advance(MINUTE);
    failures.failure('mqtt', 'broker refused connection');
    failures.success('mqtt', 'broker back');
    expect(lines()).toEqual([
      'warn broker refused connection',
      'warn broker still down after 2 attempts over 1m: broker refused connection',
      'info broker back after 2 failures over 1m',
    ]);
  });

  it('keeps keys independent', () => {
    const { failures, lines } = setup();
    failures.failure('device.a', 'a down');
    failures.failure('device.b', 'b down');
    failures.failure('device.a', 'a down');
    failures.success('device.b');
    expect(lines()).toEqual(['warn a down', 'warn b down', 'info recovered after 1 failure over 0ms']);
    expect(failures.size).toBe(1);
  });

  it('flush() emits due summaries only for keys with unreported failures', () => {
    const { failures, lines, advance } = setup({ summaryEveryMs: MINUTE });
    failures.failure('a', 'a down');
    failures.failure('b', 'b down');
    failures.failure('b', 'b down again');
    advance(30_000);
    expect(failures.flush()).toBe(0); // not due yet
    advance(30_000);
    expect(failures.flush()).toBe(1); // b has an unreported failure, a does not
    expect(lines()).toEqual([
      'warn a down',
      'warn b down',
      'warn still failing after 2 attempts over 1m: b down again',
    ]);
    advance(10 * MINUTE);
    expect(failures.flush()).toBe(0); // nothing new: no reminder
  });

  it('defaults the interval to the configured repeatSummaryMs, read at use time', () => {
    const { failures, lines, advance } = setup({});
    configureLogging({ ...currentLoggingOptions(), repeatSummaryMs: 10_000 });
    failures.failure('x', 'down');
    advance(10_000);
    failures.failure('x', 'down');
    expect(lines()).toEqual(['warn down', 'warn still failing after 2 attempts over 10s: down']);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [850, '850ms'],
    [999.9, '999ms'],
    [1_000, '1s'],
    [12_400, '12s'],
    [59_999, '59s'],
    [60_000, '1m'],
    [302_000, '5m 2s'],
    [63_000, '1m 3s'],
    [3_600_000, '1h'],
    [(2 * 60 + 3) * 60_000 + 59_000, '2h 3m'],
    [(3 * 24 + 4) * 3_600_000 + 5 * 60_000, '3d 4h'],
    [400 * 86_400_000, '400d'],
    [-5, '0ms'],
    [Number.NaN, 'unknown'],
  ])('formatDuration(%s) = %s', (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
  });
});

describe('BurstLog', () => {
  it('writes nothing more for a key that stays quiet, and forgets it', () => {
    const capture = captureLogs();
    captures.push(capture);
    const lines = () => capture.entries.map((entry) => `${entry.level} ${entry.ns} ${entry.msg}`);
    let now = 0;
    const burst = new BurstLog(getLogger('test'), { everyMs: 1_000, now: () => now });
    burst.record('k', 'first', 'ks');
    now = 5_000;
    expect(burst.flush()).toBe(0);
    burst.record('k', 'second', 'ks');
    expect(lines()).toEqual(['info test first', 'info test second']);
  });
});
