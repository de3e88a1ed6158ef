import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { getVersion } from '../src/drivers/dalicenter/codec/index.js';
import { SimulatedDaliCenter } from '../src/drivers/dalicenter/simulator/index.js';
import { connackRefusal, GatewayClient } from './helpers/daliCenter.js';

// A gateway announcing isMqttTls: its broker speaks TLS with a certificate of the test's own CA (the
// Sunricher CA's key is nobody's, notes §3.2). As the SDK, the client checks the chain against the CA
// it is given but not the host name (the certificate names no address).

const run = promisify(execFile);
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function selfSignedGatewayCertificate(): Promise<{ cert: string; key: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'fieldbridge-dalicenter-tls-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=Root CA/O=SR', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ]); // prettier-ignore
  return {
    cert: await readFile(join(dir, 'cert.pem'), 'utf8'),
    key: await readFile(join(dir, 'key.pem'), 'utf8'),
  };
}

describe('DALI Center simulator over TLS', () => {
  it('announces isMqttTls, serves mqtts, and accepts a client that trusts its CA without a host name check', async () => {
    const certificate = await selfSignedGatewayCertificate();
    const gateway = new SimulatedDaliCenter({ discovery: false, tlsCertificate: certificate });
    await gateway.start();
    cleanups.push(() => gateway.stop());
    expect(gateway.mqttUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    expect(gateway.announcement()?.tls).toBe(true);

    const trusting = { ca: certificate.cert, rejectUnauthorized: true, checkServerIdentity: () => undefined };
    const client = await GatewayClient.connect(gateway, trusting);
    cleanups.push(() => client.close());
    await client.send(getVersion());
    await client.waitFor((message) => message.cmd === 'getVersionRes');

    // Without the CA the chain is refused; with it, a wrong password still gets CONNACK 4.
    expect(
      await connackRefusal(gateway, { username: 'admin', password: 'password123', rejectUnauthorized: true }),
    ).toMatch(/self.signed/i);
    expect(await connackRefusal(gateway, { ...trusting, username: 'admin', password: 'nope' })).toBe(4);
  });
});
