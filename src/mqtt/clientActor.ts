import { connect as mqttConnect, type IClientOptions, type MqttClient } from 'mqtt';
import { writeToStream } from 'mqtt-packet';
import { fromCallback } from 'xstate';
import type { Logger } from '../logging/index.js';
import type { ClientCommand, ClientReport } from './linkModel.js';
import { clientOptions, type MqttLinkSettings, type MqttLinkTiming } from './settings.js';
import { BRIDGE_OFFLINE, BRIDGE_ONLINE, bridgeStateTopic } from './topics.js';
import { errorText } from '../errorText.js';

// The I/O half of the MQTT link: one invocation is one mqtt.js client, for one connection. It reports
// what the client does (ClientReport) and carries out what the machine asks (ClientCommand). It never
// reconnects: when the connection ends the machine drops this actor and invokes a fresh one, and
// dropping it ends its client by force, so a client stuck half-closed cannot hold anything up.

// mqtt-packet (mqtt.js's encoder) keeps a Buffer for each of the 65,536 two-byte numbers it writes,
// made at the first publish: 6 MB of heap that never goes away, and V8 sizes the heap it lets grow
// before a full collection from what is live (measured: ~25 MB more peak RSS draining a backlog). A
// fresh 2-byte buffer per publish costs less than that.
writeToStream.cacheNumbers = false;

export type ConnectFn = (url: string, options: IClientOptions) => MqttClient;

/**
 * Told which mqtt.js client is connected, so MqttLink can publish through it directly while the link
 * is online (an XState event per publish cost more than the publish itself).
 */
export interface ClientBinding {
  /** The client got its CONNACK; called just before CONNECTED is reported. */
  attach(client: MqttClient): void;
  /** The client closed or is being dropped; it must not be used any more. */
  detach(client: MqttClient): void;
}

export interface ClientActorDeps {
  log: Logger;
  /** Creates the mqtt.js client (tests wrap it to break the client in chosen ways). */
  connect?: ConnectFn;
  binding?: ClientBinding;
}

/** After an error: is the client tearing its connection down (so a `close` must follow soon)? */
function isGoingDown(client: MqttClient): boolean {
  return client.disconnecting || !client.connected || client.stream?.destroyed === true;
}

/**
 * Ends a client whatever state it is in. `end(true)` alone is not enough: on a client already
 * "disconnecting" (an earlier end() that never completed) it returns at once and does nothing, so the
 * socket is destroyed here as well.
 */
export function forceEnd(client: MqttClient): void {
  // Our listeners stay: mqtt.js keeps its own on the same events (its `close` handler clears its
  // timers), and what ours send back after the actor stopped is dropped by XState.
  client.end(true);
  client.stream?.destroy();
}

export function clientActor(settings: MqttLinkSettings, timing: MqttLinkTiming, deps: ClientActorDeps) {
  const connect = deps.connect ?? mqttConnect;
  const log = deps.log;
  const binding = deps.binding;
  const stateTopic = bridgeStateTopic(settings.baseTopic);

  return fromCallback<ClientCommand>(({ sendBack, receive }) => {
    const report = (event: ClientReport) => sendBack(event);
    let client: MqttClient;
    try {
      client = connect(settings.url, clientOptions(settings, timing));
    } catch (error) {
      // A bad TLS file or URL: a failed attempt like any other, retried after the backoff.
      report({ type: 'CLOSED', reason: errorText(error) });
      return () => {};
    }
    let lastError: string | null = null;

    client.on('connect', () => {
      client.publish(stateTopic, BRIDGE_ONLINE, { qos: 1, retain: true }, (error) => {
        if (error) log.warn(`could not publish online state to ${stateTopic}: ${error.message}`);
      });
      binding?.attach(client);
      report({ type: 'CONNECTED' });
    });
    client.on('error', (error) => {
      lastError = error.message;
      report({ type: 'ERROR', message: error.message, goingDown: isGoingDown(client) });
    });
    client.on('disconnect', (packet) => {
      report({
        type: 'DISCONNECTING',
        reason: `broker sent DISCONNECT (reason code ${packet.reasonCode ?? 0})`,
      });
    });
    client.on('close', () => {
      binding?.detach(client);
      report({ type: 'CLOSED', reason: lastError ?? 'connection closed' });
    });
    client.on('message', (topic, payload, packet) => {
      report({ type: 'MESSAGE', topic, payload, retain: packet.retain });
    });

    receive((command) => {
      switch (command.type) {
        case 'PUBLISH':
          client.publish(
            command.topic,
            command.payload,
            { qos: command.qos, retain: command.retain },
            (error) =>
              report({ type: 'PUBLISH_SETTLED', id: command.id, error: error ? error.message : null }),
          );
          break;
        case 'SUBSCRIBE':
          client.subscribe(command.filters, { qos: 1 }, (error, granted) => {
            const refused = (granted ?? []).filter((grant) => grant.qos >= 128).map((grant) => grant.topic);
            if (error) log.warn(`subscribing to ${command.filters.join(', ')} failed: ${error.message}`);
            else if (refused.length > 0)
              log.warn(`the broker refused the subscription to ${refused.join(', ')}`);
          });
          break;
        case 'UNSUBSCRIBE':
          client.unsubscribe(command.filters);
          break;
        case 'END':
          // The DISCONNECT makes the broker drop our Last Will, so say offline ourselves first.
          client.publish(stateTopic, BRIDGE_OFFLINE, { qos: 1, retain: true });
          client.end(false, () => report({ type: 'ENDED' }));
          break;
      }
    });

    return () => {
      binding?.detach(client);
      forceEnd(client);
    };
  });
}
