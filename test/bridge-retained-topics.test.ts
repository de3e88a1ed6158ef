import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../src/drivers/contract.js';
import { type DeviceHealth, freshHealth } from '../src/bridge/health.js';
import { RetainedDeviceTopics } from '../src/bridge/retainedDeviceTopics.js';
import { Topics } from '../src/bridge/topics.js';
import type { DeviceStatus } from '../src/machines/notices.js';
import { persistenceFixture } from './helpers/persistenceFiles.js';

// The devices' retained topics as the bridge announces them again after a (re)connect: what a broker
// that lost its retained messages gets back, without waiting for any device to change.

const { dbPath, open } = persistenceFixture();

const EARLIER_RUN = Date.parse('2026-01-01T10:00:00.000Z');
const THIS_RUN = Date.parse('2026-01-01T12:00:00.000Z');

function healthOf(status: DeviceStatus): DeviceHealth {
  return { ...freshHealth({ driver: 'simulated' }), status };
}

function setup(health: Record<string, DeviceStatus>) {
  const persistence = open({ path: dbPath() });
  const published: { topic: string; payload: string | Record<string, JsonValue> }[] = [];
  const states = new Map<string, Record<string, JsonValue>>();
  const retained = new RetainedDeviceTopics({
    topics: new Topics('fb'),
    persistence,
    health: new Map(Object.entries(health).map(([id, status]) => [id, healthOf(status)])),
    states,
    publish: (topic, payload) => published.push({ topic, payload }),
    now: () => THIS_RUN,
  });
  return { persistence, published, states, retained };
}

describe('RetainedDeviceTopics', () => {
  it('republishes every device’s availability and last state, the restored ones still marked stale', () => {
    const { persistence, published, retained } = setup({ heat: 'reconnecting', lamp: 'connected.healthy' });
    persistence.states.save('heat', { energy: 5 }, EARLIER_RUN);
    persistence.states.save('lamp', { brightness: 10 }, EARLIER_RUN);
    // A device removed from the config keeps its row but is no longer announced.
    persistence.states.save('gone', { energy: 1 }, EARLIER_RUN);
    persistence.transaction(() => retained.restoreStates());
    // The lamp says something new in this run; the meter stays silent.
    persistence.states.save('lamp', { brightness: 200 }, THIS_RUN);
    retained.reported('lamp');
    published.length = 0;

    retained.republishAll();

    expect(published).toEqual([
      { topic: 'fb/heat/availability', payload: 'offline' },
      { topic: 'fb/heat', payload: { energy: 5, stale: true, last_seen: '2026-01-01T10:00:00.000Z' } },
      { topic: 'fb/lamp/availability', payload: 'online' },
      { topic: 'fb/lamp', payload: { brightness: 200, last_seen: '2026-01-01T12:00:00.000Z' } },
    ]);
  });

  it('announces the availability of a device that never reported, without inventing a state', () => {
    const { published, retained } = setup({ fresh: 'disconnected', degraded: 'connected.degraded' });
    retained.republishAll();
    expect(published).toEqual([
      { topic: 'fb/fresh/availability', payload: 'offline' },
      { topic: 'fb/degraded/availability', payload: 'online' },
    ]);
  });

  it('restores the stored states at start, marked stale, into the states the bridge keeps', () => {
    const { persistence, published, states, retained } = setup({ heat: 'disconnected' });
    persistence.states.save('heat', { energy: 5 }, EARLIER_RUN);
    persistence.states.save('gone', { energy: 1 }, EARLIER_RUN);
    persistence.transaction(() => retained.restoreStates());
    expect(published).toEqual([
      { topic: 'fb/heat', payload: { energy: 5, stale: true, last_seen: '2026-01-01T10:00:00.000Z' } },
    ]);
    expect([...states]).toEqual([['heat', { energy: 5 }]]);
  });

  it('refreshes only the states of available devices', () => {
    const { published, states, retained } = setup({ up: 'connected.healthy', down: 'offline' });
    states.set('up', { value: 1 });
    states.set('down', { value: 2 });
    retained.refreshStates();
    expect(published).toEqual([
      { topic: 'fb/up', payload: { value: 1, last_seen: '2026-01-01T12:00:00.000Z' } },
    ]);
  });
});
