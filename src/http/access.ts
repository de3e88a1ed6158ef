import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

// Who may use the HTTP server, and what every answer carries so a browser cannot be turned against it.
// - Host: a server bound to loopback answers only requests addressed to a loopback name on its port. A
//   page on evil.example whose DNS name is re-pointed to 127.0.0.1 (DNS rebinding) sends
//   `Host: evil.example:8080` and is refused before any route runs.
// - Origin: a browser POST must come from the server's own origin. On loopback that is a loopback origin
//   on the listening port; beyond loopback (where the token is always required) the origin the browser
//   addressed, i.e. same-origin.
// - The token (http.token): a script sends `Authorization: Bearer <token>`; a person logs in once with a
//   form and gets a session cookie. The cookie never carries the token: it is an expiry, a random nonce
//   and an HMAC of both keyed with the token, so changing the token ends every session, and nothing is
//   stored on the server.

export const SESSION_COOKIE = 'fieldbridge_session';
/** How long a login lasts (a kiosk browser stays logged in for a week). */
export const SESSION_LIFETIME_S = 7 * 24 * 3600;

/** Loopback names and addresses, as `http.host` is written. */
const LOOPBACK_HOSTS = new Set(['localhost', '::1', '[::1]', '::ffff:127.0.0.1']);

/** Whether `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  const lower = host.toLowerCase();
  return LOOPBACK_HOSTS.has(lower) || lower.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(lower);
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Splits a Host header value (`name:port`, `[::1]:port`, `name`) into its name and port. */
function parseHostHeader(value: string): { name: string; port: number } | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(value);
  if (!match?.[1]) return undefined;
  return { name: match[1].toLowerCase(), port: match[2] === undefined ? 80 : Number(match[2]) };
}

/** The Host header names this machine's loopback on `port`: the only ones a loopback server answers. */
export function isLoopbackHostHeader(value: string | undefined, port: number): boolean {
  const host = value === undefined ? undefined : parseHostHeader(value);
  return host !== undefined && host.port === port && isLoopback(host.name);
}

/** Refuses a request to a loopback server that was addressed by another name (DNS rebinding). */
export function checkHost(req: IncomingMessage, bindHost: string, port: number): void {
  if (!isLoopback(bindHost) || isLoopbackHostHeader(req.headers.host, port)) return;
  throw new HttpError(
    421,
    `this server listens on loopback and answers only requests to localhost, 127.0.0.1 or [::1] on ` +
      `port ${port}, not to Host "${req.headers.host ?? ''}"`,
  );
}

/** Refuses a browser POST from another site (CSRF), including a rebinding page's own origin. */
export function checkOrigin(req: IncomingMessage, bindHost: string, port: number): void {
  // Browsers always send Origin with a cross-site POST; curl, scripts and Prometheus do not send it.
  const origin = req.headers.origin;
  if (origin === undefined) return;
  if (origin === 'null') throw new HttpError(403, 'POST from an opaque origin refused');
  let url: URL | undefined;
  try {
    url = new URL(origin);
  } catch {
    url = undefined;
  }
  const allowed =
    url !== undefined &&
    url.protocol === 'http:' &&
    (isLoopback(bindHost)
      ? isLoopbackHostHeader(url.host, port)
      : isLoopbackHostHeader(url.host, port) || url.host === req.headers.host);
  if (!allowed) throw new HttpError(403, `cross-origin POST from ${origin} refused`);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** Compares through hashes so neither the length nor the content of the token leaks through timing. */
export function tokenMatches(given: string, expected: string): boolean {
  return timingSafeEqual(sha256(given), sha256(expected));
}

function sessionMac(token: string, expires: string, nonce: string): string {
  return createHmac('sha256', token).update(`fieldbridge-session|${expires}|${nonce}`).digest('base64url');
}

/** A new session value: `<expiry s>.<nonce>.<hmac>`. */
export function newSession(token: string, nowMs: number): string {
  const expires = String(Math.floor(nowMs / 1000) + SESSION_LIFETIME_S);
  const nonce = randomBytes(16).toString('base64url');
  return `${expires}.${nonce}.${sessionMac(token, expires, nonce)}`;
}

function sessionValid(value: string, token: string, nowMs: number): boolean {
  const [expires, nonce, mac, extra] = value.split('.');
  if (!expires || !nonce || !mac || extra !== undefined || !/^\d{1,12}$/.test(expires)) return false;
  if (Number(expires) * 1000 <= nowMs) return false;
  return tokenMatches(mac, sessionMac(token, expires, nonce));
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/** The Set-Cookie header of a login (or, with `value` empty, a logout). */
export function sessionCookie(req: IncomingMessage, value: string): string {
  // No Path: the cookie belongs to the directory of /login, which stays right behind a reverse proxy
  // that serves fieldbridge under a sub-path.
  const maxAge = value === '' ? 0 : SESSION_LIFETIME_S;
  const secure = 'encrypted' in req.socket && req.socket.encrypted === true ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure}`;
}

/**
 * Wrong tokens allowed per minute, at the login form and in bearer headers together, before every
 * token guess is answered 429 (a session cookie, an HMAC nobody can guess, still works).
 */
export class WrongTokenLimit {
  readonly #failures: number[] = [];

  constructor(private readonly perMinute: number) {}

  /** Throws 429 while the last minute holds `perMinute` wrong tokens: no guess is even compared then. */
  check(nowMs: number): void {
    while ((this.#failures[0] ?? nowMs) <= nowMs - 60_000) this.#failures.shift();
    if (this.#failures.length >= this.perMinute) {
      throw new HttpError(429, 'too many wrong tokens; wait a minute', { 'retry-after': '60' });
    }
  }

  failed(nowMs: number): void {
    this.#failures.push(nowMs);
  }
}

/** The token of an `Authorization: Bearer` header, if there is one. */
export function bearerOf(req: IncomingMessage): string | undefined {
  return /^Bearer\s+(.+)$/i.exec((req.headers.authorization ?? '').trim())?.[1];
}

/** Whether the request carries a valid session cookie. */
export function hasSession(req: IncomingMessage, token: string, nowMs: number): boolean {
  const session = cookieValue(req, SESSION_COOKIE);
  return session !== undefined && sessionValid(session, token, nowMs);
}

/**
 * Throws the refusal of a request without the token (bearer header or login session). A bearer
 * header is a guess like a login: it counts against `limit`, and is not compared while that is spent.
 */
export function requireToken(
  req: IncomingMessage,
  token: string,
  nowMs: number,
  limit: WrongTokenLimit,
): void {
  const bearer = bearerOf(req);
  if (bearer !== undefined) {
    limit.check(nowMs);
    if (tokenMatches(bearer, token)) return;
    limit.failed(nowMs);
    throw new HttpError(401, 'the bearer token does not match http.token', {
      'www-authenticate': 'Bearer realm="fieldbridge", error="invalid_token"',
    });
  }
  if (hasSession(req, token, nowMs)) return;
  throw new HttpError(
    401,
    `${req.method ?? ''} ${req.url ?? ''} needs http.token: send "Authorization: Bearer <token>", or log ` +
      'in at /login in a browser',
    { 'www-authenticate': 'Bearer realm="fieldbridge"' },
  );
}

/** A fresh nonce for the inline script and style of one page. */
export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

/** The policy of a page whose only script and style carry `nonce`. */
export function pagePolicy(nonce: string): string {
  return (
    `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; ` +
    `img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`
  );
}

/** Sent with every answer; a page replaces the Content-Security-Policy with its own. */
export function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
}
