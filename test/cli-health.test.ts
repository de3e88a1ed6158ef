import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthUrl } from '../src/cli/health.js';
import { runCli } from '../src/cli/run.js';
import { allHealthy, type HttpRig, startRig } from './helpers/httpRig.js';

// `fieldbridge health` is the Docker image's HEALTHCHECK: it must ask the port and send the token
// of the config, so changing `http.port` in the config does not make a healthy container "unhealthy".

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'fieldbridge-health-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function health(configText: string, env: Record<string, string> = {}) {
  const path = join(directory, `config-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(path, configText);
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    cwd: directory,
  };
  const code = await runCli(['health', '--config', path], io);
  return { code, stdout, stderr };
}

describe('fieldbridge health', () => {
  let rig: HttpRig;
  beforeAll(async () => {
    rig = await startRig({
      buses: [{ busId: 'mbus:/dev/ttyUSB0', devices: ['heat1'] }],
      http: { token: 'secret-token' },
    });
    await rig.waitFor('heat1 healthy', () => allHealthy(rig, ['heat1']));
  });
  afterAll(() => rig?.stop());

  it("asks the running gateway's /health at the configured port: 0 when online, 1 when not", async () => {
    const config = `http: { port: ${rig.http.port}, token: '\${TOKEN}' }\n`;
    const online = await health(config, { TOKEN: 'secret-token' });
    expect(online.stderr).not.toContain('problem');
    expect(online.code).toBe(0);
    expect(JSON.parse(online.stdout)).toMatchObject({ status: 'online' });

    rig.setLinkOnline(false);
    const offline = await health(config, { TOKEN: 'secret-token' });
    expect(offline.code).toBe(1);
    expect(offline.stderr).toContain(`answered 503`);
    rig.setLinkOnline(true);
  });

  it('sends the bearer token of the config, and nothing without one', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((request, response) => {
      seen.push(request.headers);
      response.writeHead(request.url === '/health' ? 200 : 404).end('{"status":"online"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      // A server bound to every address is asked on loopback.
      expect((await health(`http: { host: 0.0.0.0, port: ${port}, token: abc }\n`)).code).toBe(0);
      expect((await health(`http: { port: ${port} }\n`)).code).toBe(0);
    } finally {
      server.close();
    }
    expect(seen.map((headers) => headers.authorization)).toEqual(['Bearer abc', undefined]);
  });

  it('says why when nothing answers or HTTP is off, and exits 2 for a bad config', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const nobody = await health(`http: { port: ${port} }\n`);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain(`no answer from http://127.0.0.1:${port}/health: connect ECONNREFUSED`);

    const disabled = await health('http: { enabled: false }\n');
    expect(disabled).toMatchObject({ code: 1 });
    expect(disabled.stderr).toContain('http.enabled is false');

    expect((await health('http: { prot: 8080 }\n')).code).toBe(2);
  });

  it('reaches a wildcard bind through loopback', () => {
    expect(healthUrl({ host: '0.0.0.0', port: 8081 })).toBe('http://127.0.0.1:8081/health');
    expect(healthUrl({ host: '::', port: 8081 })).toBe('http://[::1]:8081/health');
    expect(healthUrl({ host: '192.168.1.5', port: 80 })).toBe('http://192.168.1.5:80/health');
  });
});
