import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { freePort } from './helpers/mosquitto.js';

// `fieldbridge remove-device ID`: asks the running gateway over its HTTP API, with the configured host,
// port and token, and says clearly when no gateway answers. (The whole path against a real gateway is
// in e2e-device-removal.test.ts.)

let directory: string;
const servers: Server[] = [];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'fieldbridge-cli-remove-'));
});
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    argv,
    {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      env: {},
      cwd: directory,
    },
    { runGateway: async () => 0 },
  );
  return { code, stdout, stderr };
}

async function configWith(http: string): Promise<string> {
  const path = join(directory, `fieldbridge-${Math.random().toString(16).slice(2)}.yaml`);
  await writeFile(path, `mqtt: { base_topic: home }\nhttp: ${http}\n`);
  return path;
}

/** A stand-in for the gateway's HTTP API that records what it was asked. */
async function fakeGateway(answer: (req: IncomingMessage) => { status: number; body: unknown }) {
  const requests: { method?: string; url?: string; authorization?: string }[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, authorization: req.headers.authorization });
    const { status, body } = answer(req);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, requests };
}

describe('fieldbridge remove-device', () => {
  it('posts to the configured host and port with the token, and prints what was removed', async () => {
    const gateway = await fakeGateway(() => ({
      status: 200,
      body: { status: 'ok', data: { id: 'ble_a4c1', driver: 'ble' } },
    }));
    const config = await configWith(`{ host: 0.0.0.0, port: ${gateway.port}, token: s3cret }`);
    const result = await run(['remove-device', 'ble_a4c1', '--config', config]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(
      'removed ble_a4c1 (ble): its MQTT topics and Home Assistant entities are cleared\n',
    );
    expect(gateway.requests).toEqual([
      { method: 'POST', url: '/devices/ble_a4c1/remove', authorization: 'Bearer s3cret' },
    ]);
  });

  it('prints the gateway’s refusal and exits 1', async () => {
    const gateway = await fakeGateway(() => ({
      status: 409,
      body: {
        status: 'error',
        error: 'device "keep" is configured in x.yaml, not found by a scan: edit the config file',
      },
    }));
    const config = await configWith(`{ port: ${gateway.port} }`);
    const result = await run(['remove-device', 'keep', '-c', config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'fieldbridge remove-device: device "keep" is configured in x.yaml, not found by a scan: edit the config file\n',
    );
  });

  it('says the gateway is not running when nothing answers, and exits 1', async () => {
    const port = await freePort();
    const config = await configWith(`{ port: ${port} }`);
    const result = await run(['remove-device', 'ble_a4c1', '--config', config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^fieldbridge remove-device: fieldbridge is not running \\(nothing answers at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED\\); start it with this config`,
      ),
    );
  });

  it('points to the MQTT request when the HTTP server is off', async () => {
    const config = await configWith('{ enabled: false }');
    const result = await run(['remove-device', 'ble_a4c1', '--config', config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "the gateway's HTTP server is off (http.enabled: false in " +
        `${config}); publish {"id":"ble_a4c1"} to home/bridge/request/device/remove instead`,
    );
  });

  it('needs exactly one device id', async () => {
    const none = await run(['remove-device']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(
      'fieldbridge remove-device: missing device id: fieldbridge remove-device ID',
    );
    const two = await run(['remove-device', 'a', 'b']);
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('unexpected argument "b" (one device id at a time)');
  });
});

describe('fieldbridge scan', () => {
  it("posts the driver's fields to /trigger-scan with the token and prints the answer", async () => {
    const gateway = await fakeGateway(() => ({
      status: 200,
      body: { status: 'ok', data: { driver: 'dalicenter', found: [{ serial: 'A1' }], added: ['gw'] } },
    }));
    const config = await configWith(`{ port: ${gateway.port}, token: s3cret }`);
    const result = await run(['scan', 'dalicenter', 'pair=true', 'duration_s=30', '--config', config]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toMatchObject({ added: ['gw'] });
    expect(gateway.requests).toEqual([
      {
        method: 'POST',
        url: '/trigger-scan?driver=dalicenter&pair=true&duration_s=30',
        authorization: 'Bearer s3cret',
      },
    ]);
  });

  it('says why a scan could not be done, and refuses a field that is not FIELD=VALUE', async () => {
    const gateway = await fakeGateway(() => ({
      status: 409,
      body: { status: 'error', error: 'a scan is running' },
    }));
    const config = await configWith(`{ port: ${gateway.port} }`);
    expect(await run(['scan', 'mbus', '--config', config])).toMatchObject({
      code: 1,
      stderr: 'fieldbridge scan: a scan is running\n',
    });
    expect((await run(['scan', 'mbus', 'port', '--config', config])).code).toBe(2);
  });
});
