import type { JsonValue } from '../actors/driver.js';
import type { DeviceConfig, FieldbridgeConfig } from '../config/index.js';
import type { Logger } from '../logging/index.js';
import { DiscoveryTracker } from './discoveryTracker.js';
import type { Topics } from './topics.js';

// What the bridge tells Home Assistant about its devices: every entity's retained config (again when
// HA restarts, when the config changes, and when a device first says what it measures), and the empty
// config that removes an entity that no longer exists.

type DeviceValues = Record<string, JsonValue>;

export interface DiscoveryPublisherOptions {
  topics: Topics;
  version: string;
  config: () => FieldbridgeConfig;
  devices: ReadonlyMap<string, DeviceConfig>;
  /** The committed state of each device. */
  states: ReadonlyMap<string, DeviceValues>;
  /** Writes retained configs to the outbox, all in one transaction. */
  publish: (messages: readonly { topic: string; payload: string }[]) => void;
  logger: Logger;
}

export class DiscoveryPublisher {
  readonly #tracker: DiscoveryTracker;

  constructor(private readonly options: DiscoveryPublisherOptions) {
    this.#tracker = new DiscoveryTracker(options.topics, options.version);
  }

  get #enabled(): boolean {
    return this.options.config().homeassistant.enabled;
  }

  /** A retained config seen on the broker (the bridge subscribes to the discovery prefix). */
  learn(topic: string, payload: Buffer): void {
    this.#tracker.learn(topic, payload);
  }

  /** Publishes every entity's config; `fresher` holds states newer than the committed ones. */
  publishAll(fresher?: ReadonlyMap<string, DeviceValues>): void {
    if (!this.#enabled) return;
    const states = new Map(this.options.states);
    for (const [id, values] of fresher ?? []) states.set(id, { ...states.get(id), ...values });
    this.options.publish(this.#tracker.configs(this.options.devices.values(), this.#expireAfterS(), states));
  }

  /** A meter says what it measures when first read: announce its entities then, not at the next start. */
  deviceReported(deviceId: string, result: JsonValue): void {
    const device = this.options.devices.get(deviceId);
    if (!device || !this.#enabled) return;
    if (result === null || typeof result !== 'object' || Array.isArray(result)) return;
    if (this.#tracker.entitiesChange(device, { ...this.options.states.get(deviceId), ...result })) {
      this.publishAll(new Map([[deviceId, result]]));
    }
  }

  /**
   * Empties the retained configs of entities that no longer exist. Run a little after connecting:
   * the broker delivers the retained configs we announced in earlier runs only once we subscribed.
   */
  removeStale(): void {
    if (!this.#enabled) return;
    const stale = this.#tracker.takeStale();
    if (stale.length === 0) return;
    this.options.logger.info(`removing ${stale.length} Home Assistant entities that no longer exist`);
    this.options.publish(stale.map((message) => ({ topic: message.topic, payload: '' })));
  }

  /** HA marks an entity unavailable after this; states are refreshed well within it. */
  #expireAfterS(): number {
    return Math.ceil((3 * this.options.config().health.state_refresh_ms) / 1000);
  }
}
