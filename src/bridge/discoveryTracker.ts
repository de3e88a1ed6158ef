import { DRIVERS } from '../actors/drivers.js';
import type { DeviceConfig } from '../config/index.js';
import {
  bridgeDiscovery,
  deviceDiscovery,
  type DiscoveryMessage,
  isOurDiscoveryTopic,
  staleDiscovery,
} from './discovery.js';
import type { Topics } from './topics.js';

// Which Home Assistant entities exist now, and which ones the broker still holds a retained config
// for (learned from the broker itself, so entities of devices removed while the gateway was down are
// found too): the difference is what gets an empty retained config.

export class DiscoveryTracker {
  /** Discovery topics of ours with a retained config on the broker. */
  readonly #announced = new Set<string>();
  /** Discovery topics of the entities that exist now. */
  #current = new Set<string>();

  constructor(
    private readonly topics: Topics,
    private readonly version: string,
  ) {}

  /** A retained config seen on the broker (the gateway subscribes to the discovery prefix). */
  learn(topic: string, payload: Buffer): void {
    if (isOurDiscoveryTopic(this.topics, topic) && payload.length > 0) this.#announced.add(topic);
  }

  /** The configs of the bridge and of every device, which become "what exists now". */
  configs(devices: Iterable<DeviceConfig>, expireAfterS: number): DiscoveryMessage[] {
    const messages = [...bridgeDiscovery(this.topics, this.version)];
    for (const device of devices) {
      const driver = DRIVERS[device.driver];
      const description = { ...driver.model, expireAfterS };
      messages.push(
        ...deviceDiscovery(this.topics, this.version, device, description, driver.entities(device)),
      );
    }
    this.#current = new Set(messages.map((message) => message.topic));
    return messages;
  }

  /** Empty configs for what the broker holds but no longer exists; forgets them once returned. */
  takeStale(): DiscoveryMessage[] {
    const current = [...this.#current].map((topic) => ({ topic, payload: '' }));
    const stale = staleDiscovery(this.#announced, current);
    for (const message of stale) this.#announced.delete(message.topic);
    return stale;
  }
}
