import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { RemoveOutcome } from '../gateway/deviceRemoval.js';
import type { ScanOutcome, ScanRequest } from '../gateway/scans.js';
import { scanRequestOf } from './scanRequest.js';
import type { Logger } from '../logging/index.js';
import type { RootEvent } from '../machines/rootSupervisor.js';
import {
  bearerOf,
  checkHost,
  checkOrigin,
  hasSession,
  HttpError,
  isLoopback,
  newNonce,
  newSession,
  requireToken,
  sessionCookie,
  setSecurityHeaders,
  tokenMatches,
  WrongTokenLimit,
} from './access.js';
import { loginPage } from './loginPage.js';
import {
  decodeSegment,
  drainBody,
  readBody,
  redirect,
  requestTarget,
  sendJson,
  sendPage,
  sendText,
} from './wire.js';
import { errorText } from '../errorText.js';

// The HTTP server: node:http, no framework, a handful of routes. With http.token set, every route but
// GET /health needs it (bearer header, or the session cookie of the login form); without one the server
// only listens on loopback. Who may ask what is decided in access.ts. Every error is JSON that names
// the problem: `{"status":"error","error":"…"}`.

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
  /** The status page; its inline script and style carry `nonce`. */
  page(nonce: string): string;
  /** Takes the response over as an event stream; false (response untouched) when too many are open. */
  events(response: ServerResponse): boolean;
  scan(request: ScanRequest): Promise<ScanOutcome>;
  /** The bus of a device the tree runs, or undefined for an unknown id. */
  deviceBus(deviceId: string): string | undefined;
  send(event: RootEvent): void;
  /** Forgets a device found by a scan; undefined when this gateway cannot. */
  removeDevice?: ((deviceId: string) => RemoveOutcome) | undefined;
}

/** Open connections beyond this are answered 503 (and beyond twice this, dropped by node). */
export const MAX_CONNECTIONS = 64;
/** The login form's body: a token, form-encoded. */
const MAX_LOGIN_BODY = 4096;
/** Wrong tokens (POST /login and bearer headers) allowed per minute before guesses are answered 429. */
const WRONG_TOKENS_PER_MINUTE = 10;

/** `token`: needs http.token when one is set; `page`: the same, but sends a browser to the login form. */
type Access = 'open' | 'token' | 'page';

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
  access?: Access;
  /** The POST handler reads the body itself (otherwise it is drained unread). */
  readsBody?: boolean;
}

export class HttpServer {
  readonly #server: Server;
  readonly #routes: Route[];
  readonly #sockets = new Set<Socket>();
  /** The port listened on (the configured one, or the one picked for port 0). */
  #port: number;
  readonly #wrongTokens = new WrongTokenLimit(WRONG_TOKENS_PER_MINUTE);

  constructor(
    private readonly binding: HttpBinding,
    private readonly context: RouteContext,
    private readonly log: Logger,
  ) {
    this.#port = binding.port;
    this.#routes = this.#defineRoutes();
    this.#server = createServer((req, res) => void this.#handle(req, res));
    // Bounded waits: a stuck client must not hold a socket forever (the event stream sets its own).
    this.#server.headersTimeout = 10_000;
    this.#server.requestTimeout = 30_000;
    // Beyond MAX_CONNECTIONS requests are answered 503; beyond twice that node drops new sockets.
    this.#server.maxConnections = 2 * MAX_CONNECTIONS;
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  /** Listens; rejects with a message that says what to change when the address cannot be used. */
  listen(): Promise<AddressInfo> {
    const { host, port, token } = this.binding;
    if (!isLoopback(host) && token === undefined) {
      // The config refuses this too (src/config/rules.ts); this guards any other caller.
      return Promise.reject(
        new Error(
          `cannot listen on ${host}:${port}: ${host} is beyond loopback and no http.token is set ` +
            '(set http.token, or bind http.host to 127.0.0.1)',
        ),
      );
    }
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
        const address = this.#server.address() as AddressInfo;
        this.#port = address.port;
        resolve(address);
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
        access: 'page',
        methods: {
          GET: (_req, res) => {
            const nonce = newNonce();
            sendPage(res, 200, context.page(nonce), nonce);
          },
        },
      },
      {
        pattern: /^\/login$/,
        label: '/login',
        access: 'open',
        readsBody: true,
        methods: {
          GET: (_req, res) => {
            if (this.binding.token === undefined) return redirect(res, './');
            // With no-referrer, a browser sends `Origin: null` even with a same-origin form POST,
            // which checkOrigin refuses; same-origin still tells no other site anything.
            res.setHeader('referrer-policy', 'same-origin');
            const nonce = newNonce();
            sendPage(res, 200, loginPage(nonce), nonce);
          },
          POST: (req, res) => this.#login(req, res),
        },
      },
      {
        pattern: /^\/logout$/,
        label: '/logout',
        // Clearing a cookie needs no token (an expired session can log out too); Origin still applies.
        access: 'open',
        methods: { POST: (req, res) => redirect(res, 'login', { 'set-cookie': sessionCookie(req, '') }) },
      },
      {
        pattern: /^\/health$/,
        label: '/health',
        access: 'open',
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
            if (!context.events(res)) {
              throw new HttpError(503, 'too many event streams are open; try again later', {
                'retry-after': '10',
              });
            }
            // An event stream lives as long as the page is open.
            req.socket.setTimeout(0);
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
            const deviceId = decodeSegment(match[1]);
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
            const deviceId = decodeSegment(match[1]);
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

  /** POST /login: a right token sets the session cookie and goes to the page; a wrong one shows the form again. */
  async #login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { token } = this.binding;
    if (token === undefined) throw new HttpError(404, 'no http.token is configured, so there is no login');
    const given = new URLSearchParams(await readBody(req, MAX_LOGIN_BODY)).get('token') ?? '';
    // Checked after the body is in, with nothing awaited until the failure is counted: logins sent
    // at once cannot all pass the check before the first one is found wrong.
    const now = Date.now();
    this.#wrongTokens.check(now);
    if (tokenMatches(given, token)) {
      redirect(res, './', { 'set-cookie': sessionCookie(req, newSession(token, now)) });
      return;
    }
    this.#wrongTokens.failed(now);
    this.log.warn('a wrong token was given at POST /login', { remote: req.socket.remoteAddress });
    const nonce = newNonce();
    res.setHeader('referrer-policy', 'same-origin');
    sendPage(res, 401, loginPage(nonce, 'That is not the token (http.token).'), nonce);
  }

  /**
   * Throws the refusal of a request that may not reach its route; false when it has already been
   * answered (a browser without a session sent to the login form).
   */
  #admit(req: IncomingMessage, res: ServerResponse, route: Route, method: string): boolean {
    if (this.#sockets.size > MAX_CONNECTIONS) {
      throw new HttpError(503, 'too many open connections; try again later', {
        'retry-after': '10',
        connection: 'close',
      });
    }
    if (method === 'POST') checkOrigin(req, this.binding.host, this.#port);
    const { token } = this.binding;
    const access = route.access ?? 'token';
    if (token === undefined || access === 'open') return true;
    if (access === 'page' && bearerOf(req) === undefined && !hasSession(req, token, Date.now())) {
      redirect(res, 'login');
      return false;
    }
    requireToken(req, token, Date.now(), this.#wrongTokens);
    return true;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    setSecurityHeaders(res);
    // Unless the route reads the body itself, it is drained (once) whatever the answer.
    let bodyTaken = false;
    const drain = () => {
      if (!bodyTaken) drainBody(req);
      bodyTaken = true;
    };
    try {
      checkHost(req, this.binding.host, this.#port);
      const url = requestTarget(req.url ?? '/');
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
      if (!this.#admit(req, res, route, method)) return;
      if (route.readsBody === true && method === 'POST') bodyTaken = true;
      drain();
      await handler(req, res, url, route.pattern.exec(url.pathname) as RegExpExecArray);
    } catch (error) {
      drain();
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
      const message = errorText(error);
      sendJson(res, 500, { status: 'error', error: `internal error: ${message}` });
    }
  }
}
