import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_EVENT_CLIENTS } from '../src/http/events.js';
import { MAX_CONNECTIONS } from '../src/http/server.js';
import { type HttpRig, startRig, waitUntil } from './helpers/httpRig.js';

// The HTTP server as an attacker on the same machine or LAN probes it: the token on every route but
// /health, the login form's cookie, DNS rebinding against a loopback server, the caps on event streams
// and connections, and the headers that keep a browser from framing or sniffing the answers.

const rigs: HttpRig[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const rig of rigs.splice(0)) await rig.stop();
});

const BUSES = [{ busId: 'sim:a', devices: ['a1', 'a2'] }];
const TOKEN = 'tok-3f9a1c7e';

async function rig(http: Parameters<typeof startRig>[0]['http'] = {}): Promise<HttpRig> {
  const started = await startRig({ buses: BUSES, http });
  rigs.push(started);
  return started;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A raw request (fetch may not set Host); an event stream is answered with its head only. */
function ask(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        const status = res.statusCode ?? 0;
        if (res.headers['content-type']?.startsWith('text/event-stream')) {
          resolve({ status, headers: res.headers, body: '' });
          res.destroy();
          return;
        }
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A raw connection that has sent `head`; `finish` sends the rest and resolves with the whole answer. */
function open(port: number, head: string): Promise<{ finish(rest: string): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(head);
      let answer = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (answer += chunk));
      const closed = new Promise<string>((done) => socket.on('close', () => done(answer)));
      resolve({ finish: (rest) => (socket.write(rest), closed) });
    });
    sockets.push(socket);
    socket.on('error', reject);
  });
}

/** Every route but /health, as [method, path, status once authorised]. */
const GUARDED: [string, string, number][] = [
  ['GET', '/state', 200],
  ['GET', '/metrics', 200],
  ['HEAD', '/metrics', 200],
  ['GET', '/events', 200],
  ['GET', '/', 200],
  ['POST', '/devices/a1/restart', 202],
  ['POST', '/trigger-scan?driver=mbus', 200],
  ['POST', '/devices/ghost/remove', 501],
];

describe('http.token', () => {
  it('guards every route but GET /health, on loopback and beyond', async () => {
    for (const host of ['127.0.0.1', '0.0.0.0']) {
      const r = await rig({ host, token: TOKEN });
      const port = r.http.port as number;
      for (const [method, path, authorised] of GUARDED) {
        const none = await ask(port, path, { method });
        // A browser asking for the page is sent to the login form; everything else is refused.
        if (path === '/') {
          expect(none.status, `${host} ${method} ${path}`).toBe(303);
          expect(none.headers.location).toBe('login');
        } else {
          expect(none.status, `${host} ${method} ${path}`).toBe(401);
          expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
        }
        const wrong = await ask(port, path, { method, headers: { authorization: 'Bearer tok-3f9a1c7f' } });
        expect(wrong.status, `${host} ${method} ${path} wrong token`).toBe(401);
        const right = await ask(port, path, { method, headers: { authorization: `Bearer ${TOKEN}` } });
        expect(right.status, `${host} ${method} ${path} with the token`).toBe(authorised);
      }
      expect(r.sent).toHaveLength(1);
      // Open: its verdict (200, or 503 while the devices still connect), never 401.
      expect([200, 503]).toContain((await ask(port, '/health')).status);
      await r.stop();
      rigs.splice(rigs.indexOf(r), 1);
    }
  });

  it('logs a person in with a form: an HttpOnly, SameSite=Strict session cookie that is not the token', async () => {
    const r = await rig({ token: TOKEN });
    const port = r.http.port as number;
    const form = await ask(port, '/login');
    expect(form.status).toBe(200);
    expect(form.body).toMatch(/<form method="post" action="login">/);
    expect(form.body).toMatch(/name="token" type="password"/);
    const post = (token: string) =>
      ask(port, '/login', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
      });
    const wrong = await post('guess');
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect(wrong.body).toMatch(/not the token/);

    const right = await post(TOKEN);
    expect(right.status).toBe(303);
    expect(right.headers.location).toBe('./');
    const cookie = right.headers['set-cookie']?.[0] ?? '';
    expect(cookie).toMatch(/^fieldbridge_session=[^;]+; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
    expect(cookie).not.toContain(TOKEN);
    const session = cookie.split(';')[0] as string;
    expect((await ask(port, '/state', { headers: { cookie: session } })).status).toBe(200);
    expect((await ask(port, '/events', { headers: { cookie: session } })).status).toBe(200);
    const page = await ask(port, '/', { headers: { cookie: session } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('data-device');
    // A forged or altered session is no session.
    const tampered = session.replace(/=(\d)/, (_all, digit: string) => `=${(Number(digit) + 1) % 10}`);
    expect((await ask(port, '/state', { headers: { cookie: tampered } })).status).toBe(401);
    expect((await ask(port, '/state', { headers: { cookie: `fieldbridge_session=${TOKEN}` } })).status).toBe(
      401,
    );
    // Logged out: the cookie is cleared.
    const out = await ask(port, '/logout', { method: 'POST', headers: { cookie: session } });
    expect(out.status).toBe(303);
    expect(out.headers['set-cookie']?.[0]).toMatch(/^fieldbridge_session=; Max-Age=0/);
  });

  it('answers 429 after ten wrong tokens in a minute', async () => {
    const r = await rig({ token: TOKEN });
    const port = r.http.port as number;
    const post = (token: string) =>
      ask(port, '/login', { method: 'POST', body: new URLSearchParams({ token }).toString() });
    for (let i = 0; i < 10; i += 1) expect((await post(`guess${i}`)).status).toBe(401);
    expect((await post(TOKEN)).status).toBe(429);
  });

  it('counts wrong bearer tokens with the wrong logins: no unthrottled guessing through the header', async () => {
    const r = await rig({ token: TOKEN });
    const port = r.http.port as number;
    const login = await ask(port, '/login', {
      method: 'POST',
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });
    const session = (login.headers['set-cookie']?.[0] ?? '').split(';')[0] as string;
    const bearer = (token: string) => ask(port, '/state', { headers: { authorization: `Bearer ${token}` } });
    for (let i = 0; i < 10; i += 1) expect((await bearer(`guess${i}`)).status).toBe(401);
    // Neither way tells a right guess from a wrong one now; a session already logged in goes on.
    expect((await bearer(TOKEN)).status).toBe(429);
    const post = await ask(port, '/login', {
      method: 'POST',
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });
    expect(post.status).toBe(429);
    expect((await ask(port, '/state', { headers: { cookie: session } })).status).toBe(200);
  });

  it('does not let wrong logins sent at once past the limit', async () => {
    const r = await rig({ token: TOKEN });
    const port = r.http.port as number;
    // Every request's head first, so each one is past the door before any body (token) is read.
    const body = (i: number) => `token=guess${String(i).padStart(2, '0')}`;
    const clients = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        open(
          port,
          `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: ${body(i).length}\r\n` +
            'Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n',
        ),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const answers = await Promise.all(clients.map((client, i) => client.finish(body(i))));
    const statuses = answers.map((answer) => Number(answer.split(' ')[1]));
    expect(statuses.filter((status) => status === 401)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(20);
  });

  it('does not listen beyond loopback without a token', async () => {
    const r = await rig({ host: '0.0.0.0' });
    expect(r.http.url).toBeNull();
  });
});

describe('a loopback server and DNS rebinding', () => {
  it('refuses requests addressed to any name but a loopback one on its port', async () => {
    const r = await rig();
    const port = r.http.port as number;
    const evil = `evil.example:${port}`;
    const restart = await ask(port, '/devices/a1/restart', {
      method: 'POST',
      headers: { host: evil, origin: `http://${evil}` },
    });
    expect(restart.status).toBe(421);
    expect(JSON.parse(restart.body).error).toMatch(/answers only requests to localhost/);
    expect((await ask(port, '/state', { headers: { host: evil } })).status).toBe(421);
    expect((await ask(port, '/', { headers: { host: evil } })).status).toBe(421);
    expect((await ask(port, '/state', { headers: { host: `127.0.0.1:${port + 1}` } })).status).toBe(421);
    expect((await ask(port, '/state', { headers: { host: `localhost.evil.example:${port}` } })).status).toBe(
      421,
    );
    expect(r.sent).toEqual([]);
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `box.localhost:${port}`]) {
      expect((await ask(port, '/state', { headers: { host } })).status, host).toBe(200);
    }
  });

  it('checks a POST Origin against the loopback origins, not against the Host header', async () => {
    const r = await rig();
    const port = r.http.port as number;
    // Same Host and Origin, both foreign: what the old check let through.
    const rebound = await ask(port, '/devices/a1/restart', {
      method: 'POST',
      headers: { host: `127.0.0.1:${port}`, origin: `http://evil.example:${port}` },
    });
    expect(rebound.status).toBe(403);
    const otherPort = await ask(port, '/devices/a1/restart', {
      method: 'POST',
      headers: { origin: `http://127.0.0.1:${port + 1}` },
    });
    expect(otherPort.status).toBe(403);
    expect(r.sent).toEqual([]);
    const ownPage = await ask(port, '/devices/a1/restart', {
      method: 'POST',
      headers: { host: `127.0.0.1:${port}`, origin: `http://localhost:${port}` },
    });
    expect(ownPage.status).toBe(202);
  });
});

describe('caps', () => {
  it(`answers 503 to event stream number ${MAX_EVENT_CLIENTS + 1}`, async () => {
    const r = await rig();
    const port = r.http.port as number;
    const streams: (() => void)[] = [];
    const open = () =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: '/events' }, (res) => {
          streams.push(() => res.destroy());
          if (res.statusCode !== 200) res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    for (let i = 0; i < MAX_EVENT_CLIENTS; i += 1) expect(await open()).toBe(200);
    expect(await open()).toBe(503);
    // One page closed: the next one gets its stream.
    streams.shift()?.();
    await waitUntil('a stream slot free', async () => (await open()) === 200);
    for (const close of streams) close();
  });

  it(`answers 503 while more than ${MAX_CONNECTIONS} connections are open`, async () => {
    const r = await rig();
    const port = r.http.port as number;
    for (let i = 0; i < MAX_CONNECTIONS; i += 1) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      sockets.push(socket);
    }
    const refused = async () => {
      const answer = await ask(port, '/state');
      return answer.status === 503 && /too many open connections/.test(answer.body);
    };
    // The idle sockets are counted as they are accepted.
    await waitUntil('the connection cap reached', refused);
    for (const socket of sockets.splice(0)) socket.destroy();
    await waitUntil('connections closed', async () => (await ask(port, '/state')).status === 200);
  });
});

describe('security headers', () => {
  it('come with every answer; the page allows only its own nonce-marked script and style', async () => {
    const r = await rig();
    const port = r.http.port as number;
    for (const path of ['/state', '/metrics', '/health', '/nope', '/events', '/']) {
      const { headers } = await ask(port, path);
      expect(headers['x-content-type-options'], path).toBe('nosniff');
      expect(headers['x-frame-options'], path).toBe('DENY');
      expect(headers['referrer-policy'], path).toBe('no-referrer');
      expect(headers['content-security-policy'], path).toMatch(/frame-ancestors 'none'/);
      expect(headers['cache-control'], path).toMatch(/no-store/);
    }
    const page = await ask(port, '/');
    const policy = page.headers['content-security-policy'] as string;
    expect(policy).not.toContain('unsafe-inline');
    const nonce = /script-src 'nonce-([^']+)'/.exec(policy)?.[1] ?? '';
    expect(nonce).not.toBe('');
    expect(page.body.match(/<script[^>]*>/g)).toEqual([`<script nonce="${nonce}">`]);
    expect(page.body.match(/<style[^>]*>/g)).toEqual([`<style nonce="${nonce}">`]);
    // Each answer has its own nonce.
    const again = await ask(port, '/');
    expect(again.headers['content-security-policy']).not.toBe(policy);
  });
});
