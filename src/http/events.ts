import type { ServerResponse } from 'node:http';

// GET /events: server-sent events for the status page. A change (a notice) asks for a push; pushes are
// throttled to one per `minIntervalMs`, and a snapshot equal to the last one sent is not sent again.
// What notices do not announce (the queue draining, the MQTT link) is caught by a slower periodic
// check; a heartbeat lets the page tell a live stream from a dead one. Nothing is computed while no
// page is open. A slow client is never buffered for: it skips to the latest snapshot when it drains.

export interface EventStreamOptions {
  /** Builds the current snapshot as JSON (only called while at least one client is connected). */
  snapshot: () => string;
  /** At most one push per this many ms (250 ms: 4 per second). */
  minIntervalMs?: number;
  /** How often the snapshot is checked for changes no notice announced. */
  checkIntervalMs?: number;
  heartbeatMs?: number;
  /** Streams open at once; one more is refused (each holds a socket and a snapshot per push). */
  maxClients?: number;
  now?: () => number;
}

/** The default cap on open event streams: a few status pages, not a crowd. */
export const MAX_EVENT_CLIENTS = 16;

interface Client {
  response: ServerResponse;
  /** The socket buffer is full: wait for `drain`, then send the latest snapshot. */
  blocked: boolean;
  missed: boolean;
}

export class EventStream {
  readonly #clients = new Set<Client>();
  readonly #options: Required<EventStreamOptions>;
  #last = '';
  #lastSentAt = Number.NEGATIVE_INFINITY;
  #pending: NodeJS.Timeout | undefined;
  readonly #timers: NodeJS.Timeout[] = [];

  constructor(options: EventStreamOptions) {
    this.#options = {
      minIntervalMs: 250,
      checkIntervalMs: 1_000,
      heartbeatMs: 10_000,
      maxClients: MAX_EVENT_CLIENTS,
      now: Date.now,
      ...options,
    };
    // unref: an open status page must not keep a stopping gateway alive.
    this.#timers.push(
      setInterval(() => this.changed(), this.#options.checkIntervalMs).unref(),
      setInterval(
        () => this.#broadcast(`event: heartbeat\ndata: ${this.#options.now()}\n\n`),
        this.#options.heartbeatMs,
      ).unref(),
    );
  }

  get clients(): number {
    return this.#clients.size;
  }

  /**
   * Takes over an HTTP response as an event stream and sends it the current snapshot at once; false,
   * with the response untouched, when `maxClients` streams are already open.
   */
  add(response: ServerResponse): boolean {
    if (this.#clients.size >= this.#options.maxClients) return false;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform',
      connection: 'keep-alive',
      // Proxies (nginx) buffer responses unless told not to; a buffered stream is not live.
      'x-accel-buffering': 'no',
    });
    const client: Client = { response, blocked: false, missed: false };
    this.#clients.add(client);
    response.on('close', () => this.#clients.delete(client));
    response.on('drain', () => {
      client.blocked = false;
      if (client.missed) {
        client.missed = false;
        this.#write(client, this.#event(this.#last));
      }
    });
    // The browser reconnects by itself after this long if the stream breaks (gateway restart).
    this.#write(client, 'retry: 2000\n\n');
    // Not remembered as the last one sent: the others may not have it yet (a push may be pending).
    this.#write(client, this.#event(this.#options.snapshot()));
    return true;
  }

  /** Something the page shows may have changed: push within the throttle interval. */
  readonly changed = (): void => {
    if (this.#clients.size === 0 || this.#pending) return;
    const wait = Math.max(0, this.#lastSentAt + this.#options.minIntervalMs - this.#options.now());
    this.#pending = setTimeout(() => {
      this.#pending = undefined;
      this.#push();
    }, wait);
    this.#pending.unref();
  };

  #push(): void {
    if (this.#clients.size === 0) return;
    const snapshot = this.#options.snapshot();
    if (snapshot === this.#last) return;
    this.#last = snapshot;
    this.#lastSentAt = this.#options.now();
    this.#broadcast(this.#event(snapshot));
  }

  #event(snapshot: string): string {
    return `event: snapshot\ndata: ${snapshot}\n\n`;
  }

  #broadcast(text: string): void {
    for (const client of this.#clients) {
      if (client.blocked) client.missed = text.startsWith('event: snapshot') || client.missed;
      else this.#write(client, text);
    }
  }

  #write(client: Client, text: string): void {
    if (client.response.writableEnded) return;
    if (!client.response.write(text)) client.blocked = true;
  }

  /** Ends every stream (the server is closing). */
  close(): void {
    for (const timer of this.#timers) clearInterval(timer);
    if (this.#pending) clearTimeout(this.#pending);
    for (const client of this.#clients) client.response.end();
    this.#clients.clear();
  }
}
