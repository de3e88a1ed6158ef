import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { CliDependencies } from '../src/cli/io.js';
import { runCli } from '../src/cli/run.js';
import type { FieldbridgeConfig } from '../src/config/index.js';

// Without ./fieldbridge.yaml, start, check-config and export all get the demo from one decision
// (src/cli/demo.ts), and the demo runs where a broker already has the embedded broker's port.

let directory: string;
const servers: Server[] = [];
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'fieldbridge-cli-demo-'));
});
afterAll(() => rm(directory, { recursive: true, force: true }));
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  configs: FieldbridgeConfig[];
}

async function run(argv: string[], env: Record<string, string>): Promise<Run> {
  const result: Run = { code: 0, stdout: '', stderr: '', configs: [] };
  const dependencies: CliDependencies = {
    runGateway: async (config) => {
      result.configs.push(config);
      return 0;
    },
  };
  const io = {
    stdout: { write: (text: string) => (result.stdout += text) },
    stderr: { write: (text: string) => (result.stderr += text) },
    env,
    cwd: directory,
  };
  result.code = await runCli(argv, io, dependencies);
  return result;
}

/** Something listening on a loopback port, as Mosquitto on 1883 would be. */
async function takenPort(): Promise<number> {
  const server = createServer((socket) => socket.destroy());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

describe('the demo, decided once', () => {
  it('uses the broker already on the embedded port, says so in one line, and check-config shows that demo', async () => {
    const port = await takenPort();
    const env = { FIELDBRIDGE_MQTT_PORT: String(port) };
    const start = await run(['start'], env);
    expect(start.code).toBe(0);
    const [config] = start.configs;
    expect(config?.mqtt).toMatchObject({
      server: `mqtt://127.0.0.1:${port}`,
      base_topic: 'fieldbridge-demo',
      client_id: 'fieldbridge-demo',
    });
    const said = start.stderr.split('\n').filter((line) => line.includes(`port ${port} is taken`));
    expect(said).toEqual([
      `  - port ${port} is taken, so the demo uses the MQTT broker already there: mqtt://127.0.0.1:${port}, topics under fieldbridge-demo/ (--mqtt URL or FIELDBRIDGE_MQTT_URL picks another)`,
    ]);

    const check = await run(['check-config'], env);
    expect(check.code).toBe(0);
    const checked = parse(check.stdout) as FieldbridgeConfig;
    expect(checked.mqtt.server).toBe(config?.mqtt.server);
    expect(checked.persistence.path).toBe(config?.persistence.path);
    expect(checked.devices.map((device) => device.id)).toEqual(config?.devices.map((device) => device.id));
    expect(check.stderr).toContain(`port ${port} is taken`);
  });

  it('keeps its own database, apart from the default persistence.path', async () => {
    const env = { FIELDBRIDGE_MQTT_PORT: String(await takenPort()) };
    const [config] = (await run(['start'], env)).configs;
    expect(config?.persistence.path).toBe('./data/demo.db');
    const exported = await run(['export'], env);
    expect(exported.code).toBe(1);
    expect(exported.stderr).toContain(`no database at ${join(directory, 'data/demo.db')}`);
  });

  it('runs M-Bus meters that speak M-Bus (simulated transport), with no socat needed', async () => {
    const env = { FIELDBRIDGE_MQTT_PORT: String(await takenPort()) };
    const [config] = (await run(['start'], env)).configs;
    const meters = config?.devices.filter((device) => device.driver === 'mbus') ?? [];
    expect(meters.map((meter) => [meter.id, meter.transport, 'address' in meter && meter.address])).toEqual([
      ['demo_heat_meter', 'simulated', 1],
      ['demo_water_meter', 'simulated', 2],
    ]);
  });

  it('takes the broker from --mqtt, else FIELDBRIDGE_MQTT_URL, and refuses a bad URL or --mqtt with a config file', async () => {
    const fromEnv = await run(['start'], { FIELDBRIDGE_MQTT_URL: 'mqtt://broker.lan:1884' });
    expect(fromEnv.configs[0]?.mqtt.server).toBe('mqtt://broker.lan:1884');
    expect(fromEnv.stderr).toContain('the MQTT broker mqtt://broker.lan:1884 (FIELDBRIDGE_MQTT_URL)');
    const fromOption = await run(['start', '--mqtt', 'mqtt://other:1883'], {
      FIELDBRIDGE_MQTT_URL: 'mqtt://broker.lan:1884',
    });
    expect(fromOption.configs[0]?.mqtt.server).toBe('mqtt://other:1883');
    const check = await run(['check-config', '--mqtt', 'mqtt://other:1883'], {});
    expect(check.stdout).toContain('server: mqtt://other:1883');
    const secret = await run(['start', '--mqtt', 'mqtt://demo:s3cret@other:1883'], {});
    expect(secret.configs[0]?.mqtt.server).toBe('mqtt://demo:s3cret@other:1883');
    expect(secret.stderr).toContain('the MQTT broker mqtt://demo:***@other:1883 (--mqtt)');
    expect(secret.stderr).not.toContain('s3cret');

    const bad = await run(['start', '--mqtt', 'http://x'], {});
    expect(bad.code).toBe(2);
    expect(bad.configs).toEqual([]);
    expect(bad.stderr).toContain('mqtt.server: must be a URL starting with mqtt://');
    expect(bad.stderr).toContain('the MQTT broker URL of --mqtt is not valid');

    const withFile = await run(['start', '--config', join(directory, 'x.yaml'), '--mqtt', 'mqtt://a'], {});
    expect(withFile.code).toBe(2);
    expect(withFile.stderr).toContain('--mqtt is for the demo only');

    const badPort = await run(['check-config'], { FIELDBRIDGE_MQTT_PORT: 'x' });
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain('FIELDBRIDGE_MQTT_PORT must be a port number 1-65535, got "x"');
  });
});
