import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { eventually } from './helpers/eventually.js';
import { describeWithMosquitto, Mosquitto, Recorder } from './helpers/mosquitto.js';
import { errorText } from '../src/errorText.js';

// The Compose Mosquitto's config (deploy/mosquitto/) run for real: the Debian mosquitto with that
// mosquitto.conf and ACL, its password file written by init-passwords.sh as the container does; only
// the paths inside the container and the port are moved to a temporary directory and a free port.

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const deploy = join(root, 'deploy/mosquitto');
const PASSWORDS = { FIELDBRIDGE_MQTT_PASSWORD: 'gw "pass" $1', HA_MQTT_PASSWORD: 'ha-pass' };

let dir: string;
let broker: Mosquitto;
const clients: MqttClient[] = [];

/** deploy/mosquitto/mosquitto.conf with the container's paths moved into `dir` (the listener is the helper's). */
async function adaptedConfig(): Promise<string[]> {
  const lines = (await readFile(join(deploy, 'mosquitto.conf'), 'utf8')).split('\n');
  return [
    ...lines
      .filter((line) => !line.startsWith('listener '))
      .map((line) =>
        line
          .replace('/mosquitto/data/passwords', join(dir, 'passwords'))
          .replace('/mosquitto/config/acl', join(deploy, 'acl'))
          .replace('/mosquitto/data/', `${dir}/`),
      ),
    // Started as root, mosquitto would drop to its own user, which cannot enter the temporary directory.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
  ];
}

async function login(user: string, password: string): Promise<MqttClient> {
  const client = await connectAsync(broker.url, { username: user, password, reconnectPeriod: 0 });
  clients.push(client);
  return client;
}

async function refusal(options: { username?: string; password?: string }): Promise<string> {
  try {
    const client = await connectAsync(broker.url, { ...options, reconnectPeriod: 0, connectTimeout: 3_000 });
    await client.endAsync(true);
    return 'connected';
  } catch (error) {
    return errorText(error);
  }
}

describeWithMosquitto('deploy/mosquitto on the Debian mosquitto', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fieldbridge-deploy-mosquitto-'));
    broker = await Mosquitto.start({
      defaults: false,
      config: await adaptedConfig(),
      launcher: ['sh', join(deploy, 'init-passwords.sh')],
      env: { ...PASSWORDS, MOSQUITTO_PASSWORD_FILE: join(dir, 'passwords') },
    });
  });
  afterAll(async () => {
    for (const client of clients) await client.endAsync(true);
    await broker?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses anonymous clients and wrong passwords', async () => {
    expect(await refusal({})).toMatch(/Not authorized/i);
    expect(await refusal({ username: 'homeassistant', password: 'wrong' })).toMatch(/Not authorized/i);
    expect(await refusal({ username: 'fieldbridge', password: PASSWORDS.HA_MQTT_PASSWORD })).toMatch(
      /Not authorized/i,
    );
  });

  it('lets Home Assistant send commands and read states, but not publish a state or a discovery config', async () => {
    const gateway = await login('fieldbridge', PASSWORDS.FIELDBRIDGE_MQTT_PASSWORD);
    await gateway.publishAsync('fieldbridge/heat1/state', '{"kWh":1}', { qos: 1, retain: true });
    const watcher = await Recorder.start(
      broker.url.replace(
        'mqtt://',
        `mqtt://fieldbridge:${encodeURIComponent(PASSWORDS.FIELDBRIDGE_MQTT_PASSWORD)}@`,
      ),
      ['fieldbridge/#', 'homeassistant/#'],
    );
    clients.push(watcher.client);
    const homeAssistant = await login('homeassistant', PASSWORDS.HA_MQTT_PASSWORD);
    const seen: string[] = [];
    homeAssistant.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
    await homeAssistant.subscribeAsync('fieldbridge/#', { qos: 1 });
    await eventually(() => seen.includes('fieldbridge/heat1/state {"kWh":1}'), {
      what: 'the retained state read by Home Assistant',
    });
    // Mosquitto drops a refused publish and acknowledges it all the same (MQTT 3.1.1 has no NACK).
    for (const topic of [
      'fieldbridge/heat1/state',
      'fieldbridge/heat1/availability',
      'fieldbridge/bridge/state',
      'homeassistant/sensor/fieldbridge_heat1/energy/config',
    ]) {
      await homeAssistant.publishAsync(topic, 'forged', { qos: 1, retain: true });
    }
    for (const topic of [
      'fieldbridge/heat1/set',
      'fieldbridge/heat1/get',
      'fieldbridge/bridge/request/health_check',
    ]) {
      await homeAssistant.publishAsync(topic, 'command', { qos: 1 });
    }
    await homeAssistant.publishAsync('homeassistant/status', 'online', { qos: 1 });
    // One connection, in order: once the last arrived, a forged message would have arrived before it.
    await watcher.waitFor((message) => message.topic === 'homeassistant/status');
    expect(watcher.messages.filter((message) => message.payload === 'command').map((m) => m.topic)).toEqual([
      'fieldbridge/heat1/set',
      'fieldbridge/heat1/get',
      'fieldbridge/bridge/request/health_check',
    ]);
    expect(watcher.messages.filter((message) => message.payload === 'forged')).toEqual([]);
  });

  it("passes the compose file's health check", async () => {
    const compose = parse(await readFile(join(root, 'docker-compose.yml'), 'utf8')) as {
      services: { mosquitto: { healthcheck: { test: string[] } } };
    };
    const [kind, command] = compose.services.mosquitto.healthcheck.test;
    expect(kind).toBe('CMD-SHELL');
    // Compose turns $$ into $ before the container's shell sees it.
    const shell = `${(command as string).replaceAll('$$', '$')} -h 127.0.0.1 -p ${broker.port}`;
    const { stdout } = await run('sh', ['-c', shell], { env: { ...process.env, ...PASSWORDS } });
    expect(Number(stdout.trim().split(' ')[0])).toBeGreaterThanOrEqual(0);
  });

  it('will not start without the passwords in the environment', async () => {
    const env = { PATH: process.env.PATH ?? '', MOSQUITTO_PASSWORD_FILE: join(dir, 'unused') };
    await expect(run('sh', [join(deploy, 'init-passwords.sh'), 'true'], { env })).rejects.toMatchObject({
      stderr: expect.stringContaining('FIELDBRIDGE_MQTT_PASSWORD: is not set: put it in .env'),
    });
  });
});
