import { describe, expect, it } from 'vitest';
import { BusLinkDown } from '../src/drivers/contract.js';
import { nominalBackoffDelay } from '../src/machines/backoff.js';
import { deviceStatusOf } from '../src/machines/connectionModel.js';
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
    expect(delays.map((d, i) => Math.round(d / nominalBackoffDelay(DEFAULT_RECONNECT, i + 1)))).toEqual([
      1, 1, 1, 1, 1,
    ]);
    await advance(h.clock, 50);
    expect(deviceStatusOf(h.snapshot().value)).toBe('offline');
    expect(h.statuses().at(-1)).toBe('offline');
    h.stop();
  });
});

async function connected(h: ReturnType<typeof deviceHarness>) {
  h.send({ type: 'CONNECT' });
  await advance(h.clock, 60);
  expect(deviceStatusOf(h.snapshot().value)).toBe('connected.healthy');
}

function resultsOf(h: ReturnType<typeof deviceHarness>) {
  return h.notices.flatMap((n) =>
    n.type === 'device.commandResult' ? [{ id: n.commandId, ...n.result }] : [],
  );
}

describe('connection machine: health', () => {
  it('goes degraded after 3 consecutive failed operations and healthy again after one success', async () => {
    const h = deviceHarness({ policy: { pollIntervalMs: 1_000 } });
    await connected(h);
    h.runtime.script('dev1', 'fail', 'fail', 'fail');
    await advance(h.clock, 1_000);
    expect(h.snapshot().context.consecutiveFailures).toBeGreaterThanOrEqual(1);
    await advance(h.clock, 2_100);
    expect(deviceStatusOf(h.snapshot().value)).toBe('connected.degraded');
    expect(h.snapshot().context.consecutiveFailures).toBe(3);
    expect(h.snapshot().context.lastError).toMatch(/simulated poll failure/);
    await advance(h.clock, 1_000);
    expect(deviceStatusOf(h.snapshot().value)).toBe('connected.healthy');
    expect(h.snapshot().context.consecutiveFailures).toBe(0);
    expect(h.statuses()).toEqual([
      'connecting',
      'connected.healthy',
      'connected.degraded',
      'connected.healthy',
    ]);
    h.stop();
  });

  it('publishes poll results as data notices and records the last success', async () => {
    const h = deviceHarness({ policy: { pollIntervalMs: 15_000 } });
    await connected(h);
    await advance(h.clock, 30_000);
    const data = h.notices.filter((n) => n.type === 'device.data');
    expect(data.length).toBe(3); // at connect, +15 s, +30 s
    expect(h.snapshot().context.lastSuccessAt).toBeGreaterThan(29_000);
    h.stop();
  });
});

describe('connection machine: hotplug and link loss', () => {
  it('DEVICE_PRESENT cuts the backoff wait short', async () => {
    const h = deviceHarness();
    await connected(h);
    h.runtime.unplug();
    await advance(h.clock, 10);
    expect(deviceStatusOf(h.snapshot().value)).toBe('reconnecting');
    expect(h.snapshot().context.reason).toMatch(/link lost: simulated unplug/);
    await advance(h.clock, 500);
    h.runtime.plug();
    h.send({ type: 'DEVICE_PRESENT' });
    await advance(h.clock, 60);
    expect(deviceStatusOf(h.snapshot().value)).toBe('connected.healthy');
    expect(h.clock.now()).toBeLessThan(1_000); // well before the 1.6–2.4 s backoff
    h.stop();
  });

  it('DEVICE_PRESENT or a supervisor RETRY brings an offline device back with a fresh attempt budget', async () => {
    const h = deviceHarness({
      policy: { reconnect: { ...DEFAULT_RECONNECT, maxAttempts: 1, initialMs: 100 } },
    });
    h.runtime.unplug();
    h.send({ type: 'CONNECT' });
    await advance(h.clock, 500);
    expect(deviceStatusOf(h.snapshot().value)).toBe('offline');
    h.runtime.plug();
    h.send({ type: 'RETRY', reason: 'ladder: reopen' });
    await advance(h.clock, 60);
    expect(deviceStatusOf(h.snapshot().value)).toBe('connected.healthy');
    expect(h.snapshot().context.attempts).toBe(0);
    h.stop();
  });
});

describe("connection machine: an outage of the bus's shared link", () => {
  const linkDownFlags = (h: ReturnType<typeof deviceHarness>) =>
    h.notices.flatMap((n) => (n.type === 'device.status' ? [[n.status, n.busLinkDown === true]] : []));

  it('marks the transitions it causes, through the failed attempts, until the device is back', async () => {
    const h = deviceHarness({ policy: { reconnect: { ...DEFAULT_RECONNECT, initialMs: 100, maxMs: 100 } } });
    await connected(h);
    const connect = h.runtime.connect.bind(h.runtime);
    h.runtime.connect = async () => {
      throw new BusLinkDown('the gateway is unreachable');
    };
    h.send({ type: 'LINK_LOST', error: 'the gateway went', busLinkDown: true });
    await advance(h.clock, 150);
    h.runtime.connect = connect;
    await advance(h.clock, 200);
    expect(deviceStatusOf(h.snapshot().value)).toBe('connected.healthy');
    expect(linkDownFlags(h)).toEqual([
      ['connecting', false],
      ['connected.healthy', false],
      ['reconnecting', true],
      ['connecting', true],
      ['reconnecting', true],
      ['connecting', true],
      ['connected.healthy', false],
    ]);
    h.stop();
  });

  it("a device's own failure is not the bus's: a plain loss, a connect error of its own", async () => {
    const h = deviceHarness({ policy: { reconnect: { ...DEFAULT_RECONNECT, initialMs: 100, maxMs: 100 } } });
    await connected(h);
    h.runtime.connect = async () => {
      throw new Error('the lamp does not answer');
    };
    h.send({ type: 'LINK_LOST', error: 'the gateway went', busLinkDown: true });
    await advance(h.clock, 150);
    expect(linkDownFlags(h).slice(2)).toEqual([
      ['reconnecting', true],
      ['connecting', true],
      ['reconnecting', false],
    ]);
    h.stop();
  });
});

describe('connection machine: operation timeouts', () => {
  it('a hung connect fails after the connect timeout and is aborted', async () => {
    const h = deviceHarness({ policy: { timeouts: { connect: 3_000, default: 5_000 } } });
    h.runtime.script('dev1', 'hang');
    h.send({ type: 'CONNECT' });
    await advance(h.clock, 2_990);
    expect(deviceStatusOf(h.snapshot().value)).toBe('connecting');
    await advance(h.clock, 20);
    expect(deviceStatusOf(h.snapshot().value)).toBe('reconnecting');
    expect(h.snapshot().context.lastError).toBe('connect timed out after 3000 ms');
    h.stop();
  });

  it('a hung operation is a failure after its own timeout from the table, never a hang', async () => {
    const h = deviceHarness({ policy: { timeouts: { connect: 1_000, default: 5_000, set: 2_000 } } });
    await connected(h);
    h.runtime.script('dev1', 'hang', 'ok');
    h.send({ type: 'COMMAND', id: 'c1', operation: 'set', args: { level: 10 } });
    await advance(h.clock, 1_990);
    expect(h.snapshot().context.consecutiveFailures).toBe(0);
    await advance(h.clock, 20);
    expect(h.snapshot().context.consecutiveFailures).toBe(1);
    expect(h.snapshot().context.lastError).toBe('set timed out after 2000 ms');
    // retried after 0.5 s, and the retry succeeds
    await advance(h.clock, 520);
    expect(resultsOf(h)).toEqual([{ id: 'c1', ok: true, result: { level: 10 } }]);
    h.stop();
  });
});

describe('connection machine: commands', () => {
  it('retries a failed command after 0.5, 1 and 1.5 s, then answers with an error', async () => {
    const h = deviceHarness({ simulation: { operationDelayMs: 0 } });
    await connected(h);
    h.runtime.recordCalls = true;
    h.runtime.script('dev1', 'fail', 'fail', 'fail', 'fail');
    const start = h.clock.now();
    h.send({ type: 'COMMAND', id: 'c1', operation: 'set', args: 1 });
    expect(h.runtime.calls).toEqual(['set dev1']); // the first run starts at once
    const runAt: number[] = [start];
    for (let t = 0; t < 4_000; t += 10) {
      const before = h.runtime.calls.length;
      await advance(h.clock, 10);
      if (h.runtime.calls.length > before) runAt.push(h.clock.now());
    }
    expect(runAt).toHaveLength(4);
    // Each retry waits its delay after the previous run failed (a run takes one 10 ms clock step here).
    const gaps = runAt.slice(1).map((t, i) => t - (runAt[i] ?? 0));
    [500, 1_000, 1_500].forEach((delay, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(delay);
      expect(gaps[i]).toBeLessThanOrEqual(delay + 20);
    });
    expect(resultsOf(h)).toEqual([
      { id: 'c1', ok: false, error: 'set failed after 4 tries: simulated set failure' },
    ]);
    h.stop();
  });

  it('holds commands while disconnected and runs them in order once connected', async () => {
    const h = deviceHarness();
    h.send({ type: 'COMMAND', id: 'a', operation: 'set', args: 1 });
    h.send({ type: 'COMMAND', id: 'b', operation: 'get', args: null });
    await advance(h.clock, 1_000);
    expect(resultsOf(h)).toEqual([]);
    expect(h.snapshot().context.commands.map((c: { id: string }) => c.id)).toEqual(['a', 'b']);
    await connected(h);
    await advance(h.clock, 50);
    expect(resultsOf(h)).toEqual([
      { id: 'a', ok: true, result: 1 },
      { id: 'b', ok: true, result: 1 },
    ]);
    h.stop();
  });

  it('answers a command that waited longer than its time-to-live with an error', async () => {
    const h = deviceHarness({ policy: { commands: { queueSize: 10, ttlMs: 5_000, retryDelaysMs: [500] } } });
    h.send({ type: 'COMMAND', id: 'late', operation: 'set', args: 1 });
    await advance(h.clock, 4_990);
    expect(resultsOf(h)).toEqual([]);
    await advance(h.clock, 20);
    expect(resultsOf(h)).toEqual([
      { id: 'late', ok: false, error: 'command expired after waiting 5 s (device dev1 is not connected)' },
    ]);
    expect(h.snapshot().context.commands).toEqual([]);
    h.stop();
  });

  it('refuses a command when the queue is full instead of dropping one', async () => {
    const h = deviceHarness({ policy: { commands: { queueSize: 2, ttlMs: 60_000, retryDelaysMs: [] } } });
    for (const id of ['1', '2', '3']) h.send({ type: 'COMMAND', id, operation: 'set', args: id });
    await advance(h.clock, 10);
    expect(resultsOf(h)).toEqual([
      { id: '3', ok: false, error: 'command queue of dev1 is full (2 waiting)' },
    ]);
    // Marked as a refusal, which the log counts instead of writing a line for each (noticeLog.ts).
    expect(h.notices.find((n) => n.type === 'device.commandResult')).toMatchObject({ refused: 'queue_full' });
    expect(h.snapshot().context.commands).toHaveLength(2);
    h.stop();
  });

  it('keeps a command queued when the link drops mid-operation and answers it after the reconnect', async () => {
    const h = deviceHarness({
      simulation: { operationDelayMs: 1_000 },
      policy: { reconnect: { ...DEFAULT_RECONNECT, initialMs: 100, maxMs: 100 } },
    });
    await connected(h);
    h.send({ type: 'COMMAND', id: 'x', operation: 'set', args: 7 });
    await advance(h.clock, 500);
    h.runtime.dropDevice('dev1');
    await advance(h.clock, 10);
    expect(deviceStatusOf(h.snapshot().value)).toBe('reconnecting');
    expect(h.snapshot().context.commands).toHaveLength(1);
    await advance(h.clock, 1_300);
    expect(resultsOf(h)).toEqual([{ id: 'x', ok: true, result: 7 }]);
    h.stop();
  });

  it('answers every waiting command with an error when the device is stopped', async () => {
    const h = deviceHarness();
    h.send({ type: 'COMMAND', id: 'q', operation: 'set', args: 1 });
    h.send({ type: 'DISCONNECT', reason: 'shutdown' });
    await advance(h.clock, 10);
    expect(resultsOf(h)).toEqual([{ id: 'q', ok: false, error: 'device dev1 stopped: shutdown' }]);
    h.stop();
  });
});

describe('connection machine: a command flood', () => {
  /** When each poll's reading arrived, from the moment of `from` on. */
  const pollTimes = (h: ReturnType<typeof deviceHarness>, from: number) =>
    h.notices.flatMap((n) =>
      n.type === 'device.data' && n.operation === 'poll' && n.at >= from ? [n.at] : [],
    );

  it('keeps the poll at its period while commands arrive faster than the device runs them', async () => {
    const h = deviceHarness({ policy: { pollIntervalMs: 500 }, simulation: { operationDelayMs: 40 } });
    await connected(h);
    const start = h.clock.now();
    // 5 s of a command every 10 ms: four times what the device can run, the queue always full.
    for (let i = 0; i < 500; i++) {
      h.send({ type: 'COMMAND', id: `c${i}`, operation: i % 2 ? 'get' : 'set', args: i });
      await advance(h.clock, 10);
    }
    const polls = pollTimes(h, start);
    const gaps = polls.slice(1).map((at, i) => at - (polls[i] ?? 0));
    expect(polls.length).toBeGreaterThanOrEqual(9);
    // A due poll waits at most for the operation that is running (40 ms) and a clock step.
    expect(Math.max(...gaps)).toBeLessThanOrEqual(500 + 40 + 20);
    // The flood is still served between the polls.
    expect(resultsOf(h).filter((r) => r.ok).length).toBeGreaterThan(80);
    h.stop();
  });

  it('polls on time while the head command waits for its retry', async () => {
    const h = deviceHarness({
      policy: { pollIntervalMs: 500, commands: { queueSize: 10, ttlMs: 60_000, retryDelaysMs: [3_000] } },
      simulation: { operationDelayMs: 0 },
    });
    await connected(h);
    h.runtime.script('dev1', 'fail');
    const start = h.clock.now();
    h.send({ type: 'COMMAND', id: 'slow', operation: 'set', args: 1 });
    await advance(h.clock, 3_100);
    const polls = pollTimes(h, start);
    expect(polls.length).toBeGreaterThanOrEqual(6);
    expect(resultsOf(h)).toEqual([{ id: 'slow', ok: true, result: 1 }]);
    h.stop();
  });
});
