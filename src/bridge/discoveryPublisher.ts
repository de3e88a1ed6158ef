import type { JsonValue } from '../drivers/contract.js';
import type { DeviceConfig, FieldbridgeConfig } from '../config/index.js';
import type { Logger } from '../logging/index.js';
import { DiscoveryTracker } from './discoveryTracker.js';
import { Topics } from './topics.js';

// What the bridge tells Home Assistant about its devices: every entity's retained config (again when
// HA restarts, when the config changes, and when a device first says what it measures), and the empty
// config that removes an entity that no longer exists. A reload that switches discovery off, or moves
// it to another prefix, removes every entity announced under the old settings the same way.
//
// The settings are read from the live config at each call; after a prefix change this publisher uses
// topics of its own (the bridge keeps its subscription to the old prefix, where nothing of ours is
// left; retained configs of an earlier run under the new prefix are only learned after a restart).

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
  #tracker: DiscoveryTracker;
  #topics: Topics;
  /** What the configs on the broker were announced with (the config at start, then at each call). */
  #announcedWith: { enabled: boolean; prefix: string };

  constructor(private readonly options: DiscoveryPublisherOptions) {
    this.#topics = options.topics;
    this.#tracker = new DiscoveryTracker(options.topics, options.version);
    this.#announcedWith = { enabled: this.#enabled, prefix: options.topics.discoveryPrefix };
  }

  get #enabled(): boolean {
    return this.options.config().homeassistant.enabled;
  }

  /** A retained config seen on the broker (the bridge subscribes to the discovery prefix). */
  learn(topic: string, payload: Buffer): void {
    this.#followConfig();
    this.#tracker.learn(topic, payload);
  }

  /** Publishes every entity's config; `fresher` holds states newer than the committed ones. */
  publishAll(fresher?: ReadonlyMap<string, DeviceValues>): void {
    this.#followConfig();
    if (!this.#enabled) return;
    const states = new Map(this.options.states);
    for (const [id, values] of fresher ?? []) states.set(id, { ...states.get(id), ...values });
    this.options.publish(this.#tracker.configs(this.options.devices.values(), this.#expireAfterS(), states));
  }

  /** A meter says what it measures when first read: announce its entities then, not at the next start. */
  deviceReported(deviceId: string, result: JsonValue): void {
    this.#followConfig();
    const device = this.options.devices.get(deviceId);
    if (!device || !this.#enabled) return;
    if (result === null || typeof result !== 'object' || Array.isArray(result)) return;
    const state = { ...this.options.states.get(deviceId), ...result };
    if (this.#tracker.entitiesChange(device, state)) {
      this.options.publish(this.#tracker.deviceConfigs(device, this.#expireAfterS(), state));
    }
  }

  /**
   * Empties the retained configs of entities that no longer exist. Run a little after connecting:
   * the broker delivers the retained configs we announced in earlier runs only once we subscribed.
   */
  removeStale(): void {
    this.#followConfig();
    if (!this.#enabled) return;
    const stale = this.#tracker.takeStale();
    if (stale.length === 0) return;
    this.options.logger.info(`removing ${stale.length} Home Assistant entities that no longer exist`);
    this.options.publish(stale.map((message) => ({ topic: message.topic, payload: '' })));
  }

  /** Empties every retained config announced (the bridge's own included): nothing is left in Home Assistant. */
  removeAll(): void {
    this.#followConfig();
    const removed = this.#tracker.takeAll();
    if (removed.length > 0) this.options.publish(removed);
  }

  /** Empties the retained configs of every entity of devices that are gone. */
  removeDevices(deviceIds: readonly string[]): void {
    this.#followConfig();
    const removed = this.#tracker.takeDevices(deviceIds);
    if (removed.length > 0) this.options.publish(removed);
  }

  /**
   * After a reload changed `homeassistant.enabled` or `discovery_prefix`: what was announced under the
   * old settings is removed (empty retained configs), and a new prefix gets topics and a tracker of
   * its own, so what follows is announced there.
   */
  #followConfig(): void {
    const { enabled, discovery_prefix: prefix } = this.options.config().homeassistant;
    const was = this.#announcedWith;
    if (enabled === was.enabled && prefix === was.prefix) return;
    this.#announcedWith = { enabled, prefix };
    const removed = was.enabled ? this.#tracker.takeAll() : [];
    if (removed.length > 0) {
      const why = enabled ? `discovery moved to ${prefix}` : 'discovery was switched off';
      this.options.logger.info(
        `removing ${removed.length} Home Assistant entities from ${was.prefix}: ${why}`,
      );
      this.options.publish(removed);
    }
    if (prefix !== was.prefix) {
      const { base, homeassistantStatus } = this.#topics;
      this.#topics = new Topics(base, prefix, homeassistantStatus);
      this.#tracker = new DiscoveryTracker(this.#topics, this.options.version);
    }
  }

  /** HA marks an entity unavailable after this; states are refreshed well within it. */
  #expireAfterS(): number {
    return Math.ceil((3 * this.options.config().health.state_refresh_ms) / 1000);
  }
}
