import { every, type GatewayClock } from '../machines/clock.js';
import type { Outbox } from '../persistence/index.js';
import {
  bridgeStatus,
  type DeviceHealth,
  type HealthInput,
  healthPayload,
  isComingUp,
  START_GRACE_MS,
} from './health.js';

// `<base>/bridge/health`: what it is computed from (the link, the outbox, each device's health) and
// when it goes out: on the bridge's timer, and at once whenever the status changes. After an outage
// the backlog counts as "reconnecting" until it has been sent, so a consumer sees the catch-up.
//
// A start is no outage: until the link has connected, what was queued before it is sent and every device
// has finished its first connect (or START_GRACE_MS has passed), the status is `starting`, so a start
// reads starting → online rather than offline → reconnecting → online.

/** While starting, how often the end of the start is looked for (see watchStart). */
const START_CHECK_MS = 250;

export interface HealthReporterOptions {
  outbox: Pick<Outbox, 'stats'>;
  link: { readonly online: boolean };
  /** Messages published and not yet acknowledged (the drainer's window). */
  inFlight: () => number;
  devices: ReadonlyMap<string, DeviceHealth>;
  /** Enqueues the payload, retained; a status change goes out as an event (never coalesced away). */
  publish: (payload: Record<string, unknown>, statusChange: boolean) => void;
  now: () => number;
  /** START_GRACE_MS unless a test says otherwise. */
  startGraceMs?: number;
}

export class HealthReporter {
  readonly #options: HealthReporterOptions;
  readonly #startedAt: number;
  #lastMqttAt: number | null = null;
  #catchingUp = false;
  #lastStatus: string | undefined;
  #linkSeen = false;
  #started = false;

  constructor(options: HealthReporterOptions) {
    this.#options = options;
    this.#startedAt = options.now();
  }

  /**
   * The link came up: what is queued now is the backlog of the outage. Call it before enqueueing what a
   * connect sends anyway (discovery, availability), which is no backlog.
   */
  linkUp(): void {
    this.#lastMqttAt = this.#options.now();
    this.#catchingUp = this.#options.outbox.stats().depth > 0;
    this.#linkSeen = true;
  }

  /** Still coming up (see START_GRACE_MS); once over, it stays over. */
  get starting(): boolean {
    return this.#input().starting === true;
  }

  /** bridge/health as it would be published now (also GET /health and the health_check request). */
  payload(): Record<string, unknown> {
    return healthPayload(this.#input());
  }

  publish(): void {
    const payload = this.payload();
    const statusChange = payload.status !== this.#lastStatus;
    this.#lastStatus = String(payload.status);
    this.#options.publish(payload, statusChange);
  }

  /**
   * Status changes say when the start is over, except for the queue sent and the grace elapsed: those
   * are looked for every START_CHECK_MS until it is. The caller cancels it at stop (the result).
   */
  watchStart(clock: Pick<GatewayClock, 'setTimeout' | 'clearTimeout'>): () => void {
    const cancel = every(clock, START_CHECK_MS, () => {
      this.publishIfChanged();
      if (!this.starting) cancel();
    });
    return cancel;
  }

  /** bridge/health goes out at once on any status change, not only on the interval. */
  publishIfChanged(): void {
    if (bridgeStatus(this.#input()) !== this.#lastStatus) this.publish();
  }

  #input(): HealthInput {
    const { outbox, link, inFlight, devices, now } = this.#options;
    const queue = outbox.stats();
    if (this.#catchingUp && queue.depth <= inFlight()) this.#catchingUp = false;
    const at = now();
    return {
      now: at,
      startedAt: this.#startedAt,
      linkOnline: link.online,
      lastMqttAt: link.online ? at : this.#lastMqttAt,
      catchingUp: this.#catchingUp,
      starting: this.#isStarting(at),
      devices,
      queue,
    };
  }

  #isStarting(now: number): boolean {
    if (this.#started) return false;
    const settled =
      this.#linkSeen &&
      !this.#catchingUp &&
      ![...this.#options.devices.values()].some((device) => isComingUp(device, now));
    const grace = this.#options.startGraceMs ?? START_GRACE_MS;
    if (settled || now - this.#startedAt >= grace) this.#started = true;
    return !this.#started;
  }
}
