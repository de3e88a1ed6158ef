import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from './helpers/mosquitto.js';
import { GatewayProcess } from './helpers/process.js';

const started: GatewayProcess[] = [];
afterEach(() => {
  for (const gateway of started.splice(0)) gateway.kill('SIGKILL');
});

/** Starts a gateway in a temp directory with its own embedded broker on a free port. */
async function startGateway(config: string): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-gateway-'));
  const port = await freePort();
  writeFileSync(join(dir, 'fieldbridge.yaml'), `mqtt: { embedded_port: ${port} }\n${config}`);
  const gateway = new GatewayProcess(['start', '--config', join(dir, 'fieldbridge.yaml')], { cwd: dir });
  started.push(gateway);
  return gateway;
}

async function stopAndTime(gateway: GatewayProcess, signal: NodeJS.Signals) {
  const begin = Date.now();
  gateway.kill(signal);
  const result = await gateway.exited;
  return { ...result, stopMs: Date.now() - begin };
}

describe('fieldbridge start', () => {
  it('idles cleanly with no devices and stops on SIGTERM within 2 s', async () => {
    const gateway = await startGateway('');
    await gateway.waitFor(/no devices configured: idling/);
    await new Promise((resolve) => setTimeout(resolve, 300)); // still alive, not exited on its own
    expect(gateway.child.exitCode).toBeNull();
    const { code, stopMs } = await stopAndTime(gateway, 'SIGTERM');
    expect(code).toBe(0);
    expect(stopMs).toBeLessThan(2_000);
    expect(gateway.output).toMatch(/stopping \(SIGTERM\)/);
    expect(gateway.output).toMatch(/stopped/);
  });

  it('runs simulated devices of every driver under the supervisor tree and stops on SIGINT within 2 s', async () => {
    const gateway = await startGateway(
      [
        'logging: { format: json }',
        'devices:',
        '  - { id: heat1, driver: mbus, transport: simulated, poll_interval_ms: 200 }',
        '  - { id: lamp1, driver: dali, transport: simulated }',
        '  - { id: climate1, driver: ble, transport: simulated }',
      ].join('\n'),
    );
    await gateway.waitFor(/"ns":"device\.climate1".*connecting → connected\.healthy/);
    await gateway.waitFor(/"ns":"device\.heat1".*connecting → connected\.healthy/);
    await gateway.waitFor(/"ns":"device\.lamp1".*connecting → connected\.healthy/);
    expect(gateway.output).toMatch(/started: 3 devices on 3 buses/);
    const { code, stopMs } = await stopAndTime(gateway, 'SIGINT');
    expect(code).toBe(0);
    expect(stopMs).toBeLessThan(2_000);
    // Every line is JSON when the config says so.
    for (const line of gateway.output.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('logs an outage once and a summary later, not a line per retry', async () => {
    const gateway = await startGateway(
      [
        'logging: { format: json, repeat_summary_ms: 1500 }',
        'health: { interval_ms: 250 }',
        'device_defaults:',
        '  reconnect: { initial_ms: 50, max_ms: 100, max_attempts: 1000 }',
        'devices:',
        '  - { id: dead1, driver: mbus, transport: simulated, simulation: { failure_rate: 1, connect_delay_ms: 5 } }',
      ].join('\n'),
    );
    await gateway.waitFor(/still reconnecting after \d+ attempts/, 10_000);
    gateway.kill('SIGTERM');
    await gateway.exited;
    const lines = gateway.output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; level: string });
    const outage = lines.filter((l) => l.msg.includes('→ reconnecting') && !l.msg.startsWith('still'));
    expect(outage).toHaveLength(1);
    expect(outage[0]?.level).toBe('warn');
    const summaries = lines.filter((l) => l.msg.startsWith('still reconnecting after'));
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    expect(summaries.length).toBeLessThanOrEqual(3);
  });
});
