import type { BridgeLink } from '../bridge/bridge.js';
import type { IncomingMessage, LinkState, PublishOptions } from '../mqtt/index.js';

/** What both a plain MqttLink and the supervised one offer. */
interface LinkLike {
  readonly state: LinkState;
  send(topic: string, payload: string, options: PublishOptions, done: (error: Error | null) => void): void;
  subscribe(filter: string, handler: (message: IncomingMessage) => void): unknown;
  onStateChange(listener: (state: LinkState, previous: LinkState) => void): unknown;
}

/** The bridge's view of the MQTT link: online or not, publish with PUBACK, subscriptions. */
export function bridgeLinkOf(link: LinkLike): BridgeLink {
  return {
    get online() {
      return link.state === 'online';
    },
    publish: (topic, payload, options, done) => link.send(topic, payload, options, done),
    subscribe: (filter, handler) => {
      link.subscribe(filter, (message) => handler(message.topic, message.payload, message.retain));
    },
    onStateChange: (listener) => {
      link.onStateChange((state, previous) => {
        if ((state === 'online') !== (previous === 'online')) listener(state === 'online');
      });
    },
  };
}
