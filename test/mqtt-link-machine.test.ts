import { createActor, fromCallback } from 'xstate';
import { describe, expect, it } from 'vitest';
import { nominalBackoffDelay } from '../src/machines/backoff.js';
import { linkMachine } from '../src/mqtt/linkMachine.js';
import {
  type ClientCommand,
  type ClientReport,
  type LinkEmitted,
  type LinkInput,
  linkStateOf,
} from '../src/mqtt/linkModel.js';
import { DEFAULT_LINK_TIMING } from '../src/mqtt/settings.js';
import { advance, simulatedClock } from './helpers/time.js';

// The link machine with a fake client actor and simulated time: transitions, backoff, watchdog, stop.

interface FakeClient {
  received: ClientCommand[];
  stopped: boolean;
  report(event: ClientReport): void;
}

function linkHarness(overrides: Partial<LinkInput> = {}) {
  const clock = simulatedClock();
  const clients: FakeClient[] = [];
  const client = fromCallback<ClientCommand>(({ sendBack, receive }) => {
    const fake: FakeClient = { received: [], stopped: false, report: (event) => sendBack(event) };
    clients.push(fake);
    receive((command) => fake.received.push(command));
    return () => {
      fake.stopped = true;
    };
  });
  const { backoff, connectTimeoutMs, stuckClientMs, stopTimeoutMs } = DEFAULT_LINK_TIMING;
  const input: LinkInput = { backoff, connectTimeoutMs, stuckClientMs, stopTimeoutMs, ...overrides };
  const actor = createActor(linkMachine.provide({ actors: { client } }), { input, clock });
  const emitted: LinkEmitted[] = [];
  actor.on('*', (event) => emitted.push(event));
  actor.start();
  const latest = () => {
    const fake = clients.at(-1);
    if (!fake) throw new Error('no client was started');
    return fake;
  };
  return {
    clock,
    actor,
    clients,
    emitted,
    latest,
    state: () => linkStateOf(actor.getSnapshot().value),
    context: () => actor.getSnapshot().context,
    /** Waits out the current backoff; the link is `reconnecting` with a fresh client afterwards. */
    async waitForNextAttempt() {
      const { nextAttemptAt } = actor.getSnapshot().context;
      await advance(clock, (nextAttemptAt ?? 0) - clock.now(), 50);
    },
  };
}

describe('MQTT link machine: connecting and reconnecting', () => {
  it('goes online on CONNECTED and subscribes to every filter each time it comes online', async () => {
    const h = linkHarness();
    expect(h.state()).toBe('connecting');
    h.actor.send({ type: 'SUBSCRIBE', filter: 'fb/+/set' });
    h.latest().report({ type: 'CONNECTED' });
    expect(h.state()).toBe('online');
    expect(h.latest().received).toEqual([{ type: 'SUBSCRIBE', filters: ['fb/+/set'] }]);

    h.actor.send({ type: 'SUBSCRIBE', filter: 'fb/bridge/request' });
    expect(h.latest().received.at(-1)).toEqual({ type: 'SUBSCRIBE', filters: ['fb/bridge/request'] });

    const first = h.latest();
    first.report({ type: 'CLOSED', reason: 'read ECONNRESET' });
    expect(h.state()).toBe('offline');
    expect(first.stopped).toBe(true);
    expect(h.context().reason).toMatch(/^connection lost: read ECONNRESET; retry 1 in \d+ ms$/);

    await h.waitForNextAttempt();
    expect(h.state()).toBe('reconnecting');
    expect(h.clients).toHaveLength(2);
    h.latest().report({ type: 'CONNECTED' });
    expect(h.state()).toBe('online');
    expect(h.latest().received).toEqual([{ type: 'SUBSCRIBE', filters: ['fb/+/set', 'fb/bridge/request'] }]);
    expect(h.context().attempts).toBe(0);
  });

  it('backs off 1, 2, 4, 8, 16, 30, 30 … s (±20 %, never above 30 s) and never gives up', async () => {
    const h = linkHarness();
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 10; attempt++) {
      h.latest().report({ type: 'CLOSED', reason: 'connect ECONNREFUSED 127.0.0.1:1883' });
      expect(h.state()).toBe('offline');
      expect(h.context().attempts).toBe(attempt);
      const delay = (h.context().nextAttemptAt ?? 0) - h.clock.now();
      const nominal = nominalBackoffDelay({ ...DEFAULT_LINK_TIMING.backoff, maxAttempts: 0 }, attempt);
      expect(delay).toBeGreaterThanOrEqual(nominal * 0.8 - 1);
      expect(delay).toBeLessThanOrEqual(Math.min(nominal * 1.2 + 1, 30_000));
      delays.push(Math.round(delay / nominal));
      await advance(h.clock, delay - 50, 50);
      expect(h.state()).toBe('offline');
      await advance(h.clock, 50);
      expect(h.state()).toBe('reconnecting');
      expect(h.clients).toHaveLength(attempt + 1);
      expect(h.clients.slice(0, -1).every((client) => client.stopped)).toBe(true);
    }
    expect(delays).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(h.context().reason).toBe('attempt 11');
  });

  it('rejects a publish at once while not online, and forwards it while online', () => {
    const h = linkHarness();
    h.actor.send({ type: 'PUBLISH', id: 1, topic: 'fb/x', payload: '1', qos: 1, retain: false });
    expect(h.emitted).toEqual([
      { type: 'publish.settled', id: 1, error: expect.stringMatching(/not connected .*link connecting/) },
    ]);
    h.latest().report({ type: 'CONNECTED' });
    h.actor.send({ type: 'PUBLISH', id: 2, topic: 'fb/x', payload: '2', qos: 1, retain: true });
    expect(h.latest().received).toEqual([
      { type: 'PUBLISH', id: 2, topic: 'fb/x', payload: '2', qos: 1, retain: true },
    ]);
    h.latest().report({ type: 'PUBLISH_SETTLED', id: 2, error: null });
    expect(h.emitted.at(-1)).toEqual({ type: 'publish.settled', id: 2, error: null });
  });
});

describe('MQTT link machine: watchdog', () => {
  it('drops a client that gets no CONNACK within the connect timeout and tries again with a fresh one', async () => {
    const h = linkHarness({ connectTimeoutMs: 10_000 });
    await advance(h.clock, 9_950, 50);
    expect(h.state()).toBe('connecting');
    await advance(h.clock, 50);
    expect(h.state()).toBe('offline');
    expect(h.clients[0]?.stopped).toBe(true);
    expect(h.context().lastError).toMatch(/client stuck \(no CONNACK within 10000 ms\): forcibly ended/);
    await h.waitForNextAttempt();
    expect(h.state()).toBe('reconnecting');
    expect(h.clients).toHaveLength(2);
    expect(h.latest().stopped).toBe(false);
  });

  it('replaces an online client stuck closing after an error, once stuckClientMs has passed', async () => {
    const h = linkHarness({ stuckClientMs: 10_000 });
    h.latest().report({ type: 'CONNECTED' });
    await advance(h.clock, 5_000, 100);
    h.latest().report({ type: 'ERROR', message: 'Keepalive timeout', goingDown: true });
    await advance(h.clock, 9_900, 100);
    expect(h.state()).toBe('online');
    await advance(h.clock, 100);
    expect(h.state()).toBe('offline');
    expect(h.clients[0]?.stopped).toBe(true);
    expect(h.context().lastError).toMatch(/still not closed 10000 ms after "Keepalive timeout"/);
    await h.waitForNextAttempt();
    expect(h.clients).toHaveLength(2);
  });

  it('replaces a client that the broker announced to close (DISCONNECT) but that stays open', async () => {
    const h = linkHarness({ stuckClientMs: 2_000 });
    h.latest().report({ type: 'CONNECTED' });
    h.latest().report({ type: 'DISCONNECTING', reason: 'broker sent DISCONNECT (reason code 139)' });
    await advance(h.clock, 2_000, 100);
    expect(h.state()).toBe('offline');
    expect(h.context().lastError).toMatch(/after broker sent DISCONNECT/);
  });

  it('leaves alone a client that recovers from an error or closes in time', async () => {
    const h = linkHarness({ stuckClientMs: 10_000 });
    h.latest().report({ type: 'CONNECTED' });
    h.latest().report({ type: 'ERROR', message: 'Protocol error: stray PUBACK', goingDown: false });
    await advance(h.clock, 20_000, 100);
    expect(h.state()).toBe('online');

    h.latest().report({ type: 'ERROR', message: 'read ECONNRESET', goingDown: true });
    h.latest().report({ type: 'CLOSED', reason: 'read ECONNRESET' });
    await h.waitForNextAttempt();
    h.latest().report({ type: 'CONNECTED' });
    // The first client's watchdog deadline passes while the second one is online: nothing happens.
    await advance(h.clock, 12_000, 100);
    expect(h.state()).toBe('online');
    expect(h.clients).toHaveLength(2);
  });
});

describe('MQTT link machine: stop', () => {
  it('asks the client to end cleanly and is stopped when it has', () => {
    const h = linkHarness();
    h.latest().report({ type: 'CONNECTED' });
    h.actor.send({ type: 'STOP' });
    expect(h.state()).toBe('stopping');
    expect(h.latest().received.at(-1)).toEqual({ type: 'END' });
    h.latest().report({ type: 'ENDED' });
    expect(h.state()).toBe('stopped');
    expect(h.actor.getSnapshot().status).toBe('done');
    expect(h.latest().stopped).toBe(true);
  });

  it('ends the client by force when the clean end never completes', async () => {
    const h = linkHarness({ stopTimeoutMs: 1_000 });
    h.latest().report({ type: 'CONNECTED' });
    h.actor.send({ type: 'STOP' });
    await advance(h.clock, 950, 50);
    expect(h.state()).toBe('stopping');
    await advance(h.clock, 50);
    expect(h.state()).toBe('stopped');
    expect(h.latest().stopped).toBe(true);
    expect(h.context().reason).toMatch(/took over 1000 ms: client ended by force/);
  });

  it('stays on its way to stopped when the client errors while ending', async () => {
    const h = linkHarness({ stopTimeoutMs: 5_000, stuckClientMs: 1_000 });
    h.latest().report({ type: 'CONNECTED' });
    h.actor.send({ type: 'STOP' });
    h.latest().report({ type: 'ERROR', message: 'client disconnecting', goingDown: true });
    await advance(h.clock, 4_900, 100);
    expect(h.state()).toBe('stopping');
    await advance(h.clock, 100);
    expect(h.state()).toBe('stopped');
    expect(h.clients).toHaveLength(1);
  });

  it('stops at once while offline, and tries nothing afterwards', async () => {
    const h = linkHarness();
    h.latest().report({ type: 'CLOSED', reason: 'connect ECONNREFUSED' });
    h.actor.send({ type: 'STOP' });
    expect(h.state()).toBe('stopped');
    await advance(h.clock, 60_000, 1_000);
    expect(h.clients).toHaveLength(1);
    expect(h.state()).toBe('stopped');
  });
});
