import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, deviceBus, loadConfigFile, parseConfig } from '../src/config/index.js';

const examplePath = fileURLToPath(new URL('../fieldbridge.example.yaml', import.meta.url));

describe('loadConfigFile', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'fieldbridge-config-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('loads and validates a file, substituting from the given environment', async () => {
    const path = join(directory, 'ok.yaml');
    await writeFile(path, 'mqtt:\n  password: ${PW}\n');
    const config = await loadConfigFile(path, { PW: 'x' });
    expect(config.mqtt.password).toBe('x');
  });

  it('treats an empty file as all defaults', async () => {
    const path = join(directory, 'empty.yaml');
    await writeFile(path, '');
    expect(await loadConfigFile(path, {})).toEqual(defaultConfig());
  });

  it('reports a missing file at its path', async () => {
    const path = join(directory, 'missing.yaml');
    await expect(loadConfigFile(path, {})).rejects.toThrow(ConfigError);
    await expect(loadConfigFile(path, {})).rejects.toMatchObject({
      problems: [{ path, message: 'cannot read config file: file not found' }],
    });
  });

  it('reports a directory given as the file', async () => {
    await expect(loadConfigFile(directory, {})).rejects.toMatchObject({
      problems: [{ path: directory, message: 'cannot read config file: is a directory, not a file' }],
    });
  });

  it('names the file in YAML syntax errors', async () => {
    const path = join(directory, 'broken.yaml');
    await writeFile(path, 'mqtt:\n  server: "unterminated\n');
    await expect(loadConfigFile(path, {})).rejects.toMatchObject({
      problems: [expect.objectContaining({ path: expect.stringMatching(new RegExp(`^${path}:\\d+:\\d+$`)) })],
    });
  });
});

describe('fieldbridge.example.yaml', () => {
  it('parses, with one simulated device per driver', async () => {
    const config = parseConfig(await readFile(examplePath, 'utf8'), {}, examplePath);
    expect(config.devices.map((device) => [device.driver, device.transport])).toEqual([
      ['simulated', 'simulated'],
      ['mbus', 'simulated'],
      ['dali', 'simulated'],
      ['ble', 'simulated'],
      ['dalicenter', 'simulated'],
      ['renogy', 'simulated'],
    ]);
    expect(config.devices.map(deviceBus)).toEqual([
      'simulated',
      'mbus:simulated',
      'dali:simulated',
      'ble:simulated',
      'dalicenter:simulated:6A242121110E',
      'renogy:simulated',
    ]);
    expect(config.mqtt.server).toBe('mqtt://localhost:1883');
  });

  it('picks up the environment it documents', async () => {
    const config = parseConfig(await readFile(examplePath, 'utf8'), { MQTT_URL: 'mqtts://broker:8883' });
    expect(config.mqtt.server).toBe('mqtts://broker:8883');
  });

  it('still parses with every commented-out real-hardware line enabled', async () => {
    // Uncomment the "key: value" lines so the documented options are validated too; the transports switch
    // to real hardware by replacing "simulated" with the value named in the comment.
    const text = (await readFile(examplePath, 'utf8'))
      .replace(/^(\s*)# (\w+: .*)$/gm, '$1$2')
      .replace(/transport: simulated\s+# real hardware: transport: (\w+)/g, 'transport: $1')
      .replace(/^ {4}simulation:.*(\n {6}.*)+/gm, '');
    const env = {
      MQTT_PASSWORD: 'pw',
      HA_MQTT_PASSWORD: 'ha-pw',
      FIELDBRIDGE_HTTP_TOKEN: 'token',
      LIVING_ROOM_BIND_KEY: 'a'.repeat(32),
      DALI_CENTER_USER: 'gw-user',
      DALI_CENTER_PASSWORD: 'gw-password',
    };
    const config = parseConfig(text, env);
    expect(config.devices.map((device) => device.transport)).toEqual([
      'simulated',
      'serial',
      'hid',
      'bluez',
      'mqtt',
      'bluez',
    ]);
    expect(config.mqtt).toMatchObject({
      user: 'fieldbridge',
      password: 'pw',
      cert: '/etc/fieldbridge/client.pem',
      embedded_tls: { cert: '/etc/fieldbridge/broker.pem', key: '/etc/fieldbridge/broker.key', port: 8883 },
      embedded_users: [{ user: 'homeassistant', password: 'ha-pw' }],
    });
  });
});
