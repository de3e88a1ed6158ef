import { beforeAll, expect, it } from 'vitest';
import { BluezGatewayRig, describeWithBluez } from './helpers/bluezGatewayRig.js';
import type { Subscriber } from './helpers/gatewayRig.js';

// A BLE sensor auto_add took, removed on request, is not taken again while it keeps advertising: the
// gateway keeps it in the forgotten-devices store by its driver's forget key (the MAC) and hands the
// BLE driver's auto_add its own forgotten keys, without naming the driver. In-process, on a fake BlueZ.

const BASE = 'forgot';
const rig = new BluezGatewayRig('forgotten');
let sub: Subscriber;

const sensorsOnline = () =>
  sub.messages
    .filter((m) => /^forgot\/ble_[0-9a-f]{12}\/availability$/.test(m.topic) && m.payload === 'online')
    .map((m) => m.topic.split('/')[1] ?? '');

describeWithBluez('BLE auto_add and a sensor removed on request', () => {
  rig.register();
  beforeAll(async () => {
    // One gateway for the file's one test (the rig stops it after the test). The simulated line starts
    // its own fake BlueZ, with sensors nobody configured for auto_add.
    ({ sub } = await rig.run({
      base: BASE,
      filters: (base) => [`${base}/#`],
      config: () => ['ble: [{ transport: simulated }]'],
    }));
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
