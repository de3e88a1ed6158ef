import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import { runGateway } from '../src/gateway.js';
import { waitUntil } from './helpers/httpRig.js';

// The HTTP layer inside the real gateway (in this process, with its embedded broker): what a Docker
// HEALTHCHECK and Prometheus see.

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** A gateway with its embedded broker, `devices` and any other config `lines`; resolves with its URL. */
async function gateway(devices: string[], lines: string[] = []): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-http-'));
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const config = parseConfig(
    [
      `mqtt: { embedded_port: ${mqttPort} }`,
      `http: { port: ${httpPort} }`,
      `persistence: { path: ${join(dir, 'fieldbridge.db')} }`,
      'logging: { level: warn }',
      'device_defaults: { reconnect: { initial_ms: 50, max_ms: 100, max_attempts: 2 } }',
      ...lines,
      'devices:',
      ...devices.map((line) => `  - ${line}`),
    ].join('\n'),
    {},
  );
  const stop = new AbortController();
  const running = runGateway(config, { configSource: '(test)', signal: stop.signal });
  stops.push(() => {
    stop.abort();
    return running;
  });
  const url = `http://127.0.0.1:${httpPort}`;
  await waitUntil('the HTTP server', async () => (await fetch(`${url}/health`).catch(() => null)) !== null);
  return url;
}

describe('HTTP in the running gateway', () => {
  it('answers /health 200 when every device is healthy, and serves /metrics, /state and the page', async () => {
    const url = await gateway(['{ id: heat1, driver: mbus, transport: simulated, poll_interval_ms: 100 }']);
    await waitUntil('healthy', async () => (await fetch(`${url}/health`)).status === 200, 10_000);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^fieldbridge_device_state\{device="heat1",state="connected.healthy"\} 1$/m);
    expect(metrics).toMatch(/^fieldbridge_mqtt_connected 1$/m);
    const state = (await (await fetch(`${url}/state`)).json()) as { buses: Record<string, unknown> };
    expect(Object.keys(state.buses)).toEqual(['mbus:simulated']);
    expect(await (await fetch(url)).text()).toMatch(/<title>fieldbridge<\/title>/);
  });

  it('answers /health 503 naming the device that is down', async () => {
    const url = await gateway([
      '{ id: heat1, driver: mbus, transport: simulated, address: 1, poll_interval_ms: 100 }',
      '{ id: dead1, driver: mbus, transport: simulated, address: 2, simulation: { failure_rate: 1 } }',
    ]);
    // It gives up after two attempts and its recovery ladder keeps retrying: the reason changes as it
    // goes (failed connects, recovery steps, restarts), so wait for any unhealthy answer naming it,
    // while the healthy meter beside it is reported healthy.
    type Health = { components: { devices: Record<string, { healthy: boolean; reason?: string }> } };
    let body: Health | undefined;
    await waitUntil(
      'dead1 to be reported down',
      async () => {
        const response = await fetch(`${url}/health`);
        body = (await response.json()) as Health;
        return (
          response.status === 503 &&
          body.components.devices.dead1?.healthy === false &&
          /no meter answers|gave up|restart|recovery/.test(body.components.devices.dead1.reason ?? '') &&
          body.components.devices.heat1?.healthy === true
        );
      },
      15_000,
    );
    expect(body?.components.devices.dead1?.reason).toMatch(/no meter answers|gave up|restart|recovery/);
    expect(body?.components.devices.heat1).toMatchObject({ healthy: true });
  });

  it('measures each read and counts the publishes the broker acknowledged in /metrics', async () => {
    const url = await gateway(['{ id: heat1, driver: mbus, transport: simulated, poll_interval_ms: 100 }']);
    const valueIn = (text: string, name: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      return line === undefined ? 0 : Number(line.slice(name.length + 1));
    };
    const series = async (name: string) => valueIn(await (await fetch(`${url}/metrics`)).text(), name);
    await waitUntil(
      'reads measured and publishes acknowledged',
      async () =>
        (await series('fieldbridge_read_duration_seconds_count{device="heat1"}')) >= 3 &&
        (await series('fieldbridge_mqtt_publish_total{result="ok"}')) >= 3,
      10_000,
    );
    // A simulated meter answers in milliseconds: every read lands in the 1 s bucket, none took longer.
    // One scrape: the meter is read every 100 ms, so two scrapes could see different counts.
    const scrape = await (await fetch(`${url}/metrics`)).text();
    const count = valueIn(scrape, 'fieldbridge_read_duration_seconds_count{device="heat1"}');
    expect(valueIn(scrape, 'fieldbridge_read_duration_seconds_bucket{le="1",device="heat1"}')).toBe(count);
    expect(await series('fieldbridge_read_duration_seconds_sum{device="heat1"}')).toBeGreaterThan(0);
    expect(await series('fieldbridge_mqtt_publish_total{result="timeout"}')).toBe(0);
  });

  it('passes adapter and duration_s of POST /trigger-scan?driver=ble through to the BLE scan', async () => {
    const url = await gateway([], ['ble: [{ adapter: hci0, transport: simulated }]']);
    const scan = async (query: string) => {
      const response = await fetch(`${url}/trigger-scan?${query}`, { method: 'POST' });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const started = Date.now();
    const heard = await scan('driver=ble&adapter=hci0&duration_s=1');
    expect(heard.status).toBe(200);
    expect(heard.body.data).toMatchObject({ driver: 'ble', line: 'BLE adapter hci0', duration_s: 1 });
    // It listened for the second asked, not the default 10 s.
    expect(Date.now() - started).toBeLessThan(5_000);
    const unknown = await scan('driver=ble&adapter=hci7&duration_s=1');
    expect(unknown.status).toBe(422);
    expect(unknown.body.error).toMatch(/adapter hci7 is not a BLE line of this gateway \(known: hci0/);
  });
});
