import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import { BusLinkDown } from '../src/drivers/contract.js';
import { getVersion } from '../src/drivers/dalicenter/codec/index.js';
import { openDaliCenterBus } from '../src/drivers/dalicenter/openBus.js';
import { SimulatedDaliCenter } from '../src/drivers/dalicenter/simulator/index.js';
import { captureLogs, type LogCapture } from '../src/logging/index.js';
import { connackRefusal, GatewayClient } from './helpers/daliCenter.js';

// A gateway announcing isMqttTls: its broker speaks TLS with a certificate of the test's own CA (the
// Sunricher CA's key is nobody's, notes §3.2). As the SDK, the client checks the chain against the CA
// it is given but not the host name (the certificate names no address). fieldbridge's own link, as a
// gateway device configured with `tls` and `ca_file`: trusted by the right CA; refused by another, or
// when the CA file cannot be read, with one line that says what is wrong and what to do.

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

/** A CA and a gateway certificate it signed, in a temporary directory (the files' paths). */
async function gatewayCertificateOfCa(): Promise<{ dir: string; ca: string; cert: string; key: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'fieldbridge-dalicenter-ca-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const at = (name: string) => join(dir, name);
  const newKey = (name: string) =>
    run('openssl', [
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-out',
      at(name),
    ]);
  await newKey('ca.key');
  await run('openssl', [
    'req', '-x509', '-new', '-key', at('ca.key'), '-days', '1', '-subj', '/CN=Test Root CA/O=fieldbridge',
    '-out', at('ca.pem'),
  ]); // prettier-ignore
  await newKey('gateway.key');
  await run('openssl', [
    'req', '-new', '-key', at('gateway.key'), '-subj', '/CN=DALI Center gateway', '-out', at('gateway.csr'),
  ]); // prettier-ignore
  await run('openssl', [
    'x509', '-req', '-in', at('gateway.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'),
    '-CAcreateserial', '-days', '1', '-out', at('gateway.pem'),
  ]); // prettier-ignore
  return { dir, ca: at('ca.pem'), cert: at('gateway.pem'), key: at('gateway.key') };
}

describe("fieldbridge's link to a TLS gateway (tls, ca_file)", () => {
  let logs: LogCapture | undefined;
  afterEach(() => logs?.stop());

  async function tlsGateway() {
    const files = await gatewayCertificateOfCa();
    const gateway = new SimulatedDaliCenter({
      discovery: false,
      tlsCertificate: { cert: await readFile(files.cert, 'utf8'), key: await readFile(files.key, 'utf8') },
    });
    await gateway.start();
    cleanups.push(() => gateway.stop());
    return { gateway, files };
  }

  function bus(gateway: SimulatedDaliCenter, caFile: string | undefined) {
    const devices = parseConfig(
      [
        'devices:',
        `  - { id: gw, driver: dalicenter, serial: ${gateway.serial}, role: gateway, host: 127.0.0.1,` +
          ` port: ${gateway.mqttPort}, username: admin, password: password123, tls: true` +
          `${caFile !== undefined ? `, ca_file: '${caFile}'` : ''} }`,
      ].join('\n'),
      {},
    ).devices;
    const runtime = openDaliCenterBus(`dalicenter:${gateway.serial}`, devices);
    cleanups.push(() => runtime.close());
    return runtime;
  }

  it('verifies the gateway with the CA of ca_file and talks to it', async () => {
    const { gateway, files } = await tlsGateway();
    const runtime = bus(gateway, files.ca);
    await runtime.connect('gw', AbortSignal.timeout(5_000));
    expect(await runtime.execute('gw', 'get', {}, AbortSignal.timeout(5_000))).toMatchObject({
      connected: true,
    });
  });

  it('another CA: one clear line that the certificate is not trusted, and no retry storm', async () => {
    const { gateway } = await tlsGateway();
    const other = await gatewayCertificateOfCa();
    logs = captureLogs({ level: 'info' });
    const runtime = bus(gateway, other.ca);
    const refused = runtime.connect('gw', AbortSignal.timeout(5_000));
    await expect(refused).rejects.toThrow(
      `the TLS certificate of DALI Center gateway ${gateway.serial} at 127.0.0.1:${gateway.mqttPort} is not trusted by ca_file ${other.ca}`,
    );
    await expect(refused).rejects.toBeInstanceOf(BusLinkDown);
    for (let attempt = 0; attempt < 3; attempt++)
      await expect(runtime.connect('gw', AbortSignal.timeout(5_000))).rejects.toThrow(/is not trusted/);
    const said = logs.entries.filter((entry) => entry.msg.includes('is not trusted'));
    expect(said.map((entry) => entry.level)).toEqual(['error']);
    expect(said[0]?.msg).toMatch(/give the CA that signed the gateway's certificate in ca_file/);
  });

  it('a ca_file that cannot be read is named, not a network failure', async () => {
    const { gateway, files } = await tlsGateway();
    const missing = join(files.dir, 'no-such-ca.pem');
    const runtime = bus(gateway, missing);
    await expect(runtime.connect('gw', AbortSignal.timeout(5_000))).rejects.toThrow(
      new RegExp(`cannot read ca_file ${missing} of DALI Center gateway ${gateway.serial}: .*ENOENT`),
    );
  });

  it('without ca_file the certificate is not verified, as the vendor SDK', async () => {
    const { gateway } = await tlsGateway();
    const runtime = bus(gateway, undefined);
    await runtime.connect('gw', AbortSignal.timeout(5_000));
  });
});

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
