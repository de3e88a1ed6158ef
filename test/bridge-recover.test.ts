import { describe, expect, it } from 'vitest';
import { Bridge, type BridgeLink } from '../src/bridge/bridge.js';
import { RequestHandler } from '../src/bridge/requestHandler.js';
import { GatewayOpenContext } from '../src/hosting/openContext.js';
import { systemClock } from '../src/machines/clock.js';
import { parseConfig } from '../src/config/index.js';
import { withDiscovered } from '../src/gateway/discovered.js';
import type { RootEvent } from '../src/machines/rootSupervisor.js';
import { persistenceFixture } from './helpers/persistenceFiles.js';

// `device/recover` and `adapter/power_cycle` answer "ok" only for work that can be done (a step the
// device's driver has, an adapter device that exists); the verdict follows on bridge/event.

/** A request handler over the effective config of `yaml` (adapter devices of `ble:` lines included). */
function handlerFor(yaml: string) {
  const { config } = withDiscovered(parseConfig(yaml, {}), []);
  const sent: RootEvent[] = [];
  const handler = new RequestHandler({
    devices: new Map(config.devices.map((device) => [device.id, device])),
    reloadConfig: async () => ({ ok: false, error: 'none' }),
    send: (event) => sent.push(event),
    scan: async () => ({ ok: false, error: 'none' }),
    queueStats: () => ({ depth: 0, bytes: 0, oldestAgeMs: 0, dropped: 0, published: 0 }),
    health: () => ({}),
    openContext: new GatewayOpenContext(systemClock),
  });
  return { handler, sent };
}

const METER_AND_LAMP = [
  'devices:',
  '  - { id: heat1, driver: mbus, transport: simulated }',
  '  - { id: hall, driver: dali, transport: simulated, address: 5 }',
].join('\n');

describe('device/recover', () => {
  it('refuses a step the device’s driver does not have, naming the steps it has', async () => {
    const { handler, sent } = handlerFor(METER_AND_LAMP);
    const answer = await handler.handle(
      'device/recover',
      '{"id":"heat1","step":"power_cycle_adapter","transaction":1}',
    );
    expect(answer).toEqual({
      status: 'error',
      data: {},
      error:
        'driver mbus of device "heat1" has no recovery step "power_cycle_adapter" (its steps: reopen, reenumerate, restart_actor)',
      transaction: 1,
    });
    expect(await handler.handle('device/recover', '{"id":"hall","step":"reopn"}')).toMatchObject({
      status: 'error',
      error: expect.stringContaining('has no recovery step "reopn" (did you mean "reopen"? its steps: '),
    });
    expect(sent).toEqual([]);
  });

  it('accepts a step the driver has, and the next ladder step when none is named', async () => {
    const { handler, sent } = handlerFor(METER_AND_LAMP);
    expect(await handler.handle('device/recover', '{"id":"heat1","step":"reenumerate"}')).toMatchObject({
      status: 'ok',
      data: { id: 'heat1', step: 'reenumerate' },
    });
    expect(await handler.handle('device/recover', '{"id":"hall"}')).toMatchObject({ status: 'ok' });
    expect(sent).toEqual([
      { type: 'RECOVER', deviceId: 'heat1', step: 'reenumerate', reason: 'requested over MQTT' },
      { type: 'RECOVER', deviceId: 'hall', step: null, reason: 'requested over MQTT' },
    ]);
  });
});

describe('adapter/power_cycle', () => {
  it('finds the adapter device of a simulated BLE line (bus ble:simulated), by adapter or by id', async () => {
    const { handler, sent } = handlerFor('ble: [{ adapter: hci0, transport: simulated }]');
    expect(await handler.handle('adapter/power_cycle', '{"adapter":"hci0"}')).toMatchObject({
      status: 'ok',
      data: { adapter: 'hci0', id: 'ble_hci0' },
    });
    expect(await handler.handle('adapter/power_cycle', '{"adapter":"ble_hci0"}')).toMatchObject({
      status: 'ok',
    });
    expect(sent).toEqual([
      { type: 'RECOVER', deviceId: 'ble_hci0', step: 'power_cycle_adapter', reason: 'requested over MQTT' },
      { type: 'RECOVER', deviceId: 'ble_hci0', step: 'power_cycle_adapter', reason: 'requested over MQTT' },
    ]);
  });

  it('power-cycles the adapter device, not a sensor configured on the same bus before it', async () => {
    const { handler, sent } = handlerFor(
      [
        'devices:',
        '  - { id: fridge, driver: ble, adapter: hci1, mac: "A4:C1:38:00:00:01" }',
        '  - { id: kitchen_adapter, driver: ble, adapter: hci1, role: adapter }',
      ].join('\n'),
    );
    expect(await handler.handle('adapter/power_cycle', '{"adapter":"hci1"}')).toMatchObject({ status: 'ok' });
    expect(sent.map((event) => 'deviceId' in event && event.deviceId)).toEqual(['kitchen_adapter']);
  });

  it('names the adapters there are when the one asked for is not configured', async () => {
    const { handler, sent } = handlerFor('ble: [{ adapter: hci0, transport: simulated }]');
    expect(await handler.handle('adapter/power_cycle', '{"adapter":"hci7"}')).toMatchObject({
      status: 'error',
      error: 'no BLE adapter hci7 is configured (adapters: hci0 (device ble_hci0))',
    });
    expect(await handlerFor(METER_AND_LAMP).handler.handle('adapter/power_cycle', '{}')).toMatchObject({
      status: 'error',
      error: 'no BLE adapter is configured (add a line under ble:)',
    });
    expect(sent).toEqual([]);
  });
});

describe('the verdict of a recovery', () => {
  const { dbPath, open } = persistenceFixture();

  it('is published on <base>/bridge/event, from started to verified', () => {
    const persistence = open({ path: dbPath() });
    const link: BridgeLink = {
      online: false,
      publish: (_topic, _payload, _options, done) => done(new Error('offline')),
      subscribe: () => undefined,
      onStateChange: () => undefined,
    };
    const bridge = new Bridge({
      config: parseConfig(METER_AND_LAMP, {}),
      version: 'test',
      persistence,
      link,
      send: () => undefined,
    });
    try {
      for (const outcome of ['started', 'succeeded', 'verified'] as const) {
        bridge.handleNotice({
          type: 'supervisor.recovery',
          busId: 'mbus:simulated',
          deviceId: 'heat1',
          step: 'reopen',
          outcome,
          detail: 'requested over MQTT',
          at: 1,
        });
      }
      const events = persistence.outbox
        .peek(100)
        .filter((message) => message.topic === 'fieldbridge/bridge/event')
        .map((message) => JSON.parse(message.payload) as { type: string; data: { outcome: string } });
      expect(events.map((event) => [event.type, event.data.outcome])).toEqual([
        ['recovery', 'started'],
        ['recovery', 'succeeded'],
        ['recovery', 'verified'],
      ]);
    } finally {
      bridge.stop();
    }
  });
});
