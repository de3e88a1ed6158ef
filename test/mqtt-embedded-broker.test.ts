import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connectAsync, type IClientOptions } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { captureLogs, type LogCapture } from '../src/logging/index.js';
import {
  type EmbeddedBroker,
  type IncomingMessage,
  openMqtt,
  type OpenedMqtt,
  startEmbeddedBroker,
} from '../src/mqtt/index.js';
import { MqttLink } from '../src/mqtt/link.js';
import { bridgeStateTopic } from '../src/mqtt/topics.js';
import { eventually } from './helpers/eventually.js';
import { freePort, Recorder } from './helpers/mosquitto.js';
import { parseConfig } from '../src/config/index.js';
import { errorText } from '../src/errorText.js';

// The embedded Aedes broker that runs when `mqtt.server` is absent; with `mqtt.user`: logins, the
// gateway's topics kept to the gateway, and TLS.

const run = promisify(execFile);
const cleanups: (() => Promise<void>)[] = [];
let logs: LogCapture;

beforeEach(() => {
  logs = captureLogs();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  logs.stop();
});

async function embedded(port = 0): Promise<EmbeddedBroker> {
  const broker = await startEmbeddedBroker({ port });
  cleanups.push(() => broker.close());
  return broker;
}

/** A non-loopback IPv4 address of this machine (what another machine would connect to). */
const LAN_ADDRESS = Object.values(networkInterfaces())
  .flat()
  .find((address) => address?.family === 'IPv4' && !address.internal)?.address;

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('embedded MQTT broker', () => {
  it('serves the link: bridge state retained, publishes acknowledged', async () => {
    const broker = await embedded();
    expect(broker.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(logs.entries.map((entry) => entry.msg)).toContain(
      `no mqtt.server configured: started the embedded MQTT broker on ${broker.url}`,
    );
    const link = new MqttLink({
      url: broker.url,
      baseTopic: 'fb',
      clientId: 'fieldbridge-embedded',
      keepaliveS: 60,
      protocolVersion: 4,
      tls: { rejectUnauthorized: true },
    }).start();
    cleanups.push(() => link.stop());
    await eventually(() => link.state === 'online', { what: 'link online' });
    const recorder = await Recorder.start(broker.url, ['fb/#']);
    cleanups.push(() => recorder.close());
    await recorder.waitFor((message) => message.topic === bridgeStateTopic('fb') && message.retain);
    await link.publish('fb/meter1/state', '{"kWh":12.5}');
    await recorder.waitFor((message) => message.payload === '{"kWh":12.5}');
  });

  it('counts an unreadable TLS file as a failed attempt and keeps trying', async () => {
    const broker = await embedded();
    const link = new MqttLink({
      url: broker.url,
      baseTopic: 'fb',
      clientId: 'fieldbridge-tls',
      keepaliveS: 60,
      protocolVersion: 4,
      tls: { caFile: '/nonexistent/ca.pem', rejectUnauthorized: true },
    }).start();
    cleanups.push(() => link.stop());
    await eventually(() => link.state === 'offline', { what: 'link offline' });
    expect(link.health).toMatchObject({
      attempts: 1,
      lastError: expect.stringMatching(/^connect failed: cannot read mqtt.ca \/nonexistent\/ca.pem: ENOENT/),
    });
  });

  it('says what to do when its port is taken by another broker', async () => {
    const port = await freePort();
    const occupant: Server = createServer();
    await new Promise<void>((resolve) => occupant.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => occupant.close(() => resolve())));
    await expect(startEmbeddedBroker({ port })).rejects.toThrow(
      `port ${port} on 127.0.0.1 is already in use: another MQTT broker is probably running there; ` +
        `set mqtt.server in the config (e.g. mqtt://127.0.0.1:${port}) to use it instead of the embedded broker`,
    );
  });

  it('is what openMqtt uses without mqtt.server, with MQTT 3.1.1 even when 5 is configured', async () => {
    const config = parseConfig('mqtt: { protocol_version: 5, base_topic: home }', {});
    const opened = await openMqtt(config.mqtt, { embeddedPort: await freePort() });
    const stop = opened.link.run(() => {});
    cleanups.push(async () => {
      stop();
      await opened.close();
    });
    expect(opened.broker?.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:/);
    await eventually(() => opened.link.state === 'online', { what: 'link online' });
    expect(logs.entries.map((entry) => entry.msg)).toContain(
      'the embedded broker speaks MQTT 3.1.1 only: using protocol_version 4 instead of 5',
    );
  });

  describe.skipIf(LAN_ADDRESS === undefined)('mqtt.embedded_host', () => {
    it('keeps the broker on loopback by default, and opens it to other machines with 0.0.0.0', async () => {
      const lan = LAN_ADDRESS as string;
      const loopbackOnly = parseConfig('{}', {});
      expect(loopbackOnly.mqtt.embedded_host).toBe('127.0.0.1');
      const port = await freePort();
      const closed = await openMqtt(loopbackOnly.mqtt, { embeddedPort: port });
      cleanups.push(() => closed.close());
      expect(await reachable(lan, port)).toBe(false);

      const everywhere = parseConfig('mqtt: { embedded_host: 0.0.0.0 }', {});
      const open = await openMqtt(everywhere.mqtt, { embeddedPort: await freePort() });
      const stop = open.link.run(() => {});
      cleanups.push(async () => {
        stop();
        await open.close();
      });
      // The gateway's own link goes over loopback; Home Assistant on another machine uses the LAN address.
      expect(open.broker?.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
      await eventually(() => open.link.state === 'online', { what: 'link online' });
      const lanUrl = open.broker?.url.replace('127.0.0.1', lan) ?? '';
      const homeAssistant = await Recorder.start(lanUrl, 'fieldbridge/bridge/state');
      cleanups.push(() => homeAssistant.close());
      await homeAssistant.waitFor((message) => message.payload.includes('online'));
    });
  });
});

const LOGINS =
  'user: fieldbridge, password: gw-secret, base_topic: fb, embedded_users: [{ user: ha, password: ha-secret }]';

/** The gateway's MQTT with the embedded broker, its link online; `commands` gets what arrives on fb/+/set. */
async function gatewayMqtt(
  mqttKeys: string,
  port?: number,
): Promise<{ opened: OpenedMqtt; commands: IncomingMessage[]; withLogin: (login: string) => string }> {
  const embeddedPort = port ?? (await freePort());
  // embedded_port too, so a reload with the same keys keeps the broker where it is.
  const config = parseConfig(`mqtt: { ${mqttKeys}, embedded_port: ${embeddedPort} }`, {});
  const opened = await openMqtt(config.mqtt, { embeddedPort });
  const commands: IncomingMessage[] = [];
  opened.link.subscribe('fb/+/set', (message) => commands.push(message));
  const stop = opened.link.run(() => {});
  cleanups.push(async () => {
    stop();
    await opened.close();
  });
  await eventually(() => opened.link.state === 'online', { what: 'the gateway online on its own broker' });
  const url = opened.broker?.url ?? '';
  return { opened, commands, withLogin: (login) => url.replace('mqtt://', `mqtt://${login}@`) };
}

/** Connects without retrying; resolves with the refusal's message, or 'connected'. */
async function tryConnect(url: string, login: IClientOptions = {}): Promise<string> {
  try {
    const client = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 3_000, ...login });
    await client.endAsync(true);
    return 'connected';
  } catch (error) {
    return errorText(error);
  }
}

async function recorder(url: string, filters: string | string[]): Promise<Recorder> {
  const started = await Recorder.start(url, filters);
  cleanups.push(() => started.close());
  return started;
}

describe('embedded broker with mqtt.user and mqtt.password', () => {
  it('refuses anonymous clients and wrong passwords when mqtt.user and mqtt.password are set', async () => {
    // Only the keys that exist already: today's gateway has them and still lets everyone in.
    const { opened, withLogin } = await gatewayMqtt('user: fieldbridge, password: gw-secret, base_topic: fb');
    const url = opened.broker?.url ?? '';
    expect(await tryConnect(url)).toMatch(/Not authorized/i);
    expect(await tryConnect(url, { username: 'fieldbridge', password: 'wrong' })).toMatch(/Not authorized/i);
    expect(await tryConnect(url, { username: 'nobody', password: 'gw-secret' })).toMatch(/Not authorized/i);
    // The gateway itself (its link uses mqtt.user/mqtt.password) got in and published its state.
    const watcher = await recorder(withLogin('fieldbridge:gw-secret'), 'fb/#');
    await watcher.waitFor((message) => message.topic === 'fb/bridge/state' && message.retain);
    await opened.link.publish('fb/heat1', '{"kWh":1}', { retain: true });
    await watcher.waitFor((message) => message.topic === 'fb/heat1');
    expect(logs.entries.map((entry) => entry.msg)).toContainEqual(
      expect.stringMatching(/^refused a login to the embedded broker \(client .*, user none\)$/),
    );
  });

  it('lets each of mqtt.embedded_users in with its own password only', async () => {
    const { opened, withLogin } = await gatewayMqtt(LOGINS);
    const url = opened.broker?.url ?? '';
    expect(await tryConnect(url, { username: 'ha', password: 'wrong' })).toMatch(/Not authorized/i);
    expect(await tryConnect(url, { username: 'fieldbridge', password: 'ha-secret' })).toMatch(
      /Not authorized/i,
    );
    const homeAssistant = await recorder(withLogin('ha:ha-secret'), 'fb/#');
    await homeAssistant.waitFor((message) => message.topic === 'fb/bridge/state' && message.retain);
  });

  it("refuses another login's publish to the gateway's topics, and takes its commands", async () => {
    const { opened, commands, withLogin } = await gatewayMqtt(LOGINS);
    await opened.link.publish('fb/heat1/state', '{"kWh":1}', { retain: true });
    const watcher = await recorder(withLogin('fieldbridge:gw-secret'), ['fb/#', 'homeassistant/#']);
    await watcher.waitFor((message) => message.topic === 'fb/heat1/state');
    const forged = [
      'fb/heat1/state',
      'fb/heat1/availability',
      'fb/bridge/state',
      'fb/bridge/response/restart',
      'homeassistant/sensor/fieldbridge_heat1/energy/config',
    ];
    for (const topic of forged) {
      const intruder = await connectAsync(withLogin('ha:ha-secret'), { reconnectPeriod: 0 });
      const closed = new Promise<void>((resolve) => intruder.once('close', () => resolve()));
      intruder.publish(topic, 'forged', { qos: 0, retain: true });
      await closed; // Aedes answers a refused publish by closing the connection (MQTT 3.1.1 has no NACK).
      await intruder.endAsync(true);
    }
    const homeAssistant = await connectAsync(withLogin('ha:ha-secret'), { reconnectPeriod: 0 });
    cleanups.push(() => homeAssistant.endAsync(true));
    await homeAssistant.publishAsync('fb/heat1/set', '{"state":"ON"}', { qos: 1 });
    await homeAssistant.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await eventually(() => commands.length === 1, { what: 'the command reaches the gateway' });
    expect(commands[0]?.payload.toString()).toBe('{"state":"ON"}');
    await watcher.waitFor((message) => message.topic === 'homeassistant/status');
    expect(watcher.messages.filter((message) => message.payload === 'forged')).toEqual([]);
    expect(logs.entries.map((entry) => entry.msg)).toContainEqual(
      expect.stringMatching(
        /refused a publish by client .*: fb\/heat1\/state is published by the gateway only/,
      ),
    );
  });

  it('keeps other logins off the discovery configs under a prefix a reload moved', async () => {
    const port = await freePort();
    const { opened, withLogin } = await gatewayMqtt(LOGINS, port);
    const config = parseConfig(`mqtt: { ${LOGINS}, embedded_port: ${port} }`, {});
    expect(await opened.reconfigure(config.mqtt, 'ha2')).toBe(false);
    const watcher = await recorder(withLogin('fieldbridge:gw-secret'), 'ha2/#');
    const intruder = await connectAsync(withLogin('ha:ha-secret'), { reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => intruder.once('close', () => resolve()));
    intruder.publish('ha2/sensor/fieldbridge_heat1/energy/config', 'forged', { qos: 0, retain: true });
    await closed;
    await intruder.endAsync(true);
    // The gateway itself still publishes there, on the link it had: the logins did not change.
    expect(opened.link.state).toBe('online');
    await opened.link.publish('ha2/sensor/fieldbridge_heat1/energy/config', '{}', { retain: true });
    await watcher.waitFor((message) => message.topic === 'ha2/sensor/fieldbridge_heat1/energy/config');
    expect(watcher.messages.filter((message) => message.payload === 'forged')).toEqual([]);
  });

  it("refuses another login that asks for the gateway's client id (it would take over the gateway's session)", async () => {
    const { opened, withLogin } = await gatewayMqtt(LOGINS);
    const states: string[] = [];
    opened.link.onStateChange((state) => states.push(state));
    const url = withLogin('ha:ha-secret');
    expect(await tryConnect(url, { clientId: 'fieldbridge', clean: false })).toMatch(
      /Identifier rejected|Not authorized/i,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(states).toEqual([]); // the gateway's link was never thrown off
    expect(logs.entries.map((entry) => entry.msg)).toContainEqual(
      expect.stringMatching(/client id "fieldbridge" is the gateway's/),
    );
    // Any other client id is Home Assistant's to choose.
    expect(await tryConnect(url, { clientId: 'home-assistant' })).toBe('connected');
  });

  it('applies logins given by a reload: clients already in must log in again, the gateway with its own', async () => {
    const port = await freePort();
    const { opened } = await gatewayMqtt('base_topic: fb', port);
    const url = opened.broker?.url ?? '';
    const anonymous = await connectAsync(url, { reconnectPeriod: 0 });
    const dropped = new Promise<void>((resolve) => anonymous.once('close', () => resolve()));
    const withLogins = parseConfig(`mqtt: { ${LOGINS}, embedded_port: ${port} }`, {});
    expect(await opened.reconfigure(withLogins.mqtt)).toBe(true);
    await dropped;
    expect(opened.broker?.url).toBe(url);
    expect(await tryConnect(url)).toMatch(/Not authorized/i);
    await eventually(() => opened.link.state === 'online', { what: 'link online with its login' });
    const homeAssistant = await recorder(url.replace('mqtt://', 'mqtt://ha:ha-secret@'), 'fb/bridge/state');
    await homeAssistant.waitFor((message) => message.payload.includes('online'));
  });

  it('warns, once, when it listens beyond loopback without logins', async () => {
    await gatewayMqtt('embedded_host: 0.0.0.0, base_topic: fb');
    const warnings = logs.entries.filter((entry) => entry.level === 'warn').map((entry) => entry.msg);
    expect(warnings).toEqual([
      'the embedded MQTT broker listens on 0.0.0.0 without logins: anyone on the network can switch devices; ' +
        'set mqtt.user and mqtt.password (README: Security)',
    ]);
  });

  it('needs both halves of the login pair', () => {
    expect(() => parseConfig('mqtt: { user: fieldbridge }', {})).toThrow(
      /mqtt\.user: needs mqtt\.password too: the embedded broker logs clients in with both/,
    );
    expect(() => parseConfig('mqtt: { embedded_users: [{ user: ha, password: x }] }', {})).toThrow(
      /mqtt\.user.*is required with embedded_users for the embedded broker/,
    );
    // An external broker may well take a user without a password.
    expect(parseConfig('mqtt: { server: mqtt://broker, user: fieldbridge }', {}).mqtt.user).toBe(
      'fieldbridge',
    );
  });

  it('refuses an empty mqtt.user or mqtt.password: anyone could log in as the gateway with it', () => {
    // E.g. `password: ${FIELDBRIDGE_MQTT_PASSWORD}` with the variable set to nothing.
    expect(() => parseConfig("mqtt: { user: fieldbridge, password: '${PW}' }", { PW: '' })).toThrow(
      /mqtt\.password: must not be empty: the embedded broker would let anyone log in as the gateway/,
    );
    expect(() => parseConfig("mqtt: { user: '', password: secret }", {})).toThrow(
      /mqtt\.user: must not be empty: the embedded broker would let anyone log in as the gateway/,
    );
    // An external broker decides for itself what it accepts.
    expect(
      parseConfig("mqtt: { server: mqtt://broker, user: fieldbridge, password: '' }", {}).mqtt.password,
    ).toBe('');
  });
});

/** A self-signed certificate for localhost and 127.0.0.1 (openssl), in a directory removed after the test. */
async function selfSignedCertificate(): Promise<{ cert: string; key: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'fieldbridge-tls-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', key, '-out', cert,
  ]); // prettier-ignore
  return { cert, key };
}

describe('embedded broker with mqtt.embedded_tls', () => {
  it('serves mqtts:// to the Debian mosquitto_sub with --cafile, the plain listener on loopback', async () => {
    const { cert, key } = await selfSignedCertificate();
    const tlsPort = await freePort();
    const { opened } = await gatewayMqtt(
      `${LOGINS}, embedded_host: 0.0.0.0, embedded_tls: { cert: '${cert}', key: '${key}', port: ${tlsPort} }`,
    );
    expect(opened.broker?.tlsUrl).toBe(`mqtts://127.0.0.1:${tlsPort}`);
    expect(opened.broker?.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    const sub = (login: string[]) =>
      run('mosquitto_sub', [
        ...['-h', '127.0.0.1', '-p', String(tlsPort), '--cafile', cert, ...login],
        ...['-t', 'fb/bridge/state', '-C', '1', '-W', '5'],
      ]);
    const { stdout } = await sub(['-u', 'ha', '-P', 'ha-secret']);
    expect(JSON.parse(stdout)).toEqual({ state: 'online' });
    await expect(sub([])).rejects.toMatchObject({ stderr: expect.stringMatching(/not authori[sz]ed/i) });
    expect(logs.entries.map((entry) => entry.msg)).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `embedded MQTT broker on mqtt://127\\.0\\.0\\.1:\\d+ \\(TLS on 0\\.0\\.0\\.0:${tlsPort} \\(every`,
        ),
      ),
    );
  });

  it('moves its plain listener to loopback when a reload adds TLS on the same port', async () => {
    const { cert, key } = await selfSignedCertificate();
    const [port, tlsPort] = [await freePort(), await freePort()];
    const { opened } = await gatewayMqtt('base_topic: fb, embedded_host: 0.0.0.0', port);
    const tls = `embedded_tls: { cert: '${cert}', key: '${key}', port: ${tlsPort} }`;
    const withTls = parseConfig(
      `mqtt: { base_topic: fb, embedded_host: 0.0.0.0, embedded_port: ${port}, ${tls} }`,
      {},
    );
    expect(await opened.reconfigure(withTls.mqtt)).toBe(true);
    expect(opened.broker?.tlsUrl).toBe(`mqtts://127.0.0.1:${tlsPort}`);
    await eventually(() => opened.link.state === 'online', { what: 'link online again' });
    const { stdout } = await run('mosquitto_sub', [
      ...[
        '-h',
        'localhost',
        '-p',
        String(tlsPort),
        '--cafile',
        cert,
        '-t',
        'fb/bridge/state',
        '-C',
        '1',
        '-W',
        '5',
      ],
    ]);
    expect(JSON.parse(stdout)).toEqual({ state: 'online' });
  });

  it('names the unreadable certificate file', async () => {
    const config = parseConfig(
      'mqtt: { embedded_tls: { cert: /nonexistent/cert.pem, key: /nonexistent/key.pem } }',
      {},
    );
    await expect(openMqtt(config.mqtt, { embeddedPort: await freePort() })).rejects.toThrow(
      /^cannot read mqtt\.embedded_tls\.cert \/nonexistent\/cert\.pem: ENOENT/,
    );
  });
});
