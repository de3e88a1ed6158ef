import type { Logger } from '../logging/index.js';
import type { Persistence } from '../persistence/index.js';
import type { CommandRelay } from './commandRelay.js';
import type { DiscoveryPublisher } from './discoveryPublisher.js';
import { type RequestContext, RequestHandler } from './requestHandler.js';
import { type BridgeResponse, errorResponse } from './requests.js';
import type { Topics } from './topics.js';

// What the bridge subscribes to on the broker, and where each message goes: Home Assistant's status
// (back online: every entity's config again), the retained discovery configs of ours the broker holds
// (see DiscoveryTracker), requests on `<base>/bridge/request/<name>` (answered on their response
// topic), and the devices' `set` and `get` (CommandRelay). A retained command is not acted on: the
// broker hands it over again at every (re)connect, so it would switch a light or restart a bus each
// time the gateway starts; commands count only when they are sent.

export interface SubscribeLink {
  /** `retained`: the broker delivered a stored message (on subscribing), not one just published. */
  subscribe(filter: string, handler: (topic: string, payload: Buffer, retained: boolean) => void): void;
}

export interface IncomingMessagesOptions {
  topics: Topics;
  persistence: Persistence;
  /** What the bridge requests act on (see RequestHandler). */
  requests: RequestContext;
  commands: CommandRelay;
  discovery: DiscoveryPublisher;
  /** Enqueues an answer on its response topic, in the caller's transaction. */
  respond: (topic: string, response: BridgeResponse) => void;
  logger: Logger;
}

export class IncomingMessages {
  readonly #requests: RequestHandler;

  constructor(private readonly options: IncomingMessagesOptions) {
    this.#requests = new RequestHandler(options.requests);
  }

  subscribe(link: SubscribeLink): void {
    const { topics, logger, discovery } = this.options;
    for (const filter of topics.subscriptions) {
      link.subscribe(filter, (topic, payload, retained) => {
        // A message must never take the gateway down, whatever it contains or whatever fails.
        try {
          this.#route(topic, payload, retained);
        } catch (error) {
          logger.error(`handling a message on ${topic} failed`, { error });
        }
      });
    }
    link.subscribe(`${topics.discoveryPrefix}/+/+/+/config`, (topic, payload) =>
      discovery.learn(topic, payload),
    );
  }

  #route(topic: string, payload: Buffer, retained: boolean): void {
    const parsed = this.options.topics.parse(topic);
    if (!parsed) return;
    if (parsed.kind === 'homeassistant_status') {
      if (payload.toString().trim() === 'online') this.options.discovery.publishAll();
      return;
    }
    if (retained) {
      // An empty retained payload is how a retained message is cleared: nothing to say about it.
      if (payload.length > 0) {
        this.options.logger.warn(
          `ignored a retained command on ${topic}: commands are acted on only when sent; clear it with an empty retained message (mosquitto_pub -r -n -t '${topic}')`,
        );
      }
      return;
    }
    if (parsed.kind === 'request') {
      this.#answer(parsed.name, payload);
      return;
    }
    this.options.commands.received(parsed.deviceId, parsed.kind === 'device_set' ? 'set' : 'get', payload);
  }

  #answer(name: string, payload: Buffer): void {
    const { persistence, topics, respond, logger } = this.options;
    void this.#requests
      .handle(name, payload)
      .catch((error: unknown) => errorResponse(`request failed: ${String(error)}`))
      .then((response) => persistence.transaction(() => respond(topics.response(name), response)))
      // Only reachable when the answer cannot be stored (the gateway is shutting down).
      .catch((error: unknown) => logger.warn(`could not answer request ${name}`, { error }));
  }
}
