import { DRIVERS, type DeviceValues, entitiesOf } from '../drivers/registry.js';
import type { DeviceConfig } from '../config/index.js';
import {
  bridgeDiscovery,
  deviceDiscovery,
  type DiscoveryMessage,
  isOurDiscoveryTopic,
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
    if (isOurDiscoveryTopic(this.topics, topic) && payload.length > 0) this.#announced.add(topic);
  }

  /** The configs of the bridge and of every device, which become "what exists now". */
  configs(
    devices: Iterable<DeviceConfig>,
    expireAfterS: number,
    states: ReadonlyMap<string, DeviceValues>,
  ): DiscoveryMessage[] {
    const messages = [...bridgeDiscovery(this.topics, this.version)];
    for (const device of devices) {
      const driver = DRIVERS[device.driver];
      const state = states.get(device.id);
      const description = {
        ...(driver.describe?.(state, device) ?? driver.model),
        expireAfterS: driver.expireAfterS?.(device) ?? expireAfterS,
      };
      const entities = entitiesOf(device, state);
      this.#signatures.set(device.id, signature(entities));
      messages.push(...deviceDiscovery(this.topics, this.version, device, description, entities));
    }
    this.#current = new Set(messages.map((message) => message.topic));
    return messages;
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
    // `<prefix>/<component>/<node>/<object>/config`: the node is the third level from the end.
    const ofDevices = (topic: string) => nodes.has(topic.split('/').at(-3) ?? '');
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

function signature(entities: readonly EntityDescriptor[]): string {
  return JSON.stringify(entities);
}
