import { mkdtempSync, rmSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { SimulatedDaliCenter } from '../src/drivers/dalicenter/simulator/index.js';
import { parseConfig } from '../src/config/index.js';
import { runGateway } from '../src/gateway.js';
import { Subscriber } from './helpers/gatewayRig.js';
import { describeWithMosquitto, Mosquitto } from './helpers/mosquitto.js';

// DALI Center pairing end to end: a gateway process with no DALI Center config, a simulated gateway that
// answers the encrypted discovery (with its credentials only while its button is pressed) and runs its
// own broker, and `bridge/request/dalicenter/pair` over a real mosquitto. What was paired is stored and
// runs at once: its inventory becomes devices, its lights answer commands, and it needs no YAML.

let broker: Mosquitto;
let dir: string;
let stop: AbortController | undefined;
let running: Promise<number> | undefined;
let gateway: SimulatedDaliCenter | undefined;
let runs = 0;
const subscribers: Subscriber[] = [];

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

async function setUp(): Promise<{
  sub: Subscriber;
  base: string;
  listenPort: number;
  gateway: SimulatedDaliCenter;
}> {
  runs += 1;
  const base = `pair${runs}`;
  const listenPort = await freeUdpPort();
  gateway = new SimulatedDaliCenter({
    serial: 'A1B2C3D4E5F6',
    credentials: { username: 'gw-user', password: 'secret-from-the-button' },
    discovery: { bindAddress: '127.0.0.1', port: 0, replyRoutes: ['unicast'], replyPort: listenPort },
  });
  await gateway.start();
  const sub = await Subscriber.start(broker.url, [`${base}/#`]);
  subscribers.push(sub);
  const config = parseConfig(
    [
      `mqtt: { server: ${broker.url}, base_topic: ${base} }`,
      `persistence: { path: ${join(dir, `db-${runs}`, 'fieldbridge.db')} }`,
      'logging: { level: warn }',
      'device_defaults: { reconnect: { initial_ms: 500, max_ms: 2000 } }',
    ].join('\n'),
    {},
    '(test)',
  );
  stop = new AbortController();
  running = runGateway(config, { configSource: '(test)', signal: stop.signal });
  await sub.waitFor('the bridge online', () => sub.on(`${base}/bridge/state`).length > 0, 20_000);
  return { sub, base, listenPort, gateway };
}

async function pair(sub: Subscriber, base: string, fields: Record<string, unknown>) {
  const before = sub.on(`${base}/bridge/response/dalicenter/pair`).length;
  await sub.publish(`${base}/bridge/request/dalicenter/pair`, JSON.stringify(fields));
  await sub.waitFor(
    'the pair answer',
    () => sub.on(`${base}/bridge/response/dalicenter/pair`).length > before,
    20_000,
  );
  return sub.json<Record<string, unknown>>(`${base}/bridge/response/dalicenter/pair`)[before] ?? {};
}

describeWithMosquitto(
  'DALI Center pairing: gateway ↔ simulated DALI Center (discovery and broker) ↔ mosquitto',
  () => {
    beforeAll(async () => {
      broker = await Mosquitto.start();
      dir = mkdtempSync(join(tmpdir(), 'fieldbridge-e2e-dalicenter-pair-'));
    });
    afterEach(async () => {
      stop?.abort();
      await running;
      await gateway?.stop();
      for (const subscriber of subscribers.splice(0)) await subscriber.close().catch(() => {});
    });
    afterAll(async () => {
      await broker.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it('without the button: the gateway is named, nothing is stored', async () => {
      const { sub, base, listenPort, gateway: simulated } = await setUp();
      const answer = await pair(sub, base, {
        duration_s: 2,
        request_address: '127.0.0.1',
        request_port: simulated.discoveryPort,
        listen_port: listenPort,
      });
      expect(answer).toMatchObject({ status: 'ok' });
      const data = answer.data as { found: Record<string, unknown>[]; added: string[] };
      expect(data.found).toEqual([expect.objectContaining({ serial: 'A1B2C3D4E5F6', paired: false })]);
      expect(data.added).toEqual([]);
    }, 30_000);

    it('with the button: stored with its credentials (never in the answer), running at once, lights answer', async () => {
      const { sub, base, listenPort, gateway: simulated } = await setUp();
      simulated.pressButton(60_000);
      const answer = await pair(sub, base, {
        duration_s: 2,
        request_address: '127.0.0.1',
        request_port: simulated.discoveryPort,
        listen_port: listenPort,
      });
      expect(answer).toMatchObject({ status: 'ok' });
      expect(JSON.stringify(answer)).not.toContain('secret-from-the-button');
      const data = answer.data as { found: Record<string, unknown>[]; added: string[] };
      expect(data.found).toEqual([
        expect.objectContaining({
          serial: 'A1B2C3D4E5F6',
          address: '127.0.0.1',
          port: simulated.mqttPort,
          paired: true,
        }),
      ]);
      expect(data.added).toEqual(['dalicenter_d4e5f6']);
      // It runs without any YAML: it logs in with the stored credentials and its inventory becomes devices.
      await sub.waitFor(
        'the paired gateway and its lights online',
        () =>
          ['dalicenter_d4e5f6', 'dalicenter_d4e5f6_light_0'].every(
            (id) => sub.on(`${base}/${id}/availability`).at(-1)?.payload === 'online',
          ),
        20_000,
      );
      await sub.publish(
        `${base}/dalicenter_d4e5f6_light_0/set`,
        JSON.stringify({ state: 'ON', brightness: 255 }),
      );
      await sub.waitFor('the light on', () =>
        sub
          .json<Record<string, unknown>>(`${base}/dalicenter_d4e5f6_light_0`)
          .some((state) => state.brightness === 255),
      );
      expect(simulated.line.at(0, 0)?.light).toMatchObject({ on: true, brightness: 1000 });
    }, 40_000);
  },
);
