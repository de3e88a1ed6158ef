import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../src/config/index.js';
import { runGateway } from '../src/gateway.js';
import { applyServiceSettings, type LiveParts } from '../src/gateway/liveSettings.js';
import { ConfigReloader } from '../src/gateway/reload.js';
import { getLogger } from '../src/logging/index.js';
import { gapsIn, readingSeqs, Subscriber } from './helpers/gatewayRig.js';
import { waitUntil } from './helpers/httpRig.js';
import { describeWithMosquitto, freePort, Mosquitto } from './helpers/mosquitto.js';

// Config hot reload of the service sections: what is refused (with the key named), what each part
// does with its own section, and, in a running gateway, the MQTT link moving to another broker and the
// HTTP server to another port while everything else keeps running.

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

function configFile(text: string): { path: string; write(text: string): void } {
  const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-reload-'));
  const path = join(dir, 'fieldbridge.yaml');
  writeFileSync(path, text);
  return { path, write: (next) => writeFileSync(path, next) };
}

describe('ConfigReloader', () => {
  async function reloader(first: string) {
    const file = configFile(first);
    const applied: string[][] = [];
    let failure: Error | undefined;
    const target = {
      apply: async (_next: unknown, changed: readonly string[]) => {
        if (failure) throw failure;
        applied.push([...changed]);
        return {};
      },
    };
    const reloads = new ConfigReloader(file.path, await loadConfigFile(file.path, {}), {}, target);
    return { file, applied, reloads, fail: (error: Error | undefined) => (failure = error) };
  }

  it('hands the changed service keys to the gateway, section by section', async () => {
    const { file, applied, reloads } = await reloader('mqtt: { server: mqtt://a:1883 }\n');
    file.write(
      'mqtt: { server: mqtt://b:1884, keepalive_s: 30 }\nhttp: { port: 8081 }\nqueue: { inflight: 5 }\n',
    );
    expect(await reloads.reload()).toEqual({ ok: true, data: {} });
    expect(applied).toEqual([['mqtt.server', 'mqtt.keepalive_s', 'queue.inflight', 'http.port']]);
    // Compared with what now runs: the same file again changes nothing.
    expect(await reloads.reload()).toEqual({ ok: true, data: {} });
    expect(applied.at(-1)).toEqual([]);
  });

  it('refuses a change that needs a restart, naming the key and why, and applies nothing', async () => {
    const { file, applied, reloads } = await reloader('devices: []\n');
    file.write('mqtt: { base_topic: other }\npersistence: { path: /tmp/elsewhere.db }\nhttp: { port: 9 }\n');
    const outcome = await reloads.reload();
    expect(outcome.ok).toBe(false);
    expect(outcome.ok ? '' : outcome.error).toMatch(
      /^mqtt\.base_topic, persistence\.path changed, which takes effect only when fieldbridge restarts \(mqtt\.base_topic: every topic.*; persistence\.path: the database is opened once, at start\); nothing was changed/,
    );
    expect(applied).toEqual([]);
  });

  it('keeps the running config when the gateway cannot apply the new one', async () => {
    const { file, applied, reloads, fail } = await reloader('devices: []\n');
    file.write('mqtt: { embedded_port: 1 }\n');
    fail(new Error('port 1 on 127.0.0.1 is already in use'));
    expect(await reloads.reload()).toEqual({
      ok: false,
      error:
        'the new config could not be applied, the running one stays: port 1 on 127.0.0.1 is already in use',
    });
    fail(undefined);
    // Still compared with the config that runs, so the same change is tried again.
    expect((await reloads.reload()).ok).toBe(true);
    expect(applied).toEqual([['mqtt.embedded_port']]);
  });
});

describe('applyServiceSettings', () => {
  it('reconnects MQTT first, then applies storage in place and rebinds HTTP, each only when its keys changed', async () => {
    const calls: string[] = [];
    const parts: LiveParts = {
      mqtt: {
        reconfigure: async (next, discoveryPrefix) => {
          calls.push(`mqtt ${next.server ?? ''} ${discoveryPrefix}`);
          return true;
        },
      },
      persistence: {
        reconfigure: (settings) => calls.push(`persistence ${settings.maxMessages} ${settings.synchronous}`),
      },
      http: {
        rebind: async (http) => {
          calls.push(`http ${http.port}`);
          return `http://127.0.0.1:${http.port}`;
        },
      },
      log: getLogger('test'),
    };
    const file = configFile(
      'mqtt: { server: mqtt://b:1884 }\nqueue: { max_messages: 50 }\nhttp: { port: 8081 }\n',
    );
    const next = await loadConfigFile(file.path, {});
    const changed = ['mqtt.server', 'queue.max_messages', 'http.port'];
    expect(await applyServiceSettings(next, changed, parts)).toEqual({
      settings: changed,
      mqtt: 'reconnected',
      http: 'http://127.0.0.1:8081',
    });
    expect(calls).toEqual(['mqtt mqtt://b:1884 homeassistant', 'persistence 50 normal', 'http 8081']);
    calls.length = 0;
    // queue.inflight is the drainer's (through the bridge's config): no part here is touched.
    expect(await applyServiceSettings(next, ['queue.inflight'], parts)).toEqual({
      settings: ['queue.inflight'],
    });
    expect(calls).toEqual([]);
    // A moved discovery prefix reaches the embedded broker's rules, without a reconnect of the link.
    const moved = await loadConfigFile(
      configFile('mqtt: { server: mqtt://b:1884 }\nhomeassistant: { discovery_prefix: ha2 }\n').path,
      {},
    );
    expect(await applyServiceSettings(moved, ['homeassistant.discovery_prefix'], parts)).toEqual({
      settings: ['homeassistant.discovery_prefix'],
    });
    expect(calls).toEqual(['mqtt mqtt://b:1884 ha2']);
  });
});

/** Starts the gateway on the config file, as `fieldbridge start --config <path>` does. */
async function startGateway(path: string): Promise<void> {
  const stop = new AbortController();
  const running = runGateway(await loadConfigFile(path, {}), { configSource: path, signal: stop.signal });
  cleanups.push(() => {
    stop.abort();
    return running;
  });
}

describe('config reload in the running gateway', () => {
  it('moves the HTTP server to a new port and nothing else', async () => {
    const [mqttPort, oldPort, newPort] = [await freePort(), await freePort(), await freePort()];
    const database = join(mkdtempSync(join(tmpdir(), 'fieldbridge-reload-db-')), 'fb.db');
    const config = (httpPort: number) =>
      [
        `mqtt: { embedded_port: ${mqttPort} }`,
        `http: { port: ${httpPort} }`,
        `persistence: { path: ${database} }`,
        'logging: { level: warn }',
        'devices: [{ id: m1, driver: simulated, poll_interval_ms: 50 }]',
        '',
      ].join('\n');
    const file = configFile(config(oldPort));
    await startGateway(file.path);
    const reads = async (port: number) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return Number(/^fieldbridge_reads_total\{device="m1"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    await waitUntil(
      'readings counted on the old port',
      async () => (await reads(oldPort).catch(() => 0)) > 3,
    );
    const before = await reads(oldPort);

    file.write(config(newPort));
    await waitUntil(
      'the new port',
      async () => (await fetch(`http://127.0.0.1:${newPort}/health`).catch(() => null)) !== null,
      10_000,
    );
    await expect(fetch(`http://127.0.0.1:${oldPort}/health`)).rejects.toThrow();
    // The same metrics, still counting: the gateway went on, only its HTTP server moved.
    expect(await reads(newPort)).toBeGreaterThanOrEqual(before);
    await waitUntil('readings go on', async () => (await reads(newPort)) > before + 3);
    const metrics = await (await fetch(`http://127.0.0.1:${newPort}/metrics`)).text();
    expect(metrics).toMatch(/^fieldbridge_mqtt_connected 1$/m);
    expect(metrics).not.toMatch(/^fieldbridge_restarts_total\{/m);
  }, 30_000);
});

describe('config reload of health in the running gateway', () => {
  it('publishes bridge/health and refreshes device states at the new pace, with discovery sent again', async () => {
    const mqttPort = await freePort();
    const database = join(mkdtempSync(join(tmpdir(), 'fieldbridge-reload-db-')), 'fb.db');
    const config = (healthMs: number, refreshMs: number) =>
      [
        `mqtt: { embedded_port: ${mqttPort} }`,
        'http: { enabled: false }',
        `persistence: { path: ${database} }`,
        'logging: { level: warn }',
        `health: { interval_ms: ${healthMs}, state_refresh_ms: ${refreshMs} }`,
        'devices: [{ id: m1, driver: simulated, poll_interval_ms: 600000 }]',
        '',
      ].join('\n');
    const file = configFile(config(60_000, 600_000));
    await startGateway(file.path);
    // The embedded broker is up once the gateway has started it.
    let subscriber: Subscriber | undefined;
    await waitUntil('the embedded broker', async () => {
      subscriber = await Subscriber.start(`mqtt://127.0.0.1:${mqttPort}`, [
        'fieldbridge/#',
        'homeassistant/#',
      ]).catch(() => undefined);
      return subscriber !== undefined;
    });
    if (subscriber === undefined) throw new Error('no subscriber');
    const connected = subscriber;
    cleanups.push(() => connected.close());
    const healthCount = () => connected.on('fieldbridge/bridge/health').length;
    const stateCount = () => connected.on('fieldbridge/m1').length;
    await connected.waitFor('the first reading', () => stateCount() > 0);
    // The start is over (its status changes are published at once, not at the pace under test).
    await connected.waitFor('online', () =>
      connected.json<{ status: string }>('fieldbridge/bridge/health').some((h) => h.status === 'online'),
    );
    // Slow pace: nothing more within a second.
    const [health, states] = [healthCount(), stateCount()];
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect([healthCount(), stateCount()]).toEqual([health, states]);

    const discoveryBefore = connected.messages.filter((m) => m.topic.startsWith('homeassistant/')).length;
    file.write(config(200, 1_000));
    await connected.waitFor('health every 200 ms', () => healthCount() >= health + 5, 10_000);
    await connected.waitFor('states refreshed every second', () => stateCount() >= states + 3, 10_000);
    // expire_after is 3 × state_refresh_ms: the discovery configs say the new one.
    await connected.waitFor('discovery with the new expire_after', () =>
      connected.messages
        .slice(discoveryBefore)
        .some((m) => m.topic.startsWith('homeassistant/') && m.payload.includes('"expire_after":3')),
    );
  }, 30_000);
});

describeWithMosquitto('config reload of mqtt in the running gateway', () => {
  it('moves the link to another broker: online there, offline on the old one, no reading lost', async () => {
    const [first, second] = [await Mosquitto.start(), await Mosquitto.start()];
    cleanups.push(
      () => first.dispose(),
      () => second.dispose(),
    );
    const base = 'reload';
    const database = join(mkdtempSync(join(tmpdir(), 'fieldbridge-reload-db-')), 'fb.db');
    const config = (url: string) =>
      [
        `mqtt: { server: '${url}', base_topic: ${base} }`,
        'http: { enabled: false }',
        `persistence: { path: ${database} }`,
        'logging: { level: warn }',
        'devices: [{ id: m1, driver: simulated, poll_interval_ms: 50 }]',
        '',
      ].join('\n');
    const [onFirst, onSecond] = [
      await Subscriber.start(first.url, [`${base}/#`]),
      await Subscriber.start(second.url, [`${base}/#`]),
    ];
    cleanups.push(
      () => onFirst.close(),
      () => onSecond.close(),
    );
    const file = configFile(config(first.url));
    await startGateway(file.path);
    const readingTopic = `${base}/m1/reading`;
    await onFirst.waitFor(
      'readings on the first broker',
      () => readingSeqs(onFirst, readingTopic).length >= 10,
    );
    expect(onSecond.on(readingTopic)).toEqual([]);

    file.write(config(second.url));
    await onSecond.waitFor('online on the second broker', () =>
      onSecond.on(`${base}/bridge/state`).some((m) => m.payload === '{"state":"online"}'),
    );
    await onSecond.waitFor(
      'readings on the second broker',
      () => readingSeqs(onSecond, readingTopic).length >= 10,
    );
    // The old link said goodbye before the new one connected.
    expect(onFirst.on(`${base}/bridge/state`).at(-1)?.payload).toBe('{"state":"offline"}');
    const firstCount = onFirst.on(readingTopic).length;
    await onSecond.waitFor('more readings', () => readingSeqs(onSecond, readingTopic).length >= 15);
    expect(onFirst.on(readingTopic).length).toBe(firstCount);
    // Every reading from the first seen to the last is on one broker or the other (a reading in flight
    // during the move may be on both).
    const seqs = [
      ...new Set([...readingSeqs(onFirst, readingTopic), ...readingSeqs(onSecond, readingTopic)]),
    ];
    seqs.sort((a, b) => a - b);
    expect(gapsIn(seqs)).toEqual([]);
  }, 30_000);
});
