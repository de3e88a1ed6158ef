import { type IncomingMessage, MqttLink, type MqttLinkOptions, type PublishOptions } from './link.js';
import type { LinkState } from './linkModel.js';
import type { MqttLinkSettings } from './settings.js';
import type { PublishDone } from './waitingPublishes.js';

// The MQTT link as the supervision tree runs it: the root supervisor hosts it (see rootSupervisor.ts)
// and replaces it with a fresh one if its actor ever fails. The rest of the gateway holds this object,
// which forwards to whichever link is current and carries subscriptions and listeners over to the
// next one, so a replacement is invisible to the bridge.

type StateListener = (state: LinkState, previous: LinkState) => void;

export class SupervisedLink {
  readonly #settings: MqttLinkSettings;
  readonly #options: MqttLinkOptions;
  readonly #subscriptions: { filter: string; handler: (message: IncomingMessage) => void }[] = [];
  readonly #listeners = new Set<StateListener>();
  #current: MqttLink | undefined;
  #stopping: Promise<void> = Promise.resolve();

  constructor(settings: MqttLinkSettings, options: MqttLinkOptions = {}) {
    this.#settings = settings;
    this.#options = options;
  }

  /** Starts a fresh link; `onFailure` hears if it fails. Returns the function that stops it. */
  run(onFailure: (reason: string) => void): () => void {
    const link = new MqttLink(this.#settings, this.#options);
    for (const { filter, handler } of this.#subscriptions) link.subscribe(filter, handler);
    link.onStateChange((state, previous) => {
      for (const listener of this.#listeners) listener(state, previous);
    });
    link.onFailure(onFailure);
    this.#current = link;
    link.start();
    return () => {
      if (this.#current === link) this.#current = undefined;
      this.#stopping = link.stop();
    };
  }

  get state(): LinkState {
    return this.#current?.state ?? 'offline';
  }

  publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): Promise<void> {
    const link = this.#current;
    if (!link) return Promise.reject(new Error('the MQTT link is being replaced'));
    return link.publish(topic, payload, options);
  }

  send(topic: string, payload: string | Buffer, options: PublishOptions, done: PublishDone): void {
    const link = this.#current;
    if (!link) done(new Error('the MQTT link is being replaced'));
    else link.send(topic, payload, options, done);
  }

  subscribe(filter: string, handler: (message: IncomingMessage) => void): void {
    this.#subscriptions.push({ filter, handler });
    this.#current?.subscribe(filter, handler);
  }

  onStateChange(listener: StateListener): void {
    this.#listeners.add(listener);
  }

  flushLog(): void {
    this.#current?.flushLog();
  }

  /** Resolves once the last link stopped (its offline message sent, disconnected). */
  stopped(): Promise<void> {
    return this.#stopping;
  }
}
