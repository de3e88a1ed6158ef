import { DRIVERS, type DeviceValues, entitiesOf } from '../drivers/registry.js';
import type { DeviceConfig } from '../config/index.js';
import {
  bridgeDiscovery,
  deviceDiscovery,
  type DiscoveryMessage,
  isOurDiscoveryConfig,
  NODE_PREFIX,
  staleDiscovery,
} from './discovery.js';
import type { EntityDescriptor } from './entities.js';
import type { Topics } from './topics.js';

// Which Home Assistant entities exist now, and which ones the broker still holds a retained config
// for (learned from the broker itself, so entities of devices removed while the gateway was down are
// found too): the difference is what gets an empty retained config.

export class DiscoveryTracker {
  /** Discovery topics of ours with a retained config on the broker. */
  readonly #announced = new Set<string>();
  /** Discovery topics of the entities that exist now. */
  #current = new Set<string>();
  /** What was announced per device, to tell when a device's entities changed. */
  readonly #signatures = new Map<string, string>();

  constructor(
    private readonly topics: Topics,
    private readonly version: string,
  ) {}

  /** A retained config seen on the broker (the gateway subscribes to the discovery prefix). */
  learn(topic: string, payload: Buffer): void {
    if (payload.length > 0 && isOurDiscoveryConfig(this.topics, topic, payload)) this.#announced.add(topic);
  }

  /** The configs of the bridge and of every device, which become "what exists now". */
  configs(
    devices: Iterable<DeviceConfig>,
    expireAfterS: number,
    states: ReadonlyMap<string, DeviceValues>,
  ): DiscoveryMessage[] {
    const messages = [...bridgeDiscovery(this.topics, this.version)];
    for (const device of devices) {
      messages.push(...this.#deviceMessages(device, expireAfterS, states.get(device.id)));
    }
    this.#current = new Set(messages.map((message) => message.topic));
    return messages;
  }

  /**
   * The configs of one device whose entities changed (a meter read for the first time), and empty
   * configs for those of its entities that no longer exist. Only this device: announcing every device
   * again at each first read would send N devices' configs N times while a large line starts.
   */
  deviceConfigs(
    device: DeviceConfig,
    expireAfterS: number,
    state: DeviceValues | undefined,
  ): DiscoveryMessage[] {
    const messages = this.#deviceMessages(device, expireAfterS, state);
    const topics = new Set(messages.map((message) => message.topic));
    const node = `${NODE_PREFIX}${device.id}`;
    const gone = [...this.#current].filter((topic) => nodeOf(topic) === node && !topics.has(topic));
    for (const topic of gone) this.#current.delete(topic);
    for (const topic of topics) this.#current.add(topic);
    return [...messages, ...gone.map((topic) => ({ topic, payload: '' }))];
  }

  #deviceMessages(
    device: DeviceConfig,
    expireAfterS: number,
    state: DeviceValues | undefined,
  ): DiscoveryMessage[] {
    const driver = DRIVERS[device.driver];
    const description = {
      ...(driver.describe?.(state, device) ?? driver.model),
      expireAfterS: driver.expireAfterS?.(device) ?? expireAfterS,
    };
    const entities = entitiesOf(device, state);
    this.#signatures.set(device.id, signature(entities));
    return deviceDiscovery(this.topics, this.version, device, description, entities);
  }

  /** Whether a new state changes the entities of a device (a meter read for the first time). */
  entitiesChange(device: DeviceConfig, state: DeviceValues): boolean {
    const announced = this.#signatures.get(device.id);
    return announced !== undefined && announced !== signature(entitiesOf(device, state));
  }

  /**
   * Empty configs for every entity announced or found on the broker, to remove them all (discovery
   * switched off, or moved to another prefix); forgets them once returned.
   */
  takeAll(): DiscoveryMessage[] {
    const all = new Set([...this.#announced, ...this.#current]);
    this.#announced.clear();
    this.#current = new Set();
    this.#signatures.clear();
    return [...all].map((topic) => ({ topic, payload: '' }));
  }

  /**
   * Empty configs for every entity of these devices, announced in this run or found on the broker
   * (a device that is gone: removed, or dropped from the config); forgets them once returned.
   */
  takeDevices(deviceIds: readonly string[]): DiscoveryMessage[] {
    const nodes = new Set(deviceIds.map((id) => `${NODE_PREFIX}${id}`));
    const ofDevices = (topic: string) => nodes.has(nodeOf(topic));
    const taken = [...new Set([...this.#announced, ...this.#current])].filter(ofDevices);
    for (const topic of taken) {
      this.#announced.delete(topic);
      this.#current.delete(topic);
    }
    for (const id of deviceIds) this.#signatures.delete(id);
    return taken.map((topic) => ({ topic, payload: '' }));
  }

  /** Empty configs for what the broker holds but no longer exists; forgets them once returned. */
  takeStale(): DiscoveryMessage[] {
    const current = [...this.#current].map((topic) => ({ topic, payload: '' }));
    const stale = staleDiscovery(this.#announced, current);
    for (const message of stale) this.#announced.delete(message.topic);
    return stale;
  }
}

/** `<prefix>/<component>/<node>/<object>/config`: the node is the third level from the end. */
function nodeOf(topic: string): string {
  return topic.split('/').at(-3) ?? '';
}

function signature(entities: readonly EntityDescriptor[]): string {
  return JSON.stringify(entities);
}
