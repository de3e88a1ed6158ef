import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import { runGateway } from '../src/gateway.js';
import type * as NoticeLogModule from '../src/gateway/noticeLog.js';
import { eventually } from './helpers/eventually.js';
import { freePort } from './helpers/mosquitto.js';

// The gateway hands every notice to each of its listeners on its own: a notice log that throws on
// every notice (a bug in it) must not keep the HTTP server (nor the bridge) from hearing the devices.

vi.mock('../src/gateway/noticeLog.js', async (importOriginal) => {
  const actual = await importOriginal<typeof NoticeLogModule>();
  class BrokenNoticeLog extends actual.NoticeLog {
    override readonly handle = (): void => {
      throw new Error('the notice log broke');
    };
  }
  return { ...actual, NoticeLog: BrokenNoticeLog };
});

it('reports a healthy device on /health although the notice log throws on every notice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-notices-'));
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const config = parseConfig(
    [
      `mqtt: { embedded_port: ${mqttPort} }`,
      `http: { port: ${httpPort} }`,
      `persistence: { path: ${join(dir, 'fieldbridge.db')} }`,
      'logging: { level: error }',
      'devices:',
      '  - { id: heat1, driver: mbus, transport: simulated, poll_interval_ms: 100 }',
    ].join('\n'),
    {},
  );
  const stop = new AbortController();
  const running = runGateway(config, { configSource: '(test)', signal: stop.signal });
  try {
    const url = `http://127.0.0.1:${httpPort}/health`;
    await eventually(async () => (await fetch(url).catch(() => null))?.status === 200, {
      what: '/health to report heat1 healthy',
      timeoutMs: 10_000,
    });
    const body = (await (await fetch(url)).json()) as {
      components: { devices: Record<string, { healthy: boolean }> };
    };
    expect(body.components.devices.heat1?.healthy).toBe(true);
  } finally {
    stop.abort();
    expect(await running).toBe(0);
  }
});
