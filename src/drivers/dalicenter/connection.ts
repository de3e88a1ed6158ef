import { connect as tcpConnect } from 'node:net';
import { abortable } from '../shared/wait.js';
import { every, type GatewayClock, systemClock } from '../../machines/clock.js';
import { type DaliCenterProblem, getVersion, type InboundMessage } from './codec/index.js';
import { type GatewayEndpoint, GatewayLink, GatewayRefusal } from './link.js';
import { BusLinkDown } from '../contract.js';
import { errorText } from '../../errorText.js';
import { type Logger, RepeatedFailureLog } from '../../logging/index.js';

// The one MQTT link to a DALI Center gateway, opened on demand and shared by every device of the
// gateway. It never reconnects by itself: a lost link is reported once, and the devices' connection
// machines (with their backoff) ask for it again. While the gateway is away a cheap TCP probe of the
// broker's port says when it is back, so the devices try at once (lights restored within a second of
// the broker returning, not after a backoff of up to a minute). A refused login, or a certificate the
// configured CA does not trust, is remembered: the broker is not asked again for REFUSAL_HOLD_MS, the
// ladder included (only pairing again or another CA, which is a new config and a new connection, helps),
// and the refusal is said once.
//
// The gateway's outage is logged here, once for all its devices: one line when the link goes (or
// cannot be opened), summaries while it stays away, one line when it is back. Every failure to open
// is a BusLinkDown and the loss a `logged` one, so the devices' own transitions for it stay at debug.

export const REFUSAL_HOLD_MS = 5 * 60_000;
const PROBE_INTERVAL_MS = 500;
const PROBE_TIMEOUT_MS = 400;
/** The RepeatedFailureLog key of the gateway's outage. */
const OUTAGE = 'link';

export interface ConnectionOptions {
  /** The configured serial; undefined: the gateway discovery finds (its serial is then the endpoint's). */
  serial: string | undefined;
  /** Where the gateway is (a simulated gateway starts here); undefined: not configured with an address. */
  endpoint(signal: AbortSignal): Promise<GatewayEndpoint | undefined>;
  /** Finds the gateway's (new) address by its serial; undefined: it did not answer. */
  rediscover?(serial: string | undefined, signal: AbortSignal): Promise<GatewayEndpoint | undefined>;
  clock?: GatewayClock | undefined;
  log: Logger;
  /** Keeps a new address found by rediscovery for the next start (a paired gateway's stored entry). */
  remember?(endpoint: GatewayEndpoint): void;
}

export interface ConnectionEvents {
  message(message: InboundMessage): void;
  problem(problem: DaliCenterProblem): void;
  /** A link is up; `returned` when the gateway had been away (the waiting devices may try at once). */
  up(link: GatewayLink, returned: boolean): void;
  /** The link went (lost, or dropped by a recovery step). */
  gone(reason: string): void;
  /** The gateway's broker accepts connections again. */
  present(): void;
}

export class GatewayConnection {
  #link: GatewayLink | undefined;
  #opening: Promise<GatewayLink> | undefined;
  #rediscovering: Promise<void> | undefined;
  #endpoint: GatewayEndpoint | undefined;
  /** A refusal only the user can end (a stale login, an untrusted certificate), held for REFUSAL_HOLD_MS. */
  #refused: { error: GatewayRefusal; until: number } | undefined;
  #refusalSaid = false;
  /** The gateway's outage: its first line, its summaries and the line that ends it. */
  readonly #outage: RepeatedFailureLog;
  #stopProbe: (() => void) | undefined;
  #closed = false;
  readonly #closing = new AbortController();

  constructor(
    private readonly options: ConnectionOptions,
    private readonly events: ConnectionEvents,
  ) {
    this.#outage = new RepeatedFailureLog(options.log, { now: () => this.#clock.now() });
  }

  /** Whether the gateway is away (lost, or never reached): an outage is being logged. */
  get #away(): boolean {
    return this.#outage.failureCount(OUTAGE) > 0;
  }

  get serial(): string {
    return this.#endpoint?.serial || this.options.serial || '(serial not known yet)';
  }

  /** The open link, if there is one. */
  get link(): GatewayLink | undefined {
    return this.#link && !this.#link.closed ? this.#link : undefined;
  }

  get #clock(): GatewayClock {
    return this.options.clock ?? systemClock;
  }

  /** The open link, or one opened now (one attempt at a time, shared); abort ends the wait. */
  ensure(signal: AbortSignal): Promise<GatewayLink> {
    if (this.#closed) return Promise.reject(new Error('the gateway connection is closed'));
    const open = this.link;
    if (open) return Promise.resolve(open);
    const refused = this.#refused;
    if (refused && this.#clock.now() < refused.until) return Promise.reject(refused.error);
    this.#opening ??= this.#open().finally(() => (this.#opening = undefined));
    return abortable(this.#opening, signal);
  }

  /** The `reconnect` rung: a link that still answers is kept; a half-open one is dropped and opened again. */
  async reconnect(signal: AbortSignal): Promise<void> {
    const open = this.link;
    if (open) {
      try {
        await open.request(getVersion(), signal);
        return;
      } catch {
        this.drop('it did not answer getVersion');
      }
    }
    await this.ensure(signal);
  }

  /**
   * The `rediscover` rung. Every device of the gateway climbs its ladder: one discovery serves them all,
   * and a link another device's step already healed is left alone.
   */
  async rediscover(signal: AbortSignal): Promise<void> {
    if (this.link) return;
    if (this.#refused) throw this.#refused.error;
    this.#rediscovering ??= this.#rediscover().finally(() => (this.#rediscovering = undefined));
    await abortable(this.#rediscovering, signal);
    await this.ensure(signal);
  }

  drop(reason: string): void {
    const link = this.#link;
    if (!link) return;
    this.#link = undefined;
    link.close();
    this.#outageFailure(`dropped the link to DALI Center gateway ${this.serial}: ${reason}`);
    this.events.gone(reason);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort(new Error('the gateway connection is closed'));
    this.#stopProbing();
    this.#link?.close();
    this.#link = undefined;
    await this.#opening?.catch(() => undefined);
  }

  async #rediscover(): Promise<void> {
    const found = await this.options.rediscover?.(this.options.serial, this.#closing.signal);
    if (!found) throw new Error(`gateway ${this.serial} did not answer a discovery`);
    const before = this.#endpoint;
    this.#endpoint = { ...(before ?? found), host: found.host, port: found.port, tls: found.tls };
    if (before?.host === found.host && before.port === found.port) return;
    this.options.log.warn(
      `DALI Center gateway ${this.serial} found at ${found.host}:${found.port} (was ${before ? `${before.host}:${before.port}` : 'unknown'})`,
    );
    this.options.remember?.(this.#endpoint);
    // The probe watched the old address.
    this.#stopProbing();
    this.drop('its address changed');
  }

  async #open(): Promise<GatewayLink> {
    const signal = this.#closing.signal;
    // Not configured with an address: the gateway is looked for on the network.
    this.#endpoint ??=
      (await this.options.endpoint(signal)) ?? (await this.options.rediscover?.(this.options.serial, signal));
    const endpoint = this.#endpoint;
    if (!endpoint) {
      const error = new BusLinkDown(
        `DALI Center gateway ${this.serial} has no address and did not answer a discovery: configure its host, or pair it (dalicenter/pair)`,
      );
      if (!this.#closed) this.#outageFailure(error.message);
      throw error;
    }
    let link: GatewayLink;
    try {
      link = await GatewayLink.open(
        endpoint,
        {
          message: (message) => this.events.message(message),
          problem: (problem) => this.events.problem(problem),
          lost: (reason) => this.#lost(link, reason),
        },
        signal,
        () => this.#clock.now(),
      );
    } catch (error) {
      throw this.#failedToOpen(endpoint, error);
    }
    if (this.#closed) {
      link.close();
      throw new Error('the gateway connection is closed');
    }
    this.#link = link;
    this.#refused = undefined;
    this.#refusalSaid = false;
    const returned = this.#stopProbe !== undefined || this.#away;
    this.#stopProbing();
    const where = `${endpoint.host}:${endpoint.port}`;
    if (this.#away)
      this.#outage.success(OUTAGE, `DALI Center gateway ${endpoint.serial} is back at ${where}`);
    else this.options.log.info(`connected to DALI Center gateway ${endpoint.serial} at ${where}`);
    this.events.up(link, returned);
    return link;
  }

  /** Says why the gateway could not be reached (once per outage), and what the devices are told. */
  #failedToOpen(endpoint: GatewayEndpoint, error: unknown): BusLinkDown {
    if (error instanceof GatewayRefusal) {
      // Said once until a login succeeds again; the broker is not asked again while the hold lasts.
      if (!this.#refusalSaid) this.options.log.error(error.message);
      this.#refusalSaid = true;
      this.#refused = { error, until: this.#clock.now() + REFUSAL_HOLD_MS };
      return error;
    }
    const reason = errorText(error);
    if (!this.#closed) {
      this.#outageFailure(
        `DALI Center gateway ${endpoint.serial} is unreachable at ${endpoint.host}:${endpoint.port}: ${reason} (retrying with backoff)`,
      );
      this.#startProbe(endpoint);
    }
    return new BusLinkDown(reason, { cause: error });
  }

  #lost(link: GatewayLink, reason: string): void {
    if (this.#link !== link || this.#closed) return;
    this.#link = undefined;
    this.#outageFailure(`lost the link to DALI Center gateway ${this.serial}: ${reason}`);
    this.events.gone(reason);
    if (this.#endpoint) this.#startProbe(this.#endpoint);
  }

  /** The first line of an outage, or one more failure of it (summarised). */
  #outageFailure(line: string): void {
    this.#outage.failure(OUTAGE, line, undefined, {
      summary: `DALI Center gateway ${this.serial} still unreachable`,
    });
  }

  /** While the gateway is away: is its broker's port open again? */
  #startProbe(endpoint: GatewayEndpoint): void {
    if (this.#stopProbe || this.#closed) return;
    let probing = false;
    this.#stopProbe = every(
      this.#clock,
      PROBE_INTERVAL_MS,
      () => {
        if (probing) return;
        probing = true;
        const socket = tcpConnect({ host: endpoint.host, port: endpoint.port });
        const done = (open: boolean) => {
          probing = false;
          socket.destroy();
          if (!open || !this.#stopProbe) return;
          this.#stopProbing();
          this.events.present();
        };
        socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
        socket.once('connect', () => done(true));
        socket.once('error', () => done(false));
      },
      { unref: true },
    );
  }

  #stopProbing(): void {
    this.#stopProbe?.();
    this.#stopProbe = undefined;
  }
}
