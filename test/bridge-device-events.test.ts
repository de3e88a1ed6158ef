import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceEvents } from '../src/bridge/deviceEvents.js';
import { deviceDiscovery } from '../src/bridge/discovery.js';
import { ReadingWriter } from '../src/bridge/readingWriter.js';
import { Topics } from '../src/bridge/topics.js';
import { type DeviceConfig, parseConfig } from '../src/config/index.js';
import { entitiesOf } from '../src/drivers/registry.js';
import { event, eventCapabilityOf } from '../src/drivers/shared/capabilities.js';
import { openPersistence, type Persistence } from '../src/persistence/index.js';

// A device's events (a DALI Center panel's key presses) go once each to `<base>/<id>/event`, not
// retained, and HA's event entity reads that topic: never the retained state, which HA gets again
// after each restart and with each later state of the device.

const topics = new Topics('fb');
const panel = parseConfig(
  'devices: [{ id: panel, driver: dalicenter, transport: simulated, serial: 6A242121110E, role: panel, dev_type: "0304", channel: 0, address: 22 }]',
  {},
).devices[0] as DeviceConfig;

const dirs: string[] = [];
const opened: Persistence[] = [];
afterEach(() => {
  for (const persistence of opened.splice(0)) persistence.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function writer() {
  const dir = mkdtempSync(join(tmpdir(), 'fb-events-'));
  dirs.push(dir);
  const persistence = openPersistence({ path: join(dir, 'db.sqlite') });
  opened.push(persistence);
  const events = new DeviceEvents(topics, new Map([[panel.id, panel]]));
  return { persistence, writer: new ReadingWriter(persistence, topics, () => undefined, events) };
}

describe('device events', () => {
  it("a panel's event entity reads the event topic, not the device's state", () => {
    const [config] = deviceDiscovery(
      topics,
      '0.0.0',
      { id: panel.id, driver: panel.driver },
      { manufacturer: 'Sunricher', model: 'panel', expireAfterS: 180 },
      entitiesOf(panel, undefined),
    ).map((message) => JSON.parse(message.payload) as Record<string, unknown>);
    expect(config).toMatchObject({ state_topic: 'fb/panel/event' });
    expect(config?.event_types).toContain('button_3_double_press');
    // HA takes the payload as it comes ({"event_type", …}); nothing reads the state topic.
    expect(config).not.toHaveProperty('value_template');
    const topicsRead = JSON.stringify(config).match(/"fb\/panel[^"]*"/g);
    expect(topicsRead?.sort()).toEqual(['"fb/panel/availability"', '"fb/panel/event"']);
  });

  it('a press is one event message, not retained; the state keeps none of it', () => {
    const { persistence, writer: readings } = writer();
    readings.add('panel', { event: 'button_3_double_press', key: 3, action: 'double_press' }, 1_000);
    expect(readings.flush()).toBe(true);
    const queued = persistence.outbox.peek(100);
    const events = queued.filter((message) => message.topic === 'fb/panel/event');
    expect(events).toEqual([
      expect.objectContaining({
        payload: '{"event_type":"button_3_double_press","key":3,"action":"double_press"}',
        retain: false,
        kind: 'event',
        qos: 1,
      }),
    ]);
    const state = queued.find((message) => message.topic === 'fb/panel');
    expect(JSON.parse(state?.payload ?? '')).toEqual({ last_seen: '1970-01-01T00:00:01.000Z' });
    expect(state?.retain).toBe(true);
    // The reading keeps what was reported, the press included.
    const reading = queued.find((message) => message.kind === 'reading');
    expect(JSON.parse(reading?.payload ?? '')).toMatchObject({ event: 'button_3_double_press', key: 3 });
    // A second press is a second event, never coalesced like a state.
    readings.add('panel', { event: 'button_1_press', key: 1, action: 'press' }, 2_000);
    readings.flush();
    expect(persistence.outbox.peek(100).filter((m) => m.topic === 'fb/panel/event')).toHaveLength(2);
  });

  it('a device of a driver without events keeps every reported value in its state', () => {
    const meter = parseConfig('devices: [{ id: demo1, driver: simulated }]', {}).devices[0] as DeviceConfig;
    expect(new DeviceEvents(topics, new Map([[meter.id, meter]])).split('demo1', { event: 'x' })).toEqual({
      state: { event: 'x' },
    });
  });

  it('a device with two event capabilities is a driver mistake, named', () => {
    expect(() => eventCapabilityOf([event('a', ['x']), event('b', ['y'])])).toThrow(
      'two event capabilities (a, b)',
    );
  });
});
