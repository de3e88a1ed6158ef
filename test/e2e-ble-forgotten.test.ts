import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { findDbusDaemon } from '../src/drivers/shared/bluez/simulator/daemon.js';
import { parseConfig } from '../src/config/index.js';
import { runGateway } from '../src/gateway.js';
import { Subscriber } from './helpers/gatewayRig.js';
import { describeWithMosquitto, Mosquitto } from './helpers/mosquitto.js';

// A BLE sensor auto_add took, removed on request, is not taken again while it keeps advertising: the
// gateway keeps it in the forgotten-devices store by its driver's forget key (the MAC) and hands the
// BLE driver's auto_add its own forgotten keys, without naming the driver. In-process, on a fake BlueZ.

const BASE = 'forgot';
const describeWithBluez = findDbusDaemon() === undefined ? () => undefined : describeWithMosquitto;
if (findDbusDaemon() === undefined) console.warn('skipping the forgotten BLE sensor test: no dbus-daemon');

let broker: Mosquitto;
let dir: string;
let sub: Subscriber;
const stop = new AbortController();
let running: Promise<number> | undefined;

const sensorsOnline = () =>
  sub.messages
    .filter((m) => /^forgot\/ble_[0-9a-f]{12}\/availability$/.test(m.topic) && m.payload === 'online')
    .map((m) => m.topic.split('/')[1] ?? '');

describeWithBluez('BLE auto_add and a sensor removed on request', () => {
  beforeAll(async () => {
    broker = await Mosquitto.start();
    dir = mkdtempSync(join(tmpdir(), 'fieldbridge-e2e-forgotten-'));
    sub = await Subscriber.start(broker.url, [`${BASE}/#`]);
    const config = parseConfig(
      [
        `mqtt: { server: ${broker.url}, base_topic: ${BASE} }`,
        `persistence: { path: ${join(dir, 'fieldbridge.db')} }`,
        'logging: { level: warn }',
        'ble: [{ transport: simulated }]',
      ].join('\n'),
      {},
      '(test)',
    );
    running = runGateway(config, { configSource: '(test)', signal: stop.signal });
  });
  afterAll(async () => {
    stop.abort();
    await running;
    await sub?.close();
    await broker?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is offered as removed, never added again, while it keeps advertising', async () => {
    await sub.waitFor('a sensor auto-added and online', () => sensorsOnline().length > 0, 30_000);
    const [id] = sensorsOnline();
    await sub.publish(`${BASE}/bridge/request/device/remove`, JSON.stringify({ id, transaction: 'rm' }));
    await sub.waitFor('the answer', () => sub.on(`${BASE}/bridge/response/device/remove`).length > 0);
    const [answer] = sub.json<{ status: string; data: { mac?: string } }>(
      `${BASE}/bridge/response/device/remove`,
    );
    expect(answer).toMatchObject({ status: 'ok', data: { id, driver: 'ble' } });
    const mac = answer?.data.mac;
    expect(mac).toMatch(/^[0-9A-F:]{17}$/);
    const removedAt = sub.messages.length;
    await sub.waitFor(
      'the sensor offered as removed on request',
      () =>
        sub
          .json<{ type: string; data: { mac?: string; reason?: string } }>(`${BASE}/bridge/event`)
          .some(
            (event) =>
              event.type === 'ble_sensor_not_added' &&
              event.data.mac === mac &&
              /removed on request/.test(event.data.reason ?? ''),
          ),
      30_000,
    );
    const addedAgain = sub.messages
      .slice(removedAt)
      .some((m) => m.topic === `${BASE}/${id}/availability` && m.payload === 'online');
    expect(addedAgain).toBe(false);
  }, 60_000);
});
