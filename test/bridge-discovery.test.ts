import { describe, expect, it } from 'vitest';
import {
  BRIDGE_NODE_ID,
  bridgeDiscovery,
  deviceDiscovery,
  isOurDiscoveryTopic,
  staleDiscovery,
} from '../src/bridge/discovery.js';
import { simulatedEntities } from '../src/bridge/entities.js';
import { Topics } from '../src/bridge/topics.js';

const topics = new Topics('fieldbridge');
const description = { manufacturer: 'fieldbridge', model: 'Simulated device', expireAfterS: 180 };

describe('Home Assistant discovery', () => {
  const messages = deviceDiscovery(
    topics,
    '0.1.0',
    { id: 'demo1', name: 'Demo 1', driver: 'simulated' },
    description,
    simulatedEntities(),
  );
  const byObject = Object.fromEntries(messages.map((m) => [m.topic.split('/')[3], JSON.parse(m.payload)]));

  it('publishes one retained config per entity under the discovery prefix', () => {
    expect(messages.map((m) => m.topic)).toEqual([
      'homeassistant/sensor/fieldbridge_demo1/temperature/config',
      'homeassistant/sensor/fieldbridge_demo1/humidity/config',
      'homeassistant/sensor/fieldbridge_demo1/energy/config',
      'homeassistant/light/fieldbridge_demo1/light/config',
    ]);
  });

  it('carries the device registry block, origin, availability list and expire_after', () => {
    expect(byObject.temperature).toMatchObject({
      unique_id: 'fieldbridge_demo1_temperature',
      state_topic: 'fieldbridge/demo1',
      value_template: '{{ value_json.temperature }}',
      device_class: 'temperature',
      unit_of_measurement: '°C',
      state_class: 'measurement',
      expire_after: 180,
      availability_mode: 'all',
      availability: [
        { topic: 'fieldbridge/bridge/state', value_template: '{{ value_json.state }}' },
        { topic: 'fieldbridge/demo1/availability' },
      ],
      device: {
        identifiers: ['fieldbridge_demo1'],
        name: 'Demo 1',
        via_device: BRIDGE_NODE_ID,
      },
      origin: { name: 'fieldbridge', sw_version: '0.1.0' },
    });
    expect(byObject.energy).toMatchObject({
      device_class: 'energy',
      state_class: 'total_increasing',
      unit_of_measurement: 'Wh',
    });
  });

  it('makes lights JSON-schema lights with brightness commanded on the set topic', () => {
    expect(byObject.light).toMatchObject({
      schema: 'json',
      command_topic: 'fieldbridge/demo1/set',
      state_topic: 'fieldbridge/demo1',
      brightness: true,
      brightness_scale: 254,
    });
  });

  it('gives the bridge a device of its own with status, queue depth and uptime', () => {
    const bridge = bridgeDiscovery(topics, '0.1.0').map((m) => JSON.parse(m.payload));
    expect(bridge.map((c) => c.value_template)).toEqual([
      '{{ value_json.status }}',
      '{{ value_json.queue.depth }}',
      '{{ value_json.uptime_s }}',
    ]);
    expect(bridge[0]).toMatchObject({
      state_topic: 'fieldbridge/bridge/health',
      device: { identifiers: [BRIDGE_NODE_ID] },
    });
    expect(bridge[0].availability).toEqual([
      { topic: 'fieldbridge/bridge/state', value_template: '{{ value_json.state }}' },
    ]);
  });

  it('removes entities that no longer exist with an empty retained config, and only ours', () => {
    const announced = [
      ...messages.map((m) => m.topic),
      'homeassistant/sensor/fieldbridge_gone/energy/config',
    ];
    expect(staleDiscovery(announced, messages)).toEqual([
      { topic: 'homeassistant/sensor/fieldbridge_gone/energy/config', payload: '' },
    ]);
    expect(isOurDiscoveryTopic(topics, 'homeassistant/sensor/fieldbridge_gone/energy/config')).toBe(true);
    expect(isOurDiscoveryTopic(topics, 'homeassistant/sensor/zigbee2mqtt_x/energy/config')).toBe(false);
    expect(isOurDiscoveryTopic(topics, 'homeassistant/sensor/fieldbridge_x/config')).toBe(false);
  });
});
