import type { BridgeLink } from '../bridge/bridge.js';
import type { MqttLink } from '../mqtt/index.js';

/** The bridge's view of the MQTT link: online or not, publish with PUBACK, subscriptions. */
export function bridgeLinkOf(link: MqttLink): BridgeLink {
  return {
    get online() {
      return link.state === 'online';
    },
    publish: (topic, payload, options) => link.publish(topic, payload, options),
    subscribe: (filter, handler) => {
      link.subscribe(filter, (message) => handler(message.topic, message.payload));
    },
    onStateChange: (listener) => {
      link.onStateChange((state, previous) => {
        if ((state === 'online') !== (previous === 'online')) listener(state === 'online');
      });
    },
  };
}
