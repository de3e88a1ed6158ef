import { connect, createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { captureLogs, type LogCapture } from '../src/logging/index.js';
import { type EmbeddedBroker, openMqtt, startEmbeddedBroker } from '../src/mqtt/index.js';
import { MqttLink } from '../src/mqtt/link.js';
import { bridgeStateTopic } from '../src/mqtt/topics.js';
import { eventually, freePort, Recorder } from './helpers/mosquitto.js';
import { parseConfig } from '../src/config/index.js';

// The embedded Aedes broker that runs when `mqtt.server` is absent.

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
    await eventually('link online', () => link.state === 'online');
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
    await eventually('link offline', () => link.state === 'offline');
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
    await eventually('link online', () => opened.link.state === 'online');
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
      await eventually('link online', () => open.link.state === 'online');
      const lanUrl = open.broker?.url.replace('127.0.0.1', lan) ?? '';
      const homeAssistant = await Recorder.start(lanUrl, 'fieldbridge/bridge/state');
      cleanups.push(() => homeAssistant.close());
      await homeAssistant.waitFor((message) => message.payload.includes('online'));
    });
  });
});
