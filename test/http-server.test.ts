import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRequest } from '../src/bridge/requests.js';
import { parseConfig } from '../src/config/index.js';
import type { ScanRequest } from '../src/gateway/scans.js';
import { GatewayMetrics } from '../src/http/index.js';
import type { GatewayNotice } from '../src/machines/notices.js';
import { captureLogs } from '../src/logging/index.js';
import { allHealthy, type HttpRig, startRig, waitUntil } from './helpers/httpRig.js';

// The HTTP endpoints against a real supervision tree of simulated devices: health verdicts, the
// Prometheus exposition, /state without secrets, the POST auth rules and the errors of bad requests.

const rigs: HttpRig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.stop();
});

async function rig(options: Parameters<typeof startRig>[0]): Promise<HttpRig> {
  const started = await startRig(options);
  rigs.push(started);
  return started;
}

const TWO_BUSES = [
  { busId: 'sim:a', devices: ['a1', 'a2'] },
  { busId: 'sim:b', devices: ['b1'] },
];

interface HealthBody {
  status: string;
  healthy: boolean;
  components: {
    mqtt: { healthy: boolean; reason?: string };
    outbox: { healthy: boolean; depth: number };
    buses: Record<string, { healthy: boolean; state: string; reason?: string }>;
    devices: Record<string, { healthy: boolean; state: string; reason?: string }>;
  };
}

async function getJson<T>(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: T; headers: Headers }> {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as T, headers: response.headers };
}

describe('GET /health', () => {
  it('is 200 while everything is online, 503 with the reasons once a bus goes away or MQTT drops', async () => {
    const r = await rig({ buses: TWO_BUSES });
    await r.waitFor('all devices healthy', () => allHealthy(r, ['a1', 'a2', 'b1']));
    const ok = await getJson<HealthBody>(`${r.url}/health`);
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('online');
    expect(ok.body.components.devices.a1).toMatchObject({ healthy: true, state: 'connected.healthy' });
    expect(ok.body.components.buses['sim:b']).toMatchObject({ healthy: true, state: 'running' });
    expect(ok.body.components.mqtt.healthy).toBe(true);
    expect(ok.body.components.outbox).toMatchObject({ healthy: true, depth: 3 });

    r.runtime('sim:b').unplug('USB adapter unplugged');
    await r.waitFor('b1 offline', () =>
      r.notices.some((n) => n.type === 'device.status' && n.deviceId === 'b1' && n.status === 'offline'),
    );
    const down = await getJson<HealthBody>(`${r.url}/health`);
    expect(down.status).toBe(503);
    expect(down.body.healthy).toBe(false);
    expect(down.body.status).not.toBe('online');
    expect(down.body.components.devices.b1?.healthy).toBe(false);
    expect(down.body.components.devices.b1?.reason).toMatch(/unplugged|not present|gave up/);
    expect(down.body.components.buses['sim:b']?.reason).toMatch(/all 1 devices of the bus are down/);
    expect(down.body.components.devices.a1?.healthy).toBe(true);

    r.runtime('sim:b').plug();
    await r.waitFor('b1 back', () => allHealthy(r, ['a1', 'a2', 'b1']));
    r.setLinkOnline(false);
    const noMqtt = await getJson<HealthBody>(`${r.url}/health`);
    expect(noMqtt.status).toBe(503);
    expect(noMqtt.body.status).toBe('offline');
    expect(noMqtt.body.components.mqtt).toMatchObject({ healthy: false });
    expect(noMqtt.body.components.mqtt.reason).toMatch(/unreachable/);
  });
});

describe('GET /metrics', () => {
  it('serves the Prometheus text format with process and fieldbridge metrics', async () => {
    const r = await rig({ buses: TWO_BUSES });
    await r.waitFor('readings', () => r.notices.filter((n) => n.type === 'device.data').length >= 6);
    r.metrics.recordPublish('ok', 5);
    r.metrics.recordPublish('error');
    r.metrics.recordTransportCall({
      driver: 'ble',
      operation: 'StartDiscovery',
      seconds: 0.004,
      outcome: 'ok',
    });
    r.metrics.recordTransportCall({ driver: 'mbus', operation: 'connect', seconds: 0.02, outcome: 'error' });
    r.queue.dropped = 7;
    const response = await fetch(`${r.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    // Every line is a comment (# HELP / # TYPE) or `name{labels} value`. The value is what Go's
    // ParseFloat reads (the text format's rule), which takes NaN in any case: prom-client writes `Nan`
    // for an event-loop histogram with no sample yet (a scrape within its first sampling interval).
    const sample =
      /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.e+-]+|[Nn][Aa][Nn]|[+-]Inf)$/;
    for (const line of text.split('\n').filter((l) => l !== '')) {
      if (line.startsWith('#')) expect(line).toMatch(/^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* /);
      else expect(line, line).toMatch(sample);
    }
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    for (const name of [
      'fieldbridge_reads_total',
      'fieldbridge_read_duration_seconds',
      'fieldbridge_errors_total',
      'fieldbridge_mqtt_publish_total',
      'fieldbridge_mqtt_queue_size',
      'fieldbridge_queue_dropped_total',
      'fieldbridge_device_state',
      'fieldbridge_recovery_steps_total',
      'fieldbridge_restarts_total',
      'fieldbridge_dbus_call_duration_seconds',
      'fieldbridge_transport_call_duration_seconds',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(value('fieldbridge_reads_total{device="a1"}')).toBeGreaterThanOrEqual(1);
    expect(value('fieldbridge_mqtt_publish_total{result="ok"}')).toBe(5);
    expect(value('fieldbridge_mqtt_publish_total{result="error"}')).toBe(1);
    expect(value('fieldbridge_mqtt_queue_size')).toBe(3);
    expect(value('fieldbridge_queue_dropped_total')).toBe(7);
    expect(value('fieldbridge_device_state{device="b1",state="connected.healthy"}')).toBe(1);
    expect(value('fieldbridge_device_state{device="b1",state="offline"}')).toBe(0);
    // BLE's calls keep the series they always had; a driver without its own goes to the generic one.
    expect(
      value('fieldbridge_dbus_call_duration_seconds_count{operation="StartDiscovery",outcome="ok"}'),
    ).toBe(1);
    expect(
      value(
        'fieldbridge_transport_call_duration_seconds_count{driver="mbus",operation="connect",outcome="error"}',
      ),
    ).toBe(1);
    expect(text).not.toContain('fieldbridge_transport_call_duration_seconds_count{driver="ble"');
  });

  it('counts errors, recovery steps and restarts from the notices', async () => {
    const r = await rig({ buses: TWO_BUSES });
    await r.waitFor('all devices healthy', () => allHealthy(r, ['a1', 'a2', 'b1']));
    r.runtime('sim:b').unplug();
    await r.waitFor('a recovery step', () => r.notices.some((n) => n.type === 'supervisor.recovery'));
    await fetch(`${r.url}/devices/a1/restart`, { method: 'POST' });
    await r.waitFor('a1 restarted', () => r.notices.some((n) => n.type === 'supervisor.restart'));
    const text = await (await fetch(`${r.url}/metrics`)).text();
    expect(text).toMatch(/^fieldbridge_errors_total\{device="b1",type="link_lost"\} 1$/m);
    expect(text).toMatch(/^fieldbridge_errors_total\{device="b1",type="offline"\} \d+$/m);
    expect(text).toMatch(/^fieldbridge_recovery_steps_total\{device="b1",step="reopen"\} \d+$/m);
    expect(text).toMatch(/^fieldbridge_restarts_total\{actor="a1"\} 1$/m);
    expect(text).toMatch(
      /^fieldbridge_device_state\{device="b1",state="(offline|reconnecting|connecting)"\} 1$/m,
    );
  });
});

describe('GET /state', () => {
  it('shows every actor with its state and context, and no secret', async () => {
    const config = parseConfig(
      [
        'mqtt: { server: "mqtt://user:broker-pass@broker:1883", password: hunter2-secret }',
        'http: { token: http-token-secret }',
        'devices:',
        '  - { id: th1, driver: ble, transport: simulated, mac: "A4:C1:38:00:00:01", bind_key: 00112233445566778899aabbccddeeff }',
      ].join('\n'),
      {},
    );
    const r = await rig({ buses: TWO_BUSES, config: () => config });
    await r.waitFor('all devices healthy', () => allHealthy(r, ['a1', 'a2', 'b1']));
    const response = await fetch(`${r.url}/state`);
    const text = await response.text();
    for (const secret of [
      'hunter2-secret',
      'http-token-secret',
      '00112233445566778899aabbccddeeff',
      'broker-pass',
    ]) {
      expect(text).not.toContain(secret);
    }
    const state = JSON.parse(text) as {
      root: { state: unknown; context: { deviceBus: Record<string, string> } };
      mqtt: { state: string };
      buses: Record<
        string,
        {
          state: string;
          supervisor: { state: unknown; context: { busId: string } };
          devices: Record<
            string,
            { state: string; actor: { state: unknown; context: { deviceId: string; reason: string } } }
          >;
        }
      >;
      config: { mqtt: { password: string }; http: { token: string } };
    };
    expect(state.root.context.deviceBus).toEqual({ a1: 'sim:a', a2: 'sim:a', b1: 'sim:b' });
    expect(state.mqtt.state).toBe('online');
    expect(state.buses['sim:a']?.state).toBe('running');
    expect(state.buses['sim:a']?.supervisor.context.busId).toBe('sim:a');
    expect(state.buses['sim:a']?.devices.a2?.state).toBe('connected.healthy');
    expect(state.buses['sim:a']?.devices.a2?.actor.context.deviceId).toBe('a2');
    expect(state.buses['sim:a']?.devices.a2?.actor.state).toMatchObject({ link: { connected: 'healthy' } });
    expect(state.config.mqtt.password).toBe('***');
    expect(state.config.http.token).toBe('***');
  });
});

describe('POST routes', () => {
  it('are open on loopback and restart a device', async () => {
    const r = await rig({ buses: TWO_BUSES });
    const { status, body } = await getJson<{ status: string; data: { id: string } }>(
      `${r.url}/devices/a2/restart`,
      {
        method: 'POST',
      },
    );
    expect(status).toBe(202);
    expect(body).toEqual({ status: 'ok', data: { id: 'a2', bus: 'sim:a' } });
    expect(r.sent).toContainEqual({ type: 'RESTART_DEVICE', deviceId: 'a2', reason: 'requested over HTTP' });
    await r.waitFor('a2 restarted', () =>
      r.notices.some((n) => n.type === 'supervisor.restart' && n.actorId === 'a2'),
    );
    const scan = await getJson<{ status: string; data: { driver: string } }>(
      `${r.url}/trigger-scan?driver=mbus&from=1&to=5`,
      {
        method: 'POST',
      },
    );
    expect(scan.status).toBe(200);
    expect(scan.body.data.driver).toBe('mbus');
  });

  it('pairs DALI Center gateways as a scan: the query text becomes the booleans and numbers its fields take', async () => {
    const asked: unknown[] = [];
    const r = await rig({
      buses: TWO_BUSES,
      scan: async (request) => {
        asked.push(request);
        return { ok: true, data: { driver: request.driver, found: [] } };
      },
    });
    const { status } = await getJson(`${r.url}/trigger-scan?driver=dalicenter&pair=true&duration_s=5`, {
      method: 'POST',
    });
    expect(status).toBe(200);
    expect(asked).toEqual([{ driver: 'dalicenter', pair: true, duration_s: 5 }]);
  });

  it('remove a found device (200), refuse a configured one (409) and an unknown one (404)', async () => {
    const removed: string[] = [];
    const r = await rig({
      buses: TWO_BUSES,
      http: { host: '0.0.0.0', token: 't0k' },
      removeDevice: (id) => {
        removed.push(id);
        if (id === 'found') return { ok: true, data: { id, driver: 'dali' } };
        if (id === 'a1')
          return {
            ok: false,
            reason: 'configured',
            error: 'device "a1" is configured: edit the config file',
          };
        return { ok: false, reason: 'unknown', error: `unknown device "${id}"` };
      },
    });
    const post = (id: string, token = 't0k') =>
      getJson<{ status: string; data?: unknown; error?: string }>(
        `http://127.0.0.1:${r.http.port}/devices/${encodeURIComponent(id)}/remove`,
        { method: 'POST', headers: { authorization: `Bearer ${token}` } },
      );
    expect(await post('found')).toMatchObject({
      status: 200,
      body: { status: 'ok', data: { id: 'found', driver: 'dali' } },
    });
    expect(await post('a1')).toMatchObject({
      status: 409,
      body: { status: 'error', error: 'device "a1" is configured: edit the config file' },
    });
    expect(await post('nope')).toMatchObject({ status: 404, body: { error: 'unknown device "nope"' } });
    // Like every POST beyond loopback: the token first.
    expect((await post('found', 'wrong')).status).toBe(401);
    expect(removed).toEqual(['found', 'a1', 'nope']);
    const without = await rig({ buses: TWO_BUSES });
    const refused = await getJson<{ error: string }>(`${without.url}/devices/a1/remove`, { method: 'POST' });
    expect(refused).toMatchObject({ status: 501, body: { error: 'this gateway cannot remove devices' } });
  });

  it('beyond loopback without http.token are never served: the server does not listen', async () => {
    const logs = captureLogs();
    try {
      const r = await rig({ buses: TWO_BUSES, http: { host: '0.0.0.0' } });
      expect(r.http.url).toBeNull();
      expect(logs.lines().find((l) => l.includes('HTTP server not started'))).toMatch(
        /0\.0\.0\.0 is beyond loopback and no http\.token is set \(set http\.token/,
      );
      expect(r.sent).toEqual([]);
    } finally {
      logs.stop();
    }
  });

  it('beyond loopback with http.token need the bearer token', async () => {
    const r = await rig({ buses: TWO_BUSES, http: { host: '0.0.0.0', token: 's3cret-token' } });
    const url = `http://127.0.0.1:${r.http.port}/devices/a1/restart`;
    const none = await getJson<{ error: string }>(url, { method: 'POST' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await getJson<{ error: string }>(url, {
      method: 'POST',
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toMatch(/does not match/);
    expect(r.sent).toEqual([]);
    const right = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer s3cret-token' } });
    expect(right.status).toBe(202);
    expect(r.sent).toHaveLength(1);
  });

  it('refuse a cross-site browser POST even on loopback', async () => {
    const r = await rig({ buses: TWO_BUSES });
    const response = await getJson<{ error: string }>(`${r.url}/devices/a1/restart`, {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
    });
    expect(response.status).toBe(403);
    expect(response.body.error).toMatch(/cross-origin/);
    expect(r.sent).toEqual([]);
  });
});

describe('bad requests', () => {
  it('answer JSON errors that name the problem', async () => {
    const r = await rig({
      buses: TWO_BUSES,
      scan: async () => ({ ok: false, error: 'a scan of /dev/ttyUSB0 is already running' }),
    });
    const cases: [string, RequestInit, number, RegExp][] = [
      ['/nope', {}, 404, /no such route: GET \/nope/],
      ['/health', { method: 'DELETE' }, 405, /DELETE \/health is not allowed; use GET/],
      ['/trigger-scan', {}, 405, /GET \/trigger-scan is not allowed; use POST/],
      ['/trigger-scan', { method: 'POST' }, 400, /missing driver/],
      [
        '/trigger-scan?driver=zigbee',
        { method: 'POST' },
        400,
        /unknown driver "zigbee": expected one of mbus, dali, ble, dalicenter/,
      ],
      ['/trigger-scan?driver=mbus&from=900', { method: 'POST' }, 400, /from/],
      ['/trigger-scan?driver=mbus&colour=red', { method: 'POST' }, 400, /unknown key "colour"/],
      ['/trigger-scan?driver=mbus', { method: 'POST' }, 422, /already running/],
      ['/devices/ghost/restart', { method: 'POST' }, 404, /unknown device "ghost"/],
    ];
    for (const [path, init, status, error] of cases) {
      const response = await getJson<{ status: string; error: string }>(`${r.url}${path}`, init);
      expect(response.status, path).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.body.status).toBe('error');
      expect(response.body.error, path).toMatch(error);
    }
    const wrongMethod = await fetch(`${r.url}/metrics`, { method: 'PUT' });
    expect(wrongMethod.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('POST /trigger-scan', () => {
  it('hands the BLE adapter and duration_s over as numbers, refusing bad ones as the MQTT request does', async () => {
    const asked: ScanRequest[] = [];
    const r = await rig({
      buses: TWO_BUSES,
      scan: async (request) => {
        asked.push(request);
        return { ok: true, data: { driver: request.driver, found: [] } };
      },
    });
    const post = (query: string) =>
      getJson<{ status: string; error?: string }>(`${r.url}/trigger-scan?${query}`, { method: 'POST' });
    expect((await post('driver=ble&adapter=hci1&duration_s=2.5')).status).toBe(200);
    // Only the BLE scan's own fields: from/to are the M-Bus scan's.
    expect(asked).toEqual([{ driver: 'ble', adapter: 'hci1', duration_s: 2.5 }]);
    // The same words as bridge/request/scan with the same values in its JSON payload.
    for (const [query, json] of [
      ['driver=ble&duration_s=900', '{"driver":"ble","duration_s":900}'],
      ['driver=ble&duration_s=soon', '{"driver":"ble","duration_s":"soon"}'],
      ['driver=ble&adapter=', '{"driver":"ble","adapter":""}'],
    ] as const) {
      const mqtt = parseRequest('scan', json);
      expect(mqtt.ok, json).toBe(false);
      const http = await post(query);
      expect(http.status, query).toBe(400);
      expect(http.body.error).toBe(`bad scan request: ${mqtt.ok ? '' : mqtt.error}`);
    }
    expect(asked).toHaveLength(1);
    // Numbers are read by the fields of the driver named: an M-Bus range, a BLE duration.
    expect((await post('driver=mbus&from=3&to=7')).status).toBe(200);
    expect(asked[1]).toEqual({ driver: 'mbus', from: 3, to: 7 });
    // A field of another driver's scan is refused by name, over HTTP as over MQTT.
    for (const [query, field] of [
      ['driver=mbus&adapter=hci0', 'adapter'],
      ['driver=dali&min_rssi=-90', 'min_rssi'],
      ['driver=ble&port=/dev/ttyUSB0', 'port'],
    ] as const) {
      const http = await post(query);
      expect(http.status, query).toBe(400);
      expect(http.body.error).toBe(`bad scan request: unknown key "${field}"`);
    }
    expect(asked).toHaveLength(2);
  });
});

describe('startHttp', () => {
  it('logs a port in use and leaves the gateway running without HTTP', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const logs = captureLogs();
    try {
      const r = await rig({ buses: TWO_BUSES, http: { port } });
      expect(r.http.url).toBeNull();
      const line = logs.lines().find((l) => l.includes('HTTP server not started'));
      expect(line).toMatch(
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: port ${port} is already in use`),
      );
      expect(line).toMatch(/keeps running without HTTP/);
      // Notices are still counted.
      await r.waitFor('readings counted', async () =>
        (await r.metrics.text()).includes('fieldbridge_reads_total{device="a1"}'),
      );
    } finally {
      logs.stop();
      blocker.close();
    }
  });

  it('does not listen when http.enabled is false', async () => {
    const r = await rig({ buses: TWO_BUSES, http: { enabled: false } });
    expect(r.http.url).toBeNull();
    expect(r.http.port).toBeNull();
    await r.http.close();
  });
});

describe('GET /events', () => {
  it('pushes a snapshot at once and again when a device changes', async () => {
    const r = await rig({ buses: TWO_BUSES });
    await r.waitFor('all devices healthy', () => allHealthy(r, ['a1', 'a2', 'b1']));
    const controller = new AbortController();
    const response = await fetch(`${r.url}/events`, { signal: controller.signal });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let received = '';
    const snapshots = () =>
      [...received.matchAll(/event: snapshot\ndata: (.*)\n\n/g)].map(
        (m) => JSON.parse(m[1] as string) as { buses: { devices: { id: string; state: string }[] }[] },
      );
    const pump = (async () => {
      for (;;) {
        const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (chunk.done) return;
        received += decoder.decode(chunk.value, { stream: true });
      }
    })();
    await waitUntil('first snapshot', () => snapshots().length >= 1);
    r.runtime('sim:b').unplug();
    // Down: reconnecting, offline, or restarted by its recovery ladder, whichever a push catches.
    await waitUntil('b1 down in a pushed snapshot', () =>
      snapshots().some((s) => s.buses[1]?.devices[0]?.state !== 'connected.healthy'),
    );
    controller.abort();
    await pump;
  });
});

describe('GatewayMetrics', () => {
  it('observes the read duration a data notice carries, and none for pushed data', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    const read: GatewayNotice = {
      type: 'device.data',
      deviceId: 'm1',
      operation: 'poll',
      result: 1,
      at: 0,
      durationMs: 250,
    };
    const pushed: GatewayNotice = {
      type: 'device.data',
      deviceId: 'b1',
      operation: 'advertisement',
      result: 1,
      at: 0,
    };
    metrics.handle(read);
    metrics.handle(pushed);
    const text = await metrics.text();
    expect(text).toMatch(/^fieldbridge_read_duration_seconds_sum\{device="m1"\} 0\.25$/m);
    expect(text).toMatch(/^fieldbridge_reads_total\{device="b1"\} 1$/m);
    expect(text).not.toMatch(/^fieldbridge_read_duration_seconds_count\{device="b1"\}/m);
    expect(text).not.toContain('process_cpu');
  });

  it('keeps separate counters per instance (its own registry)', async () => {
    const one = new GatewayMetrics({ defaultMetrics: false });
    const two = new GatewayMetrics({ defaultMetrics: false });
    one.recordPublish('ok', 3);
    expect(await two.text()).toMatch(/^fieldbridge_mqtt_publish_total\{result="ok"\} 0$/m);
  });
});
