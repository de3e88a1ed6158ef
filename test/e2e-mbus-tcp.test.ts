import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { MbusSimulator } from '../src/drivers/mbus/simulator/simulator.js';
import { GatewayRig, gapsIn, readingSeqs, Subscriber } from './helpers/gatewayRig.js';
import { describeWithMosquitto, Mosquitto } from './helpers/mosquitto.js';

// M-Bus end to end through an Ethernet level converter: the gateway process connects to
// `tcp://127.0.0.1:PORT`, where the meter simulator serves its meters as a transparent TCP converter;
// mosquitto carries the results. The converter reboots mid-run and the line heals by itself.

let broker: Mosquitto;
let simulator: MbusSimulator;
const rigs: GatewayRig[] = [];
const subscribers: Subscriber[] = [];

const METERS = ['mbus_12340001', 'mbus_12340002', 'mbus_12340003'];

const availability = (sub: Subscriber, id: string) => sub.on(`fb/${id}/availability`).at(-1)?.payload;

describeWithMosquitto('M-Bus: gateway ↔ simulated meters behind a TCP converter ↔ mosquitto', () => {
  beforeAll(async () => {
    broker = await Mosquitto.start();
  });
  beforeEach(async () => {
    simulator = new MbusSimulator({ tcpPort: 0, fast: true, seed: 3, baud: 38_400 });
    await simulator.start();
  });
  afterEach(async () => {
    for (const subscriber of subscribers.splice(0)) await subscriber.close().catch(() => {});
    for (const created of rigs.splice(0)) await created.stop('SIGKILL');
    await simulator?.stop();
  });
  afterAll(async () => {
    await broker.dispose();
  });

  it('scans and reads the meters over TCP; a converter reboot is healed without losing a reading', async () => {
    const gateway = new GatewayRig(
      [
        `mqtt: { server: ${broker.url}, base_topic: fb }`,
        'logging: { format: json, level: info }',
        'health: { interval_ms: 500, state_refresh_ms: 60000 }',
        'mbus:',
        `  - { port: "${simulator.link}", baud: 38400, scan_on_start: never, poll_interval_ms: 300 }`,
        'device_defaults: { reconnect: { initial_ms: 500, max_ms: 2000 } }',
      ].join('\n'),
    );
    rigs.push(gateway);
    const sub = await Subscriber.start(broker.url, ['fb/#']);
    subscribers.push(sub);
    const running = gateway.start();
    await sub.waitFor(
      'bridge online',
      () => sub.on('fb/bridge/state').at(-1)?.payload === '{"state":"online"}',
    );
    await sub.publish(
      'fb/bridge/request/scan',
      JSON.stringify({ driver: 'mbus', mode: 'primary', to: 5, transaction: 1 }),
    );
    await sub.waitFor('the scan answer', () => sub.on('fb/bridge/response/scan').length > 0, 30_000);
    expect(sub.json('fb/bridge/response/scan')[0]).toMatchObject({ status: 'ok', data: { added: METERS } });
    for (const id of METERS)
      await sub.waitFor(`readings of ${id}`, () => readingSeqs(sub, `fb/${id}/reading`).length >= 2);

    // The converter reboots: the connection is closed, connections are refused for 3 s.
    await simulator.unplug();
    const rebootedAt = sub.messages.length;
    // The gateway noticed at once (the converter closed the connection), not after a timeout.
    await running.waitFor(/converter closed the connection|connection was closed/, 2_000);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await simulator.replug();
    const back = Date.now();
    for (const id of METERS) {
      await sub.waitFor(
        `${id} read again after the reboot`,
        () => sub.messages.slice(rebootedAt).filter((m) => m.topic === `fb/${id}/reading`).length >= 2,
        15_000,
      );
      expect(availability(sub, id)).toBe('online');
      expect(gapsIn(readingSeqs(sub, `fb/${id}/reading`))).toEqual([]);
    }
    console.log(`M-Bus over TCP: meters read again ${Date.now() - back} ms after the converter came back`);
  }, 90_000);
});
