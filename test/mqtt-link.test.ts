import type { MqttClient } from 'mqtt';
import { connect as mqttConnect } from 'mqtt';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { captureLogs, type LogCapture } from '../src/logging/index.js';
import { MqttLink, type MqttLinkOptions } from '../src/mqtt/link.js';
import type { LinkState } from '../src/mqtt/linkModel.js';
import type { MqttLinkSettings } from '../src/mqtt/settings.js';
import { bridgeStateTopic } from '../src/mqtt/topics.js';
import { eventually } from './helpers/eventually.js';
import { describeWithMosquitto, Mosquitto, Recorder } from './helpers/mosquitto.js';

// The MQTT link against a real Mosquitto that the tests stop, kill, freeze and restart. Real time, so
// the backoff is shortened; the full schedule is checked in simulated time (mqtt-link-machine.test.ts).

const FAST_TIMING = {
  backoff: { initialMs: 200, factor: 2, maxMs: 1_000, jitter: 0.2 },
  connectTimeoutMs: 2_000,
  stuckClientMs: 2_000,
  stopTimeoutMs: 1_000,
  publishTimeoutMs: 5_000,
};

let broker: Mosquitto;
let logs: LogCapture;
let testNumber = 0;
let base: string;
const cleanups: (() => Promise<void>)[] = [];

function settings(url: string): MqttLinkSettings {
  return {
    url,
    baseTopic: base,
    clientId: `fieldbridge-test-${process.pid}-${testNumber}`,
    keepaliveS: 60,
    protocolVersion: 4,
    tls: { rejectUnauthorized: true },
  };
}

/** Starts a link and records its states; it is stopped after the test. */
function startLink(options: MqttLinkOptions = {}) {
  const link = new MqttLink(settings(broker.url), {
    ...options,
    timing: { ...FAST_TIMING, ...options.timing },
  });
  const states: LinkState[] = [link.state];
  link.onStateChange((state) => states.push(state));
  link.start();
  cleanups.push(() => link.stop());
  return { link, states };
}

async function recorder(filters: string | string[]): Promise<Recorder> {
  const started = await Recorder.start(broker.url, filters);
  cleanups.push(() => started.close());
  return started;
}

function untilState(link: MqttLink, state: LinkState, timeoutMs = 5_000): Promise<void> {
  return eventually(() => link.state === state, {
    what: `link ${state}`,
    timeoutMs,
    detail: () => `it is ${link.state}`,
  });
}

/** The retained bridge state a new subscriber gets. */
async function retainedBridgeState(): Promise<{ payload: string; retain: boolean }> {
  const fresh = await recorder(bridgeStateTopic(base));
  return fresh.waitFor(() => true);
}

/** Publishes from an outside client until `received` holds (the link's SUBACK may still be on its way). */
async function publishUntil(topic: string, payload: string, received: () => boolean): Promise<void> {
  const outsider = await recorder('unused/#');
  await eventually(
    () => {
      if (!received()) outsider.client.publish(topic, payload, { qos: 1 });
      return received();
    },
    { what: `delivery of ${topic}` },
  );
}

describeWithMosquitto('MQTT link against Mosquitto', () => {
  beforeAll(async () => {
    broker = await Mosquitto.start();
  });
  afterAll(async () => {
    await broker?.dispose();
  });
  beforeEach(async () => {
    testNumber += 1;
    base = `fbtest${testNumber}`;
    if (broker.pid === undefined) await broker.restart();
    logs = captureLogs({ level: 'info' });
  });
  afterEach(async () => {
    broker.resume();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    logs.stop();
  });

  it('connects, says online (retained), publishes with PUBACK, delivers subscribed messages, stops offline', async () => {
    const { link, states } = startLink();
    await untilState(link, 'online');
    expect(await retainedBridgeState()).toEqual({
      topic: bridgeStateTopic(base),
      payload: '{"state":"online"}',
      retain: true,
    });

    const seen = await recorder(`${base}/dev1/state`);
    await link.publish(`${base}/dev1/state`, '{"t":21.5}', { qos: 1 });
    await seen.waitFor((message) => message.payload === '{"t":21.5}');

    const commands: string[] = [];
    link.subscribe(`${base}/+/set`, ({ topic, payload }) => commands.push(`${topic} ${payload.toString()}`));
    await publishUntil(`${base}/lamp1/set`, 'ON', () => commands.length > 0);
    expect(commands[0]).toBe(`${base}/lamp1/set ON`);

    const startedAt = Date.now();
    await link.stop();
    expect(Date.now() - startedAt).toBeLessThan(500);
    expect(link.state).toBe('stopped');
    expect(states).toEqual(['connecting', 'online', 'stopping', 'stopped']);
    expect(await retainedBridgeState()).toMatchObject({ payload: '{"state":"offline"}', retain: true });
    await expect(link.publish(`${base}/x`, 'late')).rejects.toThrow(/not connected .*stopped/);
  });

  it('leaves a Last Will that says offline (retained) when its connection dies without DISCONNECT', async () => {
    let client: MqttClient | undefined;
    const { link } = startLink({
      // No retry during the test, so the retained state is the Will's, not a new "online".
      timing: { backoff: { initialMs: 60_000, factor: 2, maxMs: 60_000, jitter: 0 } },
      connect: (url, options) => (client = mqttConnect(url, options)),
    });
    await untilState(link, 'online');
    const watcher = await recorder(bridgeStateTopic(base));
    client?.stream.destroy();
    await watcher.waitFor((message) => message.payload === '{"state":"offline"}');
    expect(await retainedBridgeState()).toMatchObject({ payload: '{"state":"offline"}', retain: true });
    expect(link.state).toBe('offline');
  });

  it('survives the broker being killed: rejects at once, comes back by itself, subscriptions restored', async () => {
    const { link, states } = startLink();
    const commands: string[] = [];
    link.subscribe(`${base}/cmd/#`, ({ payload }) => commands.push(payload.toString()));
    await untilState(link, 'online');
    await publishUntil(`${base}/cmd/a`, 'before', () => commands.includes('before'));

    // A hung broker takes the publish but never acknowledges it; then it dies.
    broker.freeze();
    const unacknowledged = link.publish(`${base}/dev1/state`, 'in flight');
    const outcome = unacknowledged.then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    await broker.kill();
    const killedAt = Date.now();
    expect(await outcome).toMatch(/MQTT link went offline before the broker acknowledged/);
    expect(Date.now() - killedAt).toBeLessThan(500);
    await untilState(link, 'offline', 1_000);

    const whileOffline = Date.now();
    await expect(link.publish(`${base}/dev1/state`, 'while offline')).rejects.toThrow(/not connected/);
    expect(Date.now() - whileOffline).toBeLessThan(50);

    // Let at least one attempt fail against the dead port, then bring the broker back.
    await eventually(() => link.health.attempts >= 2, {
      what: 'a failed reconnect attempt',
      timeoutMs: 3_000,
    });
    await broker.restart();
    await untilState(link, 'online', 3_000);
    expect(states.slice(0, 4)).toEqual(['connecting', 'online', 'offline', 'reconnecting']);
    expect(new Set(states)).toEqual(new Set(['connecting', 'online', 'offline', 'reconnecting']));
    expect(await retainedBridgeState()).toMatchObject({ payload: '{"state":"online"}', retain: true });
    // Mosquitto lost every session (persistence false): only our own resubscription can deliver this.
    await publishUntil(`${base}/cmd/b`, 'after', () => commands.includes('after'));
    await link.publish(`${base}/dev1/state`, 'after restart');

    // The outage is two lines however many attempts failed: one warning, one recovery.
    const outage = logs.entries.filter((entry) => entry.ns === 'mqtt' && entry.level !== 'debug');
    expect(outage.map((entry) => entry.msg)).toEqual([
      expect.stringMatching(/^connecting → online/),
      expect.stringMatching(/^lost the MQTT broker at mqtt:\/\/127\.0\.0\.1:\d+: connection lost: /),
      expect.stringMatching(/^online again, connected to mqtt:.* after [2-9] failures over /),
    ]);
  });

  it('rejects a publish the broker does not acknowledge within publishTimeoutMs', async () => {
    const { link } = startLink({ timing: { publishTimeoutMs: 300 } });
    await untilState(link, 'online');
    broker.freeze();
    const startedAt = Date.now();
    await expect(link.publish(`${base}/dev1/state`, 'x')).rejects.toThrow(/no PUBACK .* within 300 ms/);
    expect(Date.now() - startedAt).toBeLessThan(600);
    broker.resume();
  });

  it('stop() ends a client whose end() never completes by force, within the stop timeout', async () => {
    let client: MqttClient | undefined;
    const { link } = startLink({
      timing: { stopTimeoutMs: 300 },
      connect: (url, options) => {
        const created = mqttConnect(url, options);
        const end = created.end.bind(created);
        // The known mqtt.js failure: a clean end() that never finishes leaves the client "disconnecting".
        created.end = ((force?: unknown, ...rest: never[]) => {
          if (force === true) return end(true, ...rest);
          created.disconnecting = true;
          return created;
        }) as MqttClient['end'];
        return (client = created);
      },
    });
    await untilState(link, 'online');
    const startedAt = Date.now();
    await link.stop();
    const took = Date.now() - startedAt;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(800);
    expect(link.health.reason).toMatch(/client ended by force/);
    expect(client?.stream.destroyed).toBe(true);
    expect(await retainedBridgeState()).toMatchObject({ payload: '{"state":"offline"}' });
  });
});
