import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { RequestHandler } from '../src/bridge/requestHandler.js';
import { GatewayOpenContext } from '../src/hosting/openContext.js';
import { systemClock } from '../src/machines/clock.js';
import { parseRequest } from '../src/bridge/requests.js';
import { parseConfig } from '../src/config/index.js';
import { removeFoundDevice, type RemovalDependencies } from '../src/gateway/deviceRemoval.js';
import { withDiscovered } from '../src/gateway/discovered.js';
import { MIGRATIONS, type Persistence } from '../src/persistence/index.js';
import { migrate } from '../src/persistence/migrations.js';
import { persistenceFixture } from './helpers/persistenceFiles.js';
import { offlineBridge } from './helpers/offlineBridge.js';

// Devices come and go on purpose: the `device/remove` request, what removing a found device does to
// the database and to the running config, and what the bridge leaves on the broker for a device that
// is gone (nothing: empty retained state, availability and discovery configs, through the outbox).

const { dbPath, open } = persistenceFixture();

const MAC = 'A4:C1:38:00:00:01';
const FOUND_SENSOR = {
  id: 'ble_a4c138000001',
  config: { id: 'ble_a4c138000001', driver: 'ble', adapter: 'hci0', mac: MAC },
  foundAt: 0,
};
const FOUND_LAMP = {
  id: 'dali_lamp_0',
  config: { id: 'dali_lamp_0', driver: 'dali', transport: 'simulated', address: 0 },
  foundAt: 0,
};

describe('the device/remove request', () => {
  it('takes an id and hands it to the gateway; without a gateway that can, it is an error answer', async () => {
    expect(parseRequest('device/remove', '{"id":"ble_1","transaction":"t"}')).toEqual({
      ok: true,
      value: { name: 'device/remove', id: 'ble_1' },
      transaction: 't',
    });
    expect(parseRequest('device/remove', '{}')).toMatchObject({
      ok: false,
      error: 'id: Invalid input: expected string, received undefined',
    });
    const context = {
      devices: new Map(),
      reloadConfig: async () => ({ ok: true as const, data: {} }),
      send: () => undefined,
      scan: async () => ({ ok: true as const, data: {} }),
      queueStats: () => ({ depth: 0, oldestAgeS: 0, dropped: 0, published: 0 }) as never,
      health: () => ({}),
      openContext: new GatewayOpenContext(systemClock),
    };
    const removed: string[] = [];
    const handler = new RequestHandler({
      ...context,
      removeDevice: (id) => {
        removed.push(id);
        return id === 'x' ? { ok: true, data: { id } } : { ok: false, error: `unknown device "${id}"` };
      },
    });
    expect(await handler.handle('device/remove', '{"id":"x","transaction":1}')).toEqual({
      status: 'ok',
      data: { id: 'x' },
      transaction: 1,
    });
    expect(await handler.handle('device/remove', '{"id":"y"}')).toEqual({
      status: 'error',
      data: {},
      error: 'unknown device "y"',
    });
    expect(removed).toEqual(['x', 'y']);
    expect(await new RequestHandler(context).handle('device/remove', '{"id":"x"}')).toMatchObject({
      status: 'error',
      error: 'this gateway cannot remove devices',
    });
  });
});

describe('the upgrade', () => {
  it('keeps the sensors auto_add added before auto_add_min_rssi existed, however faint', () => {
    const path = dbPath();
    mkdirSync(dirname(path), { recursive: true });
    // The database as the previous release left it: schema version 4, a sensor it auto-added.
    const old = new Database(path);
    migrate(old, MIGRATIONS.slice(0, 4));
    old
      .prepare('INSERT INTO discovered_devices (device_id, config, found_at) VALUES (?, ?, ?)')
      .run(FOUND_SENSOR.id, JSON.stringify(FOUND_SENSOR.config), 0);
    old.close();
    const persistence = open({ path });
    expect(persistence.discovered.list()).toEqual([FOUND_SENSOR]);
    expect(persistence.discovered.forgottenKeys('ble')).toEqual(new Set());
    const running = withDiscovered(
      parseConfig('ble: [{ adapter: hci0 }]\n', {}),
      persistence.discovered.list(),
    );
    expect(running.config.devices.map((device) => device.id)).toEqual(['ble_hci0', FOUND_SENSOR.id]);
  });
});

describe('the upgrade to one forgotten-devices table', () => {
  it('keeps the sensors removed before it forgotten, by their MAC, and drops the BLE-only table', () => {
    const path = dbPath();
    mkdirSync(dirname(path), { recursive: true });
    // The database as the previous release left it: schema version 6, a sensor removed on request.
    const old = new Database(path);
    migrate(old, MIGRATIONS.slice(0, 6));
    old
      .prepare('INSERT INTO forgotten_ble_sensors (mac, device_id, forgotten_at) VALUES (?, ?, ?)')
      .run(MAC, FOUND_SENSOR.id, 1_234);
    old.close();
    const persistence = open({ path });
    expect(persistence.discovered.forgottenKeys('ble')).toEqual(new Set([MAC]));
    persistence.close();
    const upgraded = new Database(path, { readonly: true });
    try {
      expect(upgraded.prepare('SELECT * FROM forgotten_devices').all()).toEqual([
        { driver: 'ble', key: MAC, device_id: FOUND_SENSOR.id, forgotten_at: 1_234 },
      ]);
      const tables = upgraded
        .prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .pluck()
        .all();
      expect(tables).not.toContain('forgotten_ble_sensors');
    } finally {
      upgraded.close();
    }
  });
});

describe('removeFoundDevice', () => {
  function setup(yaml: string, persistence: Persistence) {
    const file = parseConfig(yaml, {});
    const calls: string[] = [];
    const deps: RemovalDependencies = {
      fileConfig: () => file,
      configSource: '/etc/fieldbridge/fieldbridge.yaml',
      running: () => withDiscovered(file, persistence.discovered.list()).config,
      discovered: persistence.discovered,
      transaction: (fn) => persistence.transaction(fn),
      apply: () => calls.push('apply'),
      forget: (ids) => calls.push(`forget ${ids.join(',')}`),
      now: () => 1_000,
    };
    return { deps, calls };
  }

  it('refuses a configured device and a line’s adapter, saying to edit the config file', () => {
    const persistence = open({ path: dbPath() });
    const { deps, calls } = setup(
      'ble: [{ adapter: hci0 }]\ndevices: [{ id: keep, driver: simulated }]\n',
      persistence,
    );
    expect(removeFoundDevice('keep', deps)).toEqual({
      ok: false,
      reason: 'configured',
      error:
        'device "keep" is configured in /etc/fieldbridge/fieldbridge.yaml, not found by a scan: edit the ' +
        'config file to remove it (a reload then stops it and empties its topics)',
    });
    expect(removeFoundDevice('ble_hci0', deps)).toMatchObject({
      ok: false,
      reason: 'configured',
      error: expect.stringMatching(
        /^device "ble_hci0" is the adapter of a ble: line in .*: edit the config file/,
      ),
    });
    expect(calls).toEqual([]);
  });

  it('answers an unknown id with the closest found device', () => {
    const persistence = open({ path: dbPath() });
    persistence.discovered.save(FOUND_LAMP);
    const { deps } = setup('dali: [{ transport: simulated }]\n', persistence);
    expect(removeFoundDevice('dali_lamp_9', deps)).toEqual({
      ok: false,
      reason: 'unknown',
      error:
        'unknown device "dali_lamp_9": no device was found by a scan under this id (did you mean "dali_lamp_0"?)',
    });
  });

  it('deletes a found device, remembers a BLE sensor’s MAC for auto_add, and applies the config without it', () => {
    const persistence = open({ path: dbPath() });
    persistence.discovered.save(FOUND_SENSOR);
    persistence.discovered.save(FOUND_LAMP);
    const { deps, calls } = setup(
      'ble: [{ adapter: hci0 }]\ndali: [{ transport: simulated }]\n',
      persistence,
    );
    expect(removeFoundDevice('ble_a4c138000001', deps)).toEqual({
      ok: true,
      data: { id: 'ble_a4c138000001', driver: 'ble', mac: MAC },
    });
    expect(persistence.discovered.list().map((device) => device.id)).toEqual(['dali_lamp_0']);
    expect(persistence.discovered.forgottenKeys('ble')).toEqual(new Set([MAC]));
    // Kept by driver: another driver's forgotten keys do not include it.
    expect(persistence.discovered.forgottenKeys('dali')).toEqual(new Set());
    expect(calls).toEqual(['apply']);
    // A scan adds it again (the gateway's addDevices): auto_add may then keep it.
    persistence.discovered.unforget('ble', MAC);
    expect(persistence.discovered.forgottenKeys('ble')).toEqual(new Set());
  });

  it('empties the topics of a found device that was not running (its MAC configured under another id)', () => {
    const persistence = open({ path: dbPath() });
    persistence.discovered.save(FOUND_SENSOR);
    const { deps, calls } = setup(
      `ble: [{ adapter: hci0 }]\ndevices: [{ id: mine, driver: ble, mac: "${MAC}" }]\n`,
      persistence,
    );
    expect(removeFoundDevice('ble_a4c138000001', deps).ok).toBe(true);
    expect(calls).toEqual(['forget ble_a4c138000001']);
  });
});

/** The newest queued retained message of each topic. */
function retainedQueued(persistence: Persistence): Map<string, string> {
  const retained = new Map<string, string>();
  for (const message of persistence.outbox.peek(10_000))
    if (message.retain) retained.set(message.topic, message.payload);
  return retained;
}

describe('Bridge: a device that is gone', () => {
  it('empties its retained state, availability and every discovery config, and forgets its stored state', () => {
    const persistence = open({ path: dbPath() });
    const config = parseConfig(
      'devices: [{ id: keep, driver: simulated }, { id: gone, driver: simulated }]',
      {},
    );
    const bridge = offlineBridge(persistence, config);
    try {
      bridge.start();
      bridge.reconfigure(config);
      bridge.handleNotice({
        type: 'device.data',
        deviceId: 'gone',
        operation: 'read',
        result: { temperature: 20 },
        at: 1,
      });
      bridge.handleNotice({
        type: 'device.status',
        deviceId: 'gone',
        busId: 'simulated',
        status: 'connected.healthy',
        reason: 'connected',
        attempts: 1,
        consecutiveFailures: 0,
        lastError: null,
        lastSuccessAt: 1,
        nextAttemptAt: null,
        at: 1,
      });
      persistence.desired.merge('gone', { on: true, brightness: 200 }, 1);
      persistence.desired.merge('keep', { on: true }, 1);
      bridge.drain(0).catch(() => undefined);
      const before = retainedQueued(persistence);
      const goneConfigs = [...before.keys()].filter((topic) => topic.includes('/fieldbridge_gone/'));
      expect(goneConfigs.length).toBeGreaterThan(0);
      expect(before.get('fieldbridge/gone/availability')).toBe('online');

      bridge.reconfigure(parseConfig('devices: [{ id: keep, driver: simulated }]', {}));

      const after = retainedQueued(persistence);
      expect(after.get('fieldbridge/gone')).toBe('');
      expect(after.get('fieldbridge/gone/availability')).toBe('');
      for (const topic of goneConfigs) expect(after.get(topic), topic).toBe('');
      expect(
        [...after].filter(([topic, payload]) => topic.includes('fieldbridge_keep') && payload === ''),
      ).toEqual([]);
      expect(persistence.states.all().map((stored) => stored.deviceId)).not.toContain('gone');
      // A device configured under its id later is not switched to what this one was last asked.
      expect(persistence.desired.get('gone')).toBeUndefined();
      expect(persistence.desired.get('keep')).toEqual({ on: true });
      const events = persistence.outbox
        .peek(10_000)
        .filter((message) => message.topic === 'fieldbridge/bridge/event')
        .map((message) => JSON.parse(message.payload) as { type: string; data: unknown });
      expect(events).toContainEqual({
        type: 'device_removed',
        data: { id: 'gone', reason: 'dropped from the config' },
      });
      // What a stopping actor still says about it announces nothing again.
      bridge.handleNotice({
        type: 'device.data',
        deviceId: 'gone',
        operation: 'read',
        result: { temperature: 21 },
        at: 2,
      });
      bridge.drain(0).catch(() => undefined);
      expect(retainedQueued(persistence).get('fieldbridge/gone')).toBe('');
    } finally {
      bridge.stop();
    }
  });

  it('at start, empties the topics of a device with a stored state that is no longer configured', () => {
    const persistence = open({ path: dbPath() });
    persistence.states.save('dropped_while_stopped', { energy: 5 }, 1);
    persistence.flush();
    const config = parseConfig('devices: [{ id: keep, driver: simulated }]', {});
    const bridge = offlineBridge(persistence, config);
    try {
      bridge.start();
      const queued = retainedQueued(persistence);
      expect(queued.get('fieldbridge/dropped_while_stopped')).toBe('');
      expect(queued.get('fieldbridge/dropped_while_stopped/availability')).toBe('');
      expect(persistence.states.all()).toEqual([]);
    } finally {
      bridge.stop();
    }
  });
});
