import type { DeviceDescription, EntityDescriptor } from './entities.js';
import type { Topics } from './topics.js';

// Home Assistant MQTT discovery: one retained config per entity under the discovery prefix, with the
// device registry block (identifiers `fieldbridge_<id>`, `via_device` the bridge), `origin`, and an
// availability list (bridge state AND device availability) so an entity is unavailable when either is.

export const BRIDGE_NODE_ID = 'fieldbridge_bridge';
export const NODE_PREFIX = 'fieldbridge_';

export interface DiscoveryMessage {
  topic: string;
  /** JSON of the config; an empty string removes the entity. */
  payload: string;
}

interface Origin {
  name: 'fieldbridge';
  sw_version: string;
}

function availability(topics: Topics, deviceId: string | undefined) {
  const bridge = { topic: topics.bridgeState, value_template: '{{ value_json.state }}' };
  return deviceId === undefined ? [bridge] : [bridge, { topic: topics.availability(deviceId) }];
}

function entityConfig(
  topics: Topics,
  origin: Origin,
  nodeId: string,
  device: Record<string, unknown>,
  entity: EntityDescriptor,
  stateTopic: string,
  deviceId: string | undefined,
  expireAfterS: number | undefined,
): Record<string, unknown> {
  const config: Record<string, unknown> = {
    name: entity.name,
    unique_id: `${nodeId}_${entity.objectId}`,
    default_entity_id: `${entity.component}.${nodeId}_${entity.objectId}`,
    state_topic: stateTopic,
    availability: availability(topics, deviceId),
    availability_mode: 'all',
    device,
    origin,
  };
  if (entity.component === 'light') {
    // Color modes, not the legacy `brightness: true`: one HA release lost brightness with that shape.
    // One mode, so HA needs no `color_mode` in the state; it reads `state` and `brightness` (and
    // `color_temp` in kelvin, or `color`). A light without a brightness scale is not dimmable (its
    // `set` refuses brightness): on/off only.
    Object.assign(
      config,
      { schema: 'json', command_topic: `${topics.device(deviceId ?? '')}/set` },
      entity.colorMode !== undefined
        ? {
            supported_color_modes: [entity.colorMode],
            ...(entity.brightnessScale !== undefined ? { brightness_scale: entity.brightnessScale } : {}),
          }
        : entity.brightnessScale === undefined
          ? { supported_color_modes: ['onoff'] }
          : { supported_color_modes: ['brightness'], brightness_scale: entity.brightnessScale },
      entity.colorMode === 'color_temp'
        ? { color_temp_kelvin: true, min_kelvin: entity.minKelvin, max_kelvin: entity.maxKelvin }
        : {},
    );
  } else if (entity.component === 'switch') {
    // The command is the `set` of the value ({"load_on": true}); the state is what the device reported.
    Object.assign(config, {
      command_topic: `${topics.device(deviceId ?? '')}/set`,
      payload_on: JSON.stringify({ [entity.key]: true }),
      payload_off: JSON.stringify({ [entity.key]: false }),
      state_on: 'ON',
      state_off: 'OFF',
      value_template: `{{ 'ON' if value_json.${entity.key} else 'OFF' }}`,
    });
  } else if (entity.component === 'scene') {
    // A scene has no state: HA publishes its payload on the device's `set` topic to recall it.
    delete config.state_topic;
    Object.assign(config, {
      command_topic: `${topics.device(deviceId ?? '')}/set`,
      payload_on: entity.commandPayload ?? '{}',
    });
  } else if (entity.component === 'event') {
    // Not the state topic: HA fires on every message of the topic, and the retained state comes again
    // after each HA restart and with every other change of the device. The event topic carries one
    // message per event, `{"event_type", …}` as HA reads it (DeviceEvents).
    Object.assign(config, {
      state_topic: topics.deviceEvent(deviceId ?? ''),
      event_types: entity.eventTypes ?? [],
    });
  } else {
    // A binary sensor's JSON boolean renders as True/False; HA's default payloads are ON/OFF.
    config.value_template =
      entity.component === 'binary_sensor'
        ? `{{ 'ON' if value_json.${entity.key} else 'OFF' }}`
        : `{{ value_json.${entity.key} }}`;
    if (expireAfterS !== undefined) config.expire_after = expireAfterS;
  }
  if (entity.deviceClass) config.device_class = entity.deviceClass;
  if (entity.unit) config.unit_of_measurement = entity.unit;
  if (entity.stateClass) config.state_class = entity.stateClass;
  if (entity.entityCategory) config.entity_category = entity.entityCategory;
  if (entity.icon) config.icon = entity.icon;
  if (entity.options) config.options = entity.options;
  return config;
}

/** The discovery configs of one device. */
export function deviceDiscovery(
  topics: Topics,
  version: string,
  device: { id: string; name?: string | undefined; driver: string },
  description: DeviceDescription,
  entities: readonly EntityDescriptor[],
): DiscoveryMessage[] {
  const nodeId = `${NODE_PREFIX}${device.id}`;
  const origin: Origin = { name: 'fieldbridge', sw_version: version };
  const registry = {
    identifiers: [nodeId],
    name: device.name ?? device.id,
    manufacturer: description.manufacturer,
    model: description.model,
    via_device: BRIDGE_NODE_ID,
  };
  return entities.map((entity) => ({
    topic: topics.discovery(entity.component, nodeId, entity.objectId),
    payload: JSON.stringify(
      entityConfig(
        topics,
        origin,
        nodeId,
        registry,
        entity,
        topics.device(device.id),
        device.id,
        description.expireAfterS,
      ),
    ),
  }));
}

/** The bridge itself as a device: its status, queue depth and uptime, read from bridge/health. */
export function bridgeDiscovery(topics: Topics, version: string): DiscoveryMessage[] {
  const origin: Origin = { name: 'fieldbridge', sw_version: version };
  const registry = {
    identifiers: [BRIDGE_NODE_ID],
    name: 'fieldbridge',
    manufacturer: 'fieldbridge',
    model: 'Gateway',
    sw_version: version,
  };
  const entities: EntityDescriptor[] = [
    { component: 'sensor', objectId: 'status', name: 'Status', key: 'status', entityCategory: 'diagnostic' },
    {
      component: 'sensor',
      objectId: 'queue_depth',
      name: 'Queue depth',
      key: 'queue.depth',
      stateClass: 'measurement',
      entityCategory: 'diagnostic',
      icon: 'mdi:tray-full',
    },
    {
      component: 'sensor',
      objectId: 'uptime',
      name: 'Uptime',
      key: 'uptime_s',
      deviceClass: 'duration',
      unit: 's',
      stateClass: 'total_increasing',
      entityCategory: 'diagnostic',
    },
  ];
  return entities.map((entity) => ({
    topic: topics.discovery(entity.component, BRIDGE_NODE_ID, entity.objectId),
    payload: JSON.stringify(
      entityConfig(
        topics,
        origin,
        BRIDGE_NODE_ID,
        registry,
        entity,
        topics.bridgeHealth,
        undefined,
        undefined,
      ),
    ),
  }));
}

/** Empty retained configs for entities that were announced before but no longer exist. */
export function staleDiscovery(
  announced: Iterable<string>,
  current: readonly DiscoveryMessage[],
): DiscoveryMessage[] {
  const keep = new Set(current.map((message) => message.topic));
  return [...announced].filter((topic) => !keep.has(topic)).map((topic) => ({ topic, payload: '' }));
}

/**
 * Whether a retained discovery config found on the broker was announced by this gateway: its topic has
 * our shape, and its payload reads our topics. Another fieldbridge on the same broker (the demo, a
 * second gateway under another base topic) names its nodes the same way; its configs are not ours to
 * empty.
 */
export function isOurDiscoveryConfig(topics: Topics, topic: string, payload: Buffer): boolean {
  if (!isOurDiscoveryTopic(topics, topic)) return false;
  let config: unknown;
  try {
    config = JSON.parse(payload.toString('utf8'));
  } catch {
    return false;
  }
  if (typeof config !== 'object' || config === null) return false;
  const fields = config as Record<string, unknown>;
  const availability = Array.isArray(fields.availability) ? (fields.availability as unknown[]) : [];
  const read = [
    fields.state_topic,
    fields.command_topic,
    ...availability.map((entry) =>
      typeof entry === 'object' && entry !== null ? (entry as { topic?: unknown }).topic : undefined,
    ),
  ];
  return read.some((value) => typeof value === 'string' && value.startsWith(`${topics.base}/`));
}

/** Whether a discovery topic has the shape of ours: <prefix>/<component>/fieldbridge_<node>/<object>/config. */
export function isOurDiscoveryTopic(topics: Topics, topic: string): boolean {
  const parts = topic.split('/');
  return (
    topic.startsWith(`${topics.discoveryPrefix}/`) &&
    parts.length === topics.discoveryPrefix.split('/').length + 4 &&
    (parts.at(-3) ?? '').startsWith(NODE_PREFIX) &&
    parts.at(-1) === 'config'
  );
}
