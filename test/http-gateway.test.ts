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

async function gateway(devices: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-http-'));
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const config = parseConfig(
    [
      `mqtt: { embedded_port: ${mqttPort} }`,
      `http: { port: ${httpPort} }`,
      `persistence: { path: ${join(dir, 'fieldbridge.db')} }`,
      'logging: { level: warn }',
      'device_defaults: { reconnect: { initial_ms: 50, max_ms: 100, max_attempts: 2 } }',
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
      '{ id: heat1, driver: mbus, transport: simulated, poll_interval_ms: 100 }',
      '{ id: dead1, driver: mbus, transport: simulated, simulation: { failure_rate: 1, connect_delay_ms: 5 } }',
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
          body.components.devices.heat1?.healthy === true
        );
      },
      15_000,
    );
    expect(body?.components.devices.dead1?.reason).toMatch(
      /simulated connect failure|gave up|restart|recovery/,
    );
    expect(body?.components.devices.heat1).toMatchObject({ healthy: true });
  });
});
