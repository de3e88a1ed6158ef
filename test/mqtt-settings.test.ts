import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import { displayUrl } from '../src/mqtt/linkLog.js';
import { clientOptions, DEFAULT_LINK_TIMING, linkSettingsFromConfig } from '../src/mqtt/settings.js';
import { topicMatches } from '../src/mqtt/topics.js';

// The pure parts of the MQTT module: config → client options, topic filters, log-safe URLs.

describe('MQTT client options', () => {
  it('leave reconnecting to the link, keep the session, and leave an offline Last Will', () => {
    const config = parseConfig(
      'mqtt: { server: "mqtt://broker:1883", base_topic: home/fb, user: fb, password: pw }',
      {},
    );
    const options = clientOptions(
      linkSettingsFromConfig(config.mqtt, 'mqtt://broker:1883'),
      DEFAULT_LINK_TIMING,
    );
    expect(options).toMatchObject({
      clientId: 'fieldbridge',
      username: 'fb',
      password: 'pw',
      keepalive: 60,
      protocolVersion: 4,
      reconnectPeriod: 0,
      resubscribe: false,
      clean: false,
      rejectUnauthorized: true,
      will: { topic: 'home/fb/bridge/state', qos: 1, retain: true },
    });
    expect(options.will?.payload.toString()).toBe('{"state":"offline"}');
    expect(options.properties).toBeUndefined();
  });

  it('read the TLS files at every connect, and name the one that cannot be read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fieldbridge-tls-'));
    await writeFile(join(dir, 'ca.pem'), 'CA v1');
    const config = parseConfig(
      `mqtt: { server: "mqtts://broker", protocol_version: 5, ca: ${join(dir, 'ca.pem')}, cert: ${join(dir, 'missing.pem')}, key: ${join(dir, 'ca.pem')} }`,
      {},
    );
    const settings = linkSettingsFromConfig(config.mqtt, 'mqtts://broker');
    expect(() => clientOptions(settings, DEFAULT_LINK_TIMING)).toThrow(
      `cannot read mqtt.cert ${join(dir, 'missing.pem')}: ENOENT`,
    );
    settings.tls.certFile = join(dir, 'ca.pem');
    expect(clientOptions(settings, DEFAULT_LINK_TIMING).ca?.toString()).toBe('CA v1');
    await writeFile(join(dir, 'ca.pem'), 'CA v2');
    const options = clientOptions(settings, DEFAULT_LINK_TIMING);
    expect(options.ca?.toString()).toBe('CA v2');
    expect(options.properties).toEqual({ sessionExpiryInterval: 3_600 });
  });
});

describe('MQTT topic filters', () => {
  it.each([
    ['fb/+/set', 'fb/lamp1/set', true],
    ['fb/+/set', 'fb/lamp1/state', false],
    ['fb/+/set', 'fb/a/b/set', false],
    ['fb/#', 'fb', true],
    ['fb/#', 'fb/a/b', true],
    ['#', '$SYS/broker/uptime', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/broker/uptime', true],
    ['fb/lamp1', 'fb/lamp1/set', false],
    ['fb/lamp1/set', 'fb/lamp1', false],
  ])('%s matches %s: %s', (filter, topic, matches) => {
    expect(topicMatches(filter, topic)).toBe(matches);
  });
});

it('logs broker URLs without their password', () => {
  expect(displayUrl('mqtts://fb:secret@broker:8883')).toBe('mqtts://fb:***@broker:8883');
  expect(displayUrl('mqtt://broker:1883')).toBe('mqtt://broker:1883');
});
