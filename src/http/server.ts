import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseRequestFromText } from '../bridge/requests.js';
import type { RemoveOutcome } from '../gateway/deviceRemoval.js';
import type { ScanOutcome, ScanRequest } from '../gateway/scans.js';
import type { Logger } from '../logging/index.js';
import type { RootEvent } from '../machines/rootSupervisor.js';

// The HTTP server: node:http, no framework, a handful of routes. GETs are open (they show nothing
// secret); the POSTs act on the gateway, so once the server listens beyond loopback they need the
// configured bearer token, and without a token they are refused outright. Every error is JSON that
// names the problem: `{"status":"error","error":"…"}`.

export interface HttpBinding {
  host: string;
  port: number;
  token?: string | undefined;
}

/** What the routes answer from; index.ts builds it from the running gateway. */
export interface RouteContext {
  health(): { status: number; body: unknown };
  metrics(): Promise<{ contentType: string; text: string }>;
  state(): unknown;
  page(): string;
  events(response: ServerResponse): void;
  scan(request: ScanRequest): Promise<ScanOutcome>;
  /** The bus of a device the tree runs, or undefined for an unknown id. */
  deviceBus(deviceId: string): string | undefined;
  send(event: RootEvent): void;
  /** Forgets a device found by a scan; undefined when this gateway cannot. */
  removeDevice?: ((deviceId: string) => RemoveOutcome) | undefined;
}

const LOOPBACK_HOSTS = new Set(['localhost', '::1', '[::1]', '::ffff:127.0.0.1']);
export const SCAN_DRIVERS = ['mbus', 'dali', 'ble'] as const;

/** Whether `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, {
    'content-type': contentType,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Compares through hashes so neither the length nor the content of the token leaks through timing. */
function tokenMatches(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** Throws the refusal of a POST that may not act on the gateway. */
function authorize(req: IncomingMessage, binding: HttpBinding): void {
  // A web page elsewhere can make the browser POST here (CSRF), even to 127.0.0.1. Browsers always
  // send Origin with a cross-site POST; curl, scripts and Prometheus do not send it at all.
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== 'null') {
    let originHost: string;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = '';
    }
    if (originHost !== req.headers.host) {
      throw new HttpError(403, `cross-origin POST from ${origin} refused`);
    }
  } else if (origin === 'null') {
    throw new HttpError(403, 'POST from an opaque origin refused');
  }
  if (isLoopback(binding.host)) return;
  if (binding.token === undefined) {
    throw new HttpError(
      403,
      `POST ${req.url ?? ''} is refused: the HTTP server listens on ${binding.host}, beyond loopback, and no ` +
        'http.token is configured. Set http.token in the config and send "Authorization: Bearer <token>" ' +
        '(or bind http.host to 127.0.0.1).',
    );
  }
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!match) {
    throw new HttpError(401, 'this POST needs "Authorization: Bearer <http.token>"', {
      'www-authenticate': 'Bearer realm="fieldbridge"',
    });
  }
  if (!tokenMatches(match[1] ?? '', binding.token)) {
    throw new HttpError(401, 'the bearer token does not match http.token', {
      'www-authenticate': 'Bearer realm="fieldbridge", error="invalid_token"',
    });
  }
}

/**
 * `POST /trigger-scan?driver=mbus&port=/dev/ttyUSB0&from=0&to=250` or
 * `?driver=ble&adapter=hci0&duration_s=30` → a checked scan request.
 */
export function scanRequestOf(query: URLSearchParams): ScanRequest {
  const driver = query.get('driver');
  if (driver === null || driver === '') {
    throw new HttpError(400, `missing driver: POST /trigger-scan?driver=${SCAN_DRIVERS.join('|')}`);
  }
  if (!(SCAN_DRIVERS as readonly string[]).includes(driver)) {
    throw new HttpError(400, `unknown driver "${driver}": expected one of ${SCAN_DRIVERS.join(', ')}`);
  }
  // The same checks as the MQTT `scan` request, so both refuse the same things with the same words.
  const parsed = parseRequestFromText('scan', query);
  if (!parsed.ok) throw new HttpError(400, `bad scan request: ${parsed.error}`);
  if (parsed.value.name !== 'scan') throw new HttpError(500, 'scan request parsed as another request');
  const { name: _name, ...request } = parsed.value;
  return request;
}

type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  match: RegExpExecArray,
) => Promise<void> | void;

interface Route {
  pattern: RegExp;
  /** The path as error messages show it, e.g. `/devices/<id>/restart`. */
  label: string;
  methods: Partial<Record<'GET' | 'POST', Handler>>;
}

export class HttpServer {
  readonly #server: Server;
  readonly #routes: Route[];

  constructor(
    private readonly binding: HttpBinding,
    private readonly context: RouteContext,
    private readonly log: Logger,
  ) {
    this.#routes = this.#defineRoutes();
    this.#server = createServer((req, res) => void this.#handle(req, res));
    // Bounded waits: a stuck client must not hold a socket forever (the event stream sets its own).
    this.#server.headersTimeout = 10_000;
    this.#server.requestTimeout = 30_000;
  }

  /** Listens; rejects with a message that says what to change when the address cannot be used. */
  listen(): Promise<AddressInfo> {
    const { host, port } = this.binding;
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        this.#server.off('listening', onListening);
        const where = `${host}:${port}`;
        const why =
          error.code === 'EADDRINUSE'
            ? `port ${port} is already in use (set http.port to a free port, or http.enabled: false)`
            : error.code === 'EACCES'
              ? `no permission to listen on port ${port} (use a port above 1023)`
              : error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND'
                ? `${host} is not an address of this machine (check http.host)`
                : error.message;
        reject(new Error(`cannot listen on ${where}: ${why}`));
      };
      const onListening = () => {
        this.#server.off('error', onError);
        resolve(this.#server.address() as AddressInfo);
      };
      this.#server.once('error', onError);
      this.#server.once('listening', onListening);
      this.#server.listen(port, host);
    });
  }

  async close(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    // Keep-alive sockets and event streams would otherwise hold close() open.
    this.#server.closeAllConnections();
    await closed;
  }

  #defineRoutes(): Route[] {
    const { context } = this;
    return [
      {
        pattern: /^\/$/,
        label: '/',
        methods: { GET: (_req, res) => sendText(res, 200, 'text/html; charset=utf-8', context.page()) },
      },
      {
        pattern: /^\/health$/,
        label: '/health',
        methods: {
          GET: (_req, res) => {
            const { status, body } = context.health();
            sendJson(res, status, body);
          },
        },
      },
      {
        pattern: /^\/metrics$/,
        label: '/metrics',
        methods: {
          GET: async (_req, res) => {
            const { contentType, text } = await context.metrics();
            sendText(res, 200, contentType, text);
          },
        },
      },
      {
        pattern: /^\/state$/,
        label: '/state',
        methods: { GET: (_req, res) => sendJson(res, 200, context.state()) },
      },
      {
        pattern: /^\/events$/,
        label: '/events',
        methods: {
          GET: (req, res) => {
            if (req.method === 'HEAD') {
              res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' }).end();
              return;
            }
            // An event stream lives as long as the page is open.
            req.socket.setTimeout(0);
            context.events(res);
          },
        },
      },
      {
        pattern: /^\/trigger-scan$/,
        label: '/trigger-scan',
        methods: {
          POST: async (_req, res, url) => {
            const outcome = await context.scan(scanRequestOf(url.searchParams));
            if (outcome.ok) sendJson(res, 200, { status: 'ok', data: outcome.data });
            // The request was fine; the scan could not be done (busy line, unplugged adapter, …).
            else sendJson(res, 422, { status: 'error', error: outcome.error });
          },
        },
      },
      {
        pattern: /^\/devices\/([^/]+)\/remove$/,
        label: '/devices/<id>/remove',
        methods: {
          POST: (_req, res, _url, match) => {
            const deviceId = decodeURIComponent(match[1] ?? '');
            if (!context.removeDevice) throw new HttpError(501, 'this gateway cannot remove devices');
            const outcome = context.removeDevice(deviceId);
            if (outcome.ok) sendJson(res, 200, { status: 'ok', data: outcome.data });
            // 409: the device exists, but it is the config file's to remove.
            else throw new HttpError(outcome.reason === 'configured' ? 409 : 404, outcome.error);
          },
        },
      },
      {
        pattern: /^\/devices\/([^/]+)\/restart$/,
        label: '/devices/<id>/restart',
        methods: {
          POST: (_req, res, _url, match) => {
            const deviceId = decodeURIComponent(match[1] ?? '');
            const busId = context.deviceBus(deviceId);
            if (busId === undefined) throw new HttpError(404, `unknown device "${deviceId}"`);
            context.send({ type: 'RESTART_DEVICE', deviceId, reason: 'requested over HTTP' });
            // Accepted: the supervisor restarts it at once (an operator's restart has no backoff).
            sendJson(res, 202, { status: 'ok', data: { id: deviceId, bus: busId } });
          },
        },
      },
    ];
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The body is never used; read it off so keep-alive connections stay usable.
    req.resume();
    try {
      const url = new URL(req.url ?? '/', 'http://fieldbridge.invalid');
      const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
      const route = this.#routes.find((r) => r.pattern.test(url.pathname));
      if (!route) {
        const known = this.#routes.map((r) => `${Object.keys(r.methods).join('|')} ${r.label}`).join(', ');
        throw new HttpError(404, `no such route: ${req.method ?? ''} ${url.pathname} (routes: ${known})`);
      }
      const handler = route.methods[method as 'GET' | 'POST'];
      if (!handler) {
        const allowed = Object.keys(route.methods);
        const allow = allowed.includes('GET') ? [...allowed, 'HEAD'] : allowed;
        throw new HttpError(
          405,
          `${req.method ?? ''} ${route.label} is not allowed; use ${allowed.join(' or ')}`,
          {
            allow: allow.join(', '),
          },
        );
      }
      if (method === 'POST') authorize(req, this.binding);
      await handler(req, res, url, route.pattern.exec(url.pathname) as RegExpExecArray);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) {
        sendJson(res, error.status, { status: 'error', error: error.message }, error.headers);
        return;
      }
      // Not the client's fault: log it with the stack, answer without it.
      this.log.error(`${req.method ?? ''} ${req.url ?? ''} failed`, { error });
      const message = error instanceof Error ? error.message : String(error);
      sendJson(res, 500, { status: 'error', error: `internal error: ${message}` });
    }
  }
}
