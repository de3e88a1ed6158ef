import type { IClientPublishOptions, MqttClient } from 'mqtt';
import { type Actor, createActor, type InspectionEvent } from 'xstate';
import { getLogger, type Logger } from '../logging/index.js';
import { type GatewayClock, systemClock } from '../machines/clock.js';
import { clientActor, type ConnectFn } from './clientActor.js';
import { LinkLog } from './linkLog.js';
import { linkMachine } from './linkMachine.js';
import { type LinkState, linkStateOf, notConnectedError } from './linkModel.js';
import { DEFAULT_LINK_TIMING, type MqttLinkSettings, type MqttLinkTiming } from './settings.js';
import { topicMatches } from './topics.js';
import { type PublishDone, type PublishOutcome, WaitingPublishes } from './waitingPublishes.js';

// The gateway's one way to the broker. It owns the link machine's actor and turns its events into
// promises and handler calls. A publish resolves on PUBACK (QoS 1) or once written (QoS 0), and is
// rejected promptly otherwise: at once when the link is not online, as soon as the link leaves
// `online` while it waits, or after publishTimeoutMs. It is never retried here: the outbox
// owns retries, and a promise that hangs would stall it.
//
// Publishing is the hot path (tens of thousands a second while a backlog drains), so while the link
// is online a publish goes straight to the connected mqtt.js client: no XState event and no timer per
// message (measured: they cost more than the publish itself, ~21 KB of garbage each). Only connection
// changes go through the machine; leaving `online` rejects what waits, as before. The waiting publishes
// and their one timeout timer are in waitingPublishes.ts.

export interface MqttLinkOptions {
  clock?: GatewayClock;
  timing?: Partial<MqttLinkTiming>;
  logger?: Logger;
  /** Creates the mqtt.js client; tests wrap it to break the client on purpose. */
  connect?: ConnectFn;
  /** Hears how every publish ended, once each (the gateway counts them for /metrics). */
  onPublishSettled?: (outcome: PublishOutcome) => void;
  /** Observes the link's actor system (the Stately inspector behind `--inspect`, tests). */
  inspect?: (event: InspectionEvent) => void;
}

export interface PublishOptions {
  qos?: 0 | 1;
  retain?: boolean;
}

export interface IncomingMessage {
  topic: string;
  payload: Buffer;
  retain: boolean;
}

export type MessageHandler = (message: IncomingMessage) => void;
export type StateListener = (state: LinkState, previous: LinkState, reason: string) => void;

export interface LinkHealth {
  state: LinkState;
  reason: string;
  /** Failed attempts since the link was last online. */
  attempts: number;
  lastError: string | null;
  nextAttemptAt: number | null;
  onlineSince: number | null;
}

// mqtt.js copies its options argument, so every publish can share these.
const PUBLISH_OPTIONS: Record<'0' | '1', Record<'plain' | 'retained', IClientPublishOptions>> = {
  '0': { plain: { qos: 0, retain: false }, retained: { qos: 0, retain: true } },
  '1': { plain: { qos: 1, retain: false }, retained: { qos: 1, retain: true } },
};

export class MqttLink {
  readonly #actor: Actor<typeof linkMachine>;
  readonly #clock: GatewayClock;
  readonly #logger: Logger;
  readonly #log: LinkLog;
  readonly #waiting: WaitingPublishes;
  readonly #handlers = new Map<string, Set<MessageHandler>>();
  readonly #listeners = new Set<StateListener>();
  readonly #failureListeners = new Set<(reason: string) => void>();
  readonly #done: Promise<void>;
  readonly #onPublishSettled: (outcome: PublishOutcome) => void;
  #state: LinkState;
  #started = false;
  /** The connected mqtt.js client, between its CONNACK and its close. */
  #client: MqttClient | undefined;

  constructor(settings: MqttLinkSettings, options: MqttLinkOptions = {}) {
    const timing = { ...DEFAULT_LINK_TIMING, ...options.timing };
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? getLogger('mqtt');
    this.#log = new LinkLog(this.#logger, settings.url, () => this.#clock.now());
    this.#onPublishSettled = options.onPublishSettled ?? (() => {});
    this.#waiting = new WaitingPublishes(this.#clock, timing.publishTimeoutMs, this.#onPublishSettled);
    const client = clientActor(settings, timing, {
      log: this.#logger,
      ...(options.connect ? { connect: options.connect } : {}),
      binding: {
        attach: (connected) => (this.#client = connected),
        detach: (gone) => {
          if (this.#client === gone) this.#client = undefined;
        },
      },
    });
    const { backoff, connectTimeoutMs, stuckClientMs, stopTimeoutMs } = timing;
    this.#actor = createActor(linkMachine.provide({ actors: { client } }), {
      input: { backoff, connectTimeoutMs, stuckClientMs, stopTimeoutMs },
      clock: this.#clock,
      ...(options.inspect ? { inspect: options.inspect } : {}),
    });
    this.#state = linkStateOf(this.#actor.getSnapshot().value);
    this.#done = new Promise<void>((resolve) => {
      this.#actor.subscribe({
        next: (snapshot) => {
          this.#onSnapshot(linkStateOf(snapshot.value));
          if (snapshot.status === 'done') resolve();
        },
        error: (error) => {
          this.#logger.error('the MQTT link failed', { error });
          this.#waiting.rejectAll(`the MQTT link failed: ${String(error)}`, 'error');
          for (const listener of this.#failureListeners) listener(String(error));
          resolve();
        },
      });
    });
    this.#actor.on('message', (message) => this.#deliver(message));
  }

  /** Starts connecting; returns the link. */
  start(): this {
    this.#started = true;
    this.#actor.start();
    return this;
  }

  get state(): LinkState {
    return this.#state;
  }

  get health(): LinkHealth {
    const { reason, attempts, lastError, nextAttemptAt, onlineSince } = this.#actor.getSnapshot().context;
    return { state: this.#state, reason, attempts, lastError, nextAttemptAt, onlineSince };
  }

  /** Calls `listener` after every change of state; returns the function that removes it. */
  onStateChange(listener: StateListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): Promise<void> {
    return new Promise<void>((resolve, reject) =>
      this.send(topic, payload, options, (error) => (error === null ? resolve() : reject(error))),
    );
  }

  /**
   * publish() with a callback instead of a promise, for the outbox drainer: called once, with null on
   * PUBACK or with the error. Called at once (synchronously) when the link is not online.
   */
  send(topic: string, payload: string | Buffer, options: PublishOptions, done: PublishDone): void {
    const client = this.#client;
    if (client === undefined || this.#state !== 'online') {
      // Not online (or not yet handed its client, which CONNECTED follows at once): refused at once,
      // with what the machine knows about why.
      const { context } = this.#actor.getSnapshot();
      this.#onPublishSettled('offline');
      done(new Error(notConnectedError(context, this.#state)));
      return;
    }
    const { qos = 1, retain = false } = options;
    const waiting = this.#waiting.add(topic, done);
    client.publish(topic, payload, PUBLISH_OPTIONS[qos][retain ? 'retained' : 'plain'], (error) =>
      error
        ? this.#waiting.settle(waiting, error.message, 'error')
        : this.#waiting.settle(waiting, null, 'ok'),
    );
  }

  /**
   * Delivers messages on topics matching `topicFilter` to `handler`, across reconnects (the link
   * subscribes again whenever it comes online). Returns the function that unsubscribes.
   */
  subscribe(topicFilter: string, handler: MessageHandler): () => void {
    let handlers = this.#handlers.get(topicFilter);
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(topicFilter, handlers);
      this.#actor.send({ type: 'SUBSCRIBE', filter: topicFilter });
    }
    handlers.add(handler);
    return () => {
      const current = this.#handlers.get(topicFilter);
      if (!current?.delete(handler) || current.size > 0) return;
      this.#handlers.delete(topicFilter);
      this.#actor.send({ type: 'UNSUBSCRIBE', filter: topicFilter });
    };
  }

  /**
   * Publishes the bridge's offline state and disconnects cleanly; after the stop timeout the client is
   * ended by force (the broker then publishes the Last Will, which says offline too).
   */
  async stop(): Promise<void> {
    if (!this.#started) {
      this.#actor.stop();
      return;
    }
    if (this.#actor.getSnapshot().status === 'active') this.#actor.send({ type: 'STOP' });
    await this.#done;
    this.#actor.stop();
  }

  /**
   * Calls `listener` if the link's own actor fails (a bug, not a broker problem: those it handles
   * itself). Its supervisor then replaces the whole link.
   */
  onFailure(listener: (reason: string) => void): () => void {
    this.#failureListeners.add(listener);
    return () => this.#failureListeners.delete(listener);
  }

  /** Writes the outage summaries that are due (for a periodic health tick). */
  flushLog(): void {
    this.#log.flush();
  }

  #onSnapshot(state: LinkState): void {
    const previous = this.#state;
    if (state === previous) return;
    this.#state = state;
    const context = this.#actor.getSnapshot().context;
    this.#log.transition(previous, state, context);
    // Nothing that waits for a PUBACK outlives the connection it was sent on: the client is dropped
    // with it, and mqtt.js would keep a QoS 1 message waiting for a reconnect that never comes.
    if (previous === 'online') {
      this.#waiting.rejectAll(`MQTT link went ${state} before the broker acknowledged`, 'offline');
    }
    for (const listener of this.#listeners) listener(state, previous, context.reason);
  }

  #deliver(message: IncomingMessage): void {
    for (const [filter, handlers] of this.#handlers) {
      if (!topicMatches(filter, message.topic)) continue;
      for (const handler of handlers) {
        try {
          handler(message);
        } catch (error) {
          this.#logger.error(`message handler for ${filter} failed on ${message.topic}`, { error });
        }
      }
    }
  }
}
