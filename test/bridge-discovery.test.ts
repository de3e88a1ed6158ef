import { describe, expect, it } from 'vitest';
import {
  BRIDGE_NODE_ID,
  bridgeDiscovery,
  deviceDiscovery,
  isOurDiscoveryConfig,
  isOurDiscoveryTopic,
  staleDiscovery,
} from '../src/bridge/discovery.js';
import { DiscoveryPublisher } from '../src/bridge/discoveryPublisher.js';
import { Topics } from '../src/bridge/topics.js';
import { type DeviceConfig, type FieldbridgeConfig, parseConfig } from '../src/config/index.js';
import { entitiesOf } from '../src/drivers/registry.js';
import { getLogger } from '../src/logging/index.js';

const topics = new Topics('fieldbridge');
const description = { manufacturer: 'fieldbridge', model: 'Simulated device', expireAfterS: 180 };

describe('Home Assistant discovery', () => {
  const messages = deviceDiscovery(
    topics,
    '0.1.0',
    { id: 'demo1', name: 'Demo 1', driver: 'simulated' },
    description,
    entitiesOf(
      parseConfig('devices: [{ id: demo1, driver: simulated }]', {}).devices[0] as DeviceConfig,
      undefined,
    ),
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
      supported_color_modes: ['brightness'],
      brightness_scale: 254,
    });
    // The legacy shape lost brightness in one HA release: color modes only.
    expect(byObject.light).not.toHaveProperty('brightness');
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

  it("takes as its own only configs that read its base topic, never another fieldbridge's on the broker", () => {
    const topic = 'homeassistant/sensor/fieldbridge_gone/energy/config';
    const config = (base: string) =>
      Buffer.from(
        JSON.stringify({ state_topic: `${base}/gone`, availability: [{ topic: `${base}/bridge/state` }] }),
      );
    expect(isOurDiscoveryConfig(topics, topic, config('fieldbridge'))).toBe(true);
    // The demo on the same broker (base topic fieldbridge-demo), or a second gateway.
    expect(isOurDiscoveryConfig(topics, topic, config('fieldbridge-demo'))).toBe(false);
    expect(isOurDiscoveryConfig(topics, topic, Buffer.from('not json'))).toBe(false);
    expect(isOurDiscoveryConfig(topics, topic, Buffer.from('{}'))).toBe(false);
    const { discovery, take } = publisher();
    discovery.publishAll();
    take();
    discovery.learn(topic, config('fieldbridge-demo'));
    discovery.learn('homeassistant/sensor/fieldbridge_old/energy/config', ourConfig('old'));
    discovery.removeStale();
    expect(take()).toEqual([{ topic: 'homeassistant/sensor/fieldbridge_old/energy/config', payload: '' }]);
  });
});

/** A retained discovery config as this gateway (base topic `fieldbridge`) announces one. */
const ourConfig = (deviceId: string) =>
  Buffer.from(
    JSON.stringify({
      state_topic: `fieldbridge/${deviceId}`,
      availability: [
        { topic: 'fieldbridge/bridge/state' },
        { topic: `fieldbridge/${deviceId}/availability` },
      ],
    }),
  );

/** A publisher of the devices of `yaml`, whose config a test may reload, and what it published. */
function publisher(yaml = 'devices: [{ id: demo1, driver: simulated }]') {
  let config = parseConfig(yaml, {});
  const published: { topic: string; payload: string }[] = [];
  const discovery = new DiscoveryPublisher({
    topics: new Topics('fieldbridge'),
    version: '0.1.0',
    config: () => config,
    devices: new Map(config.devices.map((device): [string, DeviceConfig] => [device.id, device])),
    states: new Map(),
    publish: (messages) => published.push(...messages),
    logger: getLogger('test'),
  });
  const reload = (homeassistant: Partial<FieldbridgeConfig['homeassistant']>) => {
    config = { ...config, homeassistant: { ...config.homeassistant, ...homeassistant } };
  };
  const take = () => published.splice(0);
  return { discovery, reload, take };
}

describe('discovery after a config reload', () => {
  it('removes every entity it announced when discovery is switched off, and announces them again when on', () => {
    const { discovery, reload, take } = publisher();
    discovery.publishAll();
    discovery.learn('homeassistant/sensor/fieldbridge_old/energy/config', ourConfig('old'));
    const announced = take().map((message) => message.topic);
    expect(announced).toContain('homeassistant/light/fieldbridge_demo1/light/config');

    reload({ enabled: false });
    discovery.publishAll();
    discovery.removeStale();
    const removed = take();
    expect(removed.every((message) => message.payload === '')).toBe(true);
    expect(removed.map((message) => message.topic).sort()).toEqual(
      [...announced, 'homeassistant/sensor/fieldbridge_old/energy/config'].sort(),
    );
    discovery.publishAll();
    expect(take()).toEqual([]);

    reload({ enabled: true });
    discovery.publishAll();
    expect(take().map((message) => message.topic)).toEqual(announced);
  });

  it('moves the entities to a new discovery prefix, removing them from the old one first', () => {
    const { discovery, reload, take } = publisher();
    discovery.publishAll();
    const announced = take().map((message) => message.topic);
    reload({ discovery_prefix: 'ha2' });
    discovery.publishAll();
    const messages = take();
    const removals = messages.filter((message) => message.payload === '');
    expect(removals.map((message) => message.topic)).toEqual(announced);
    const configs = messages.slice(removals.length);
    expect(configs.map((message) => message.topic)).toEqual(
      announced.map((topic) => topic.replace(/^homeassistant\//, 'ha2/')),
    );
    expect(configs.every((message) => message.payload !== '')).toBe(true);
    // The bridge stays subscribed to the old prefix: what still arrives there is not tracked any more.
    discovery.learn(announced[0] ?? '', ourConfig('demo1'));
    discovery.removeStale();
    expect(take()).toEqual([]);
  });
});

describe('discovery when a device first says what it measures', () => {
  const yaml = [
    'devices:',
    '  - { id: m1, driver: mbus, port: /dev/ttyUSB0, address: 1 }',
    '  - { id: m2, driver: mbus, port: /dev/ttyUSB0, address: 2 }',
    '  - { id: lamp, driver: simulated }',
  ].join('\n');
  const reading = (key: string) => ({
    meter: { id: '12345678', medium: 'Water' },
    records: [
      {
        key,
        quantity: 'Volume',
        unit: 'm^3',
        function: 'Instantaneous value',
        storage_number: 0,
        tariff: 0,
        device: 0,
      },
    ],
    [key]: 1.5,
  });

  it("announces only that device's entities, not every device again", () => {
    const { discovery, take } = publisher(yaml);
    discovery.publishAll();
    take();
    discovery.deviceReported('m1', reading('volume'));
    const topics = take().map((message) => message.topic);
    expect(topics).toContain('homeassistant/sensor/fieldbridge_m1/12345678_volume/config');
    expect(topics.every((topic) => topic.includes('/fieldbridge_m1/'))).toBe(true);
    // The same entities again: nothing to announce.
    discovery.deviceReported('m1', reading('volume'));
    expect(take()).toEqual([]);
  });

  it('empties the config of an entity the device no longer has, and keeps it out of the stale set', () => {
    const { discovery, take } = publisher(yaml);
    discovery.publishAll();
    discovery.deviceReported('m1', reading('volume'));
    take();
    discovery.deviceReported('m1', reading('volume_2'));
    const messages = take();
    expect(messages).toContainEqual({
      topic: 'homeassistant/sensor/fieldbridge_m1/12345678_volume/config',
      payload: '',
    });
    expect(messages.map((m) => m.topic)).toContain(
      'homeassistant/sensor/fieldbridge_m1/12345678_volume_2/config',
    );
    // The new entity is current: a stale sweep does not remove it.
    discovery.learn('homeassistant/sensor/fieldbridge_m1/12345678_volume_2/config', ourConfig('m1'));
    discovery.removeStale();
    expect(take()).toEqual([]);
  });
});
