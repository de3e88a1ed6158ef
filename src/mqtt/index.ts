// Public surface of the MQTT module, and the one call the gateway makes to get its link.

import { getLogger } from '../logging/index.js';
import type { GatewayClock } from '../machines/clock.js';
import type { BrokerAccessRules } from './brokerAccess.js';
import {
  type EmbeddedBroker,
  type EmbeddedBrokerOptions,
  readTlsFiles,
  startEmbeddedBroker,
} from './embeddedBroker.js';
import type { MqttLinkOptions } from './link.js';
import { SupervisedLink } from './supervisedLink.js';
import { linkSettingsFromConfig, type MqttConfig, type MqttLinkSettings } from './settings.js';

export { type EmbeddedBroker, startEmbeddedBroker } from './embeddedBroker.js';
export {
  type IncomingMessage,
  type LinkHealth,
  type MessageHandler,
  MqttLink,
  type MqttLinkOptions,
  type PublishOptions,
  type StateListener,
} from './link.js';
export type { LinkState } from './linkModel.js';
export {
  DEFAULT_LINK_TIMING,
  linkSettingsFromConfig,
  type MqttConfig,
  type MqttLinkSettings,
  type MqttLinkTiming,
} from './settings.js';
export { SupervisedLink } from './supervisedLink.js';
export type { PublishOutcome } from './waitingPublishes.js';
export { BRIDGE_OFFLINE, BRIDGE_ONLINE, bridgeStateTopic, topicMatches } from './topics.js';

export interface OpenedMqtt {
  /** Not running yet: the root supervisor runs it (and replaces it if it ever fails). */
  link: SupervisedLink;
  /** Present when `mqtt.server` is absent and fieldbridge runs its own broker. */
  readonly broker: EmbeddedBroker | null;
  /**
   * Applies a reloaded `mqtt` section (its base_topic unchanged): the link reconnects with the new
   * settings, and the embedded broker is started, moved or stopped as `server` and the `embedded_*`
   * keys say (new logins or TLS files restart it).
   * Resolves with whether the link was replaced (false when nothing it uses changed). Rejects, with
   * nothing changed, when a new embedded broker cannot start. `discoveryPrefix`: a reloaded
   * `homeassistant.discovery_prefix`, the one whose fieldbridge configs only the gateway may publish.
   */
  reconfigure(next: MqttConfig, discoveryPrefix?: string): Promise<boolean>;
  /** Waits for the link to have stopped (offline message, clean disconnect), then stops the embedded broker. */
  close(): Promise<void>;
}

export interface OpenMqttOptions extends MqttLinkOptions {
  clock?: GatewayClock;
  /** Port of the embedded broker (1883 unless a test says otherwise). */
  embeddedPort?: number;
  /** `homeassistant.discovery_prefix`: the embedded broker keeps fieldbridge's discovery configs to it. */
  discoveryPrefix?: string;
}

/** What the embedded broker is started with, from the `mqtt` section. */
function embeddedOptions(config: MqttConfig, port: number, discoveryPrefix: string): EmbeddedBrokerOptions {
  const gateway =
    config.user !== undefined && config.password !== undefined
      ? { user: config.user, password: config.password }
      : undefined;
  const access: BrokerAccessRules = {
    ...(gateway !== undefined ? { gateway } : {}),
    others: config.embedded_users,
    baseTopic: config.base_topic,
    discoveryPrefix,
    gatewayClientId: config.client_id,
  };
  return {
    host: config.embedded_host,
    port,
    access,
    ...(config.embedded_tls ? { tls: config.embedded_tls } : {}),
  };
}

/**
 * Starts the link to `mqtt.server`, or to an embedded broker when none is configured. Rejects only when
 * the embedded broker cannot start (its port is taken); an unreachable external broker is the link's
 * business: it keeps trying.
 */
export async function openMqtt(config: MqttConfig, options: OpenMqttOptions = {}): Promise<OpenedMqtt> {
  const { embeddedPort, ...linkOptions } = options;
  let discoveryPrefix = options.discoveryPrefix ?? 'homeassistant';
  let broker =
    config.server === undefined
      ? await startEmbeddedBroker(embeddedOptions(config, embeddedPort ?? 1883, discoveryPrefix))
      : null;
  let current = config;
  let settings = settingsFor(config, broker);
  const link = new SupervisedLink(settings, linkOptions);
  return {
    link,
    get broker() {
      return broker;
    },
    reconfigure: async (next, nextPrefix = discoveryPrefix) => {
      const nextOptions = embeddedOptions(next, next.embedded_port, nextPrefix);
      const before = embeddedOptions(current, current.embedded_port, discoveryPrefix);
      discoveryPrefix = nextPrefix;
      // New logins apply to the running broker; new listeners (host, ports, TLS files) need a new one.
      const keepBroker = broker !== null && sameListeners(nextOptions, before);
      let nextBroker: EmbeddedBroker | null = keepBroker ? broker : null;
      if (next.server === undefined && !keepBroker) {
        if (broker !== null && sharesAPort(nextOptions, before)) {
          // The new broker needs a port the old one holds: the old one goes first, once the new
          // certificate is known to be readable (else nothing changes).
          if (nextOptions.tls) readTlsFiles(nextOptions.tls);
          await broker.close();
          broker = null;
        }
        nextBroker = await startEmbeddedBroker(nextOptions);
      }
      const nextSettings = settingsFor(next, nextBroker);
      current = next;
      if (nextBroker === broker && JSON.stringify(nextSettings) === JSON.stringify(settings)) {
        nextBroker?.setAccess(nextOptions.access);
        return false;
      }
      settings = nextSettings;
      await link.reconfigure(nextSettings);
      // Then the logins: clients logged in under the old ones log in again (the link with its new ones).
      if (nextBroker === broker) nextBroker?.setAccess(nextOptions.access);
      // Only now: the old link said offline on the old broker before it goes.
      if (broker !== nextBroker) await broker?.close();
      broker = nextBroker;
      return true;
    },
    close: async () => {
      await link.stopped();
      await broker?.close();
    },
  };
}

function listenersOf(options: EmbeddedBrokerOptions): unknown[] {
  return [options.host, options.port, options.tls];
}

function sameListeners(a: EmbeddedBrokerOptions, b: EmbeddedBrokerOptions): boolean {
  return JSON.stringify(listenersOf(a)) === JSON.stringify(listenersOf(b));
}

function sharesAPort(a: EmbeddedBrokerOptions, b: EmbeddedBrokerOptions): boolean {
  const ports = (options: EmbeddedBrokerOptions) =>
    [options.port, options.tls?.port].filter((p) => p !== undefined);
  return ports(a).some((port) => ports(b).includes(port));
}

/** The link's settings for the configured server, or for the embedded broker when there is none. */
function settingsFor(config: MqttConfig, broker: EmbeddedBroker | null): MqttLinkSettings {
  const settings = linkSettingsFromConfig(config, config.server ?? broker?.url ?? '');
  if (broker && settings.protocolVersion === 5) {
    // Aedes speaks MQTT 3.1.1 only; it would refuse every MQTT 5 CONNECT, and the link retry forever.
    getLogger('mqtt').warn(
      'the embedded broker speaks MQTT 3.1.1 only: using protocol_version 4 instead of 5',
    );
    settings.protocolVersion = 4;
  }
  return settings;
}
