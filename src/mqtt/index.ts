// Public surface of the MQTT module, and the one call the gateway makes to get its link.

import { getLogger } from '../logging/index.js';
import type { GatewayClock } from '../machines/clock.js';
import { type EmbeddedBroker, startEmbeddedBroker } from './embeddedBroker.js';
import type { MqttLinkOptions } from './link.js';
import { SupervisedLink } from './supervisedLink.js';
import { linkSettingsFromConfig, type MqttConfig } from './settings.js';

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
export { BRIDGE_OFFLINE, BRIDGE_ONLINE, bridgeStateTopic, topicMatches } from './topics.js';

export interface OpenedMqtt {
  /** Not running yet: the root supervisor runs it (and replaces it if it ever fails). */
  link: SupervisedLink;
  /** Present when `mqtt.server` was absent and fieldbridge runs its own broker. */
  broker: EmbeddedBroker | null;
  /** Waits for the link to have stopped (offline message, clean disconnect), then stops the embedded broker. */
  close(): Promise<void>;
}

export interface OpenMqttOptions extends MqttLinkOptions {
  clock?: GatewayClock;
  /** Port of the embedded broker (1883 unless a test says otherwise). */
  embeddedPort?: number;
}

/**
 * Starts the link to `mqtt.server`, or to an embedded broker when none is configured. Rejects only when
 * the embedded broker cannot start (its port is taken); an unreachable external broker is the link's
 * business: it keeps trying.
 */
export async function openMqtt(config: MqttConfig, options: OpenMqttOptions = {}): Promise<OpenedMqtt> {
  const { embeddedPort, ...linkOptions } = options;
  const broker =
    config.server === undefined ? await startEmbeddedBroker({ port: embeddedPort ?? 1883 }) : null;
  const settings = linkSettingsFromConfig(config, config.server ?? broker?.url ?? '');
  if (broker && settings.protocolVersion === 5) {
    // Aedes speaks MQTT 3.1.1 only; it would refuse every MQTT 5 CONNECT, and the link retry forever.
    getLogger('mqtt').warn(
      'the embedded broker speaks MQTT 3.1.1 only: using protocol_version 4 instead of 5',
    );
    settings.protocolVersion = 4;
  }
  const link = new SupervisedLink(settings, linkOptions);
  return {
    link,
    broker,
    close: async () => {
      await link.stopped();
      await broker?.close();
    },
  };
}
