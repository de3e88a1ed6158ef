import { type IncomingMessage, MqttLink, type MqttLinkOptions, type PublishOptions } from './link.js';
import type { LinkState } from './linkModel.js';
import type { MqttLinkSettings } from './settings.js';
import type { PublishDone, PublishOutcome } from './waitingPublishes.js';

// The MQTT link as the supervision tree runs it: the root supervisor hosts it (see rootSupervisor.ts)
// and replaces it with a fresh one if its actor ever fails; a config reload replaces it with one on the
// new settings. The rest of the gateway holds this object, which forwards to whichever link is
// current and carries subscriptions and listeners over to the next one, so a replacement is invisible
// to the bridge (it only sees the link go offline and come back online).

type StateListener = (state: LinkState, previous: LinkState) => void;
type PublishListener = (outcome: PublishOutcome) => void;

export class SupervisedLink {
  #settings: MqttLinkSettings;
  readonly #options: MqttLinkOptions;
  readonly #subscriptions: { filter: string; handler: (message: IncomingMessage) => void }[] = [];
  readonly #listeners = new Set<StateListener>();
  readonly #publishListeners = new Set<PublishListener>();
  readonly #publishSettled: PublishListener;
  #current: MqttLink | undefined;
  /** Set while the root supervisor runs the link: where a failure of the current link is reported. */
  #onFailure: ((reason: string) => void) | undefined;
  #stopping: Promise<void> = Promise.resolve();

  constructor(settings: MqttLinkSettings, options: MqttLinkOptions = {}) {
    this.#settings = settings;
    this.#publishSettled = (outcome) => {
      options.onPublishSettled?.(outcome);
      for (const listener of this.#publishListeners) listener(outcome);
    };
    this.#options = { ...options, onPublishSettled: this.#publishSettled };
  }

  /** Starts a fresh link; `onFailure` hears if it fails. Returns the function that stops it. */
  run(onFailure: (reason: string) => void): () => void {
    this.#onFailure = onFailure;
    this.#startLink();
    return () => {
      this.#onFailure = undefined;
      const link = this.#current;
      this.#current = undefined;
      if (link) this.#stopping = link.stop();
    };
  }

  /**
   * Moves to new settings (a reloaded `mqtt` section): the running link says offline and disconnects,
   * then one on the new settings connects. Never both at once: with the same client id the broker
   * would drop one of them, and a late offline message from the old one would overwrite the new one's
   * retained online state. Resolves once the new link started (not once it is online). When the link
   * is not running (not started yet, or waiting for its restart), the next run uses the new settings.
   */
  async reconfigure(settings: MqttLinkSettings): Promise<void> {
    this.#settings = settings;
    const link = this.#current;
    if (!link) return;
    this.#current = undefined;
    this.#stopping = link.stop();
    await this.#stopping;
    // Stopped by the root meanwhile (shutdown), or already restarted by it on the new settings.
    if (this.#onFailure !== undefined && this.#current === undefined) this.#startLink();
  }

  get state(): LinkState {
    return this.#current?.state ?? 'offline';
  }

  publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): Promise<void> {
    const link = this.#current;
    if (!link) {
      this.#publishSettled('offline');
      return Promise.reject(new Error('the MQTT link is being replaced'));
    }
    return link.publish(topic, payload, options);
  }

  send(topic: string, payload: string | Buffer, options: PublishOptions, done: PublishDone): void {
    const link = this.#current;
    if (link) {
      link.send(topic, payload, options, done);
      return;
    }
    this.#publishSettled('offline');
    done(new Error('the MQTT link is being replaced'));
  }

  subscribe(filter: string, handler: (message: IncomingMessage) => void): void {
    this.#subscriptions.push({ filter, handler });
    this.#current?.subscribe(filter, handler);
  }

  onStateChange(listener: StateListener): void {
    this.#listeners.add(listener);
  }

  /** Calls `listener` with how each publish ended, across link replacements; returns its removal. */
  onPublishSettled(listener: PublishListener): () => void {
    this.#publishListeners.add(listener);
    return () => this.#publishListeners.delete(listener);
  }

  flushLog(): void {
    this.#current?.flushLog();
  }

  /** Resolves once the last link stopped (its offline message sent, disconnected). */
  stopped(): Promise<void> {
    return this.#stopping;
  }

  #startLink(): void {
    const link = new MqttLink(this.#settings, this.#options);
    for (const { filter, handler } of this.#subscriptions) link.subscribe(filter, handler);
    link.onStateChange((state, previous) => {
      for (const listener of this.#listeners) listener(state, previous);
    });
    // A link replaced since is not the root's business any more.
    link.onFailure((reason) => {
      if (this.#current === link) this.#onFailure?.(reason);
    });
    this.#current = link;
    link.start();
  }
}
