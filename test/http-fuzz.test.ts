import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../src/drivers/shared/random.js';
import { captureLogs, type LogCapture } from '../src/logging/index.js';
import { type HttpRig, startRig } from './helpers/httpRig.js';

// The HTTP surface fed random requests: paths, methods, headers and bodies (some huge, some garbage),
// well-formed and not. Whatever arrives, the answer is a 4xx (or /health's own 200/503), never a 5xx
// or a crash, and the server still answers /health afterwards. Seeded, so a failure is reproducible:
// the seed and the request are in the assertion message.

const TOKEN = 'fuzz-token-5d1e';
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed1e);

const next = seededRandom(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
const bytes = (size: number) => Buffer.from(Array.from({ length: size }, () => Math.floor(next() * 256)));
const text = (size: number) =>
  Array.from({ length: size }, () => String.fromCharCode(33 + Math.floor(next() * 94))).join('');

const SEGMENTS = [
  '',
  'state',
  'health',
  'metrics',
  'events',
  'login',
  'logout',
  'trigger-scan',
  'devices',
  'a1',
  'restart',
  'remove',
  '%zz',
  '%',
  '..',
  '%2e%2e',
  '%00',
  '%C3%BCn%C3%AF',
  '?driver=mbus',
  '?driver=%ff',
  '#x',
];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'PROPFIND'];

function randomPath(): string {
  if (next() < 0.05) return `/${text(8_000)}`;
  const length = 1 + Math.floor(next() * 4);
  return `/${Array.from({ length }, () => pick(SEGMENTS)).join(pick(['/', '/', '//', '']))}`;
}

function randomHeaders(port: number): Record<string, string> {
  const headers: Record<string, string> = {};
  if (next() < 0.3)
    headers.host = pick([`evil.example:${port}`, `localhost:${port}`, 'x', `[::1]:${port}`, '::::']);
  if (next() < 0.3)
    headers.origin = pick(['null', 'http://evil.example', `http://localhost:${port}`, text(20)]);
  if (next() < 0.3)
    headers.authorization = pick([`Bearer ${text(12)}`, 'Bearer', 'Basic Zm9vOmJhcg==', text(40)]);
  if (next() < 0.3)
    headers.cookie = pick([`fieldbridge_session=${text(30)}`, `fieldbridge_session=1.2.3`, text(50)]);
  if (next() < 0.2)
    headers['content-type'] = pick(['application/json', 'application/x-www-form-urlencoded', text(10)]);
  if (next() < 0.1)
    headers[
      `x-${text(6)
        .toLowerCase()
        .replace(/[^a-z]/g, 'q')}`
    ] = text(2_000);
  return headers;
}

interface Outcome {
  status: number | 'reset';
}

/** A well-formed request; a huge body may be cut off by the server (reset) once it has answered. */
function send(port: number, method: string, path: string, headers: Record<string, string>, body: Buffer) {
  return new Promise<Outcome>((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.destroy();
    });
    req.on('error', () => resolve({ status: 'reset' }));
    req.setTimeout(10_000, () => req.destroy());
    req.end(body);
  });
}

/** Raw bytes on a socket: the status of whatever comes back, or none if the server just closes. */
function sendRaw(port: number, data: Buffer): Promise<number | 'closed'> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1];
      resolve(status === undefined ? 'closed' : Number(status));
    });
    socket.setTimeout(10_000, () => socket.destroy());
    socket.end(data);
  });
}

describe('HTTP fuzz', () => {
  let rig: HttpRig;
  let port: number;
  let logs: LogCapture;
  beforeAll(async () => {
    logs = captureLogs();
    rig = await startRig({ buses: [{ busId: 'sim:a', devices: ['a1'] }], http: { token: TOKEN } });
    port = rig.http.port as number;
  });
  afterAll(async () => {
    await rig?.stop();
    logs.stop();
  });

  it('answers random well-formed requests with a 4xx only', async () => {
    for (let i = 0; i < 250; i += 1) {
      const method = pick(METHODS);
      const path = randomPath();
      const headers = randomHeaders(port);
      const size = next() < 0.05 ? 3 * 1024 * 1024 : next() < 0.3 ? Math.floor(next() * 20_000) : 0;
      const body = method === 'GET' || method === 'HEAD' || size === 0 ? Buffer.alloc(0) : bytes(size);
      const { status } = await send(port, method, path, headers, body);
      const what = `seed ${SEED} #${i}: ${method} ${path.slice(0, 80)} ${JSON.stringify(headers).slice(0, 200)} body ${body.length}`;
      if (status === 'reset') {
        // Only a body past the drain limit may be cut off.
        expect(body.length, what).toBeGreaterThan(1024 * 1024);
        continue;
      }
      // What a request without the token may get besides a 4xx: /health, the login form, and the
      // page's redirect to it (a wrong bearer token gets 401 there too).
      const get = method === 'GET' || method === 'HEAD';
      // As the server reads it: dot segments resolved (`/state/%2e%2e` is `/`).
      const route = new URL(`http://fuzz.invalid${path}`).pathname;
      const expected =
        get && route === '/health'
          ? [200, 503]
          : get && route === '/login'
            ? [200]
            : get && route === '/'
              ? [303, 401]
              : [];
      if (expected.length > 0) expect([...expected, 421], what).toContain(status);
      else expect(status >= 400 && status < 500, `${what} → ${status}`).toBe(true);
    }
    expect(rig.sent).toEqual([]);
  });

  it('answers garbage on the wire with a 4xx or by closing, never a 5xx', async () => {
    const shapes: (() => Buffer)[] = [
      () => bytes(1 + Math.floor(next() * 2_000)),
      () => Buffer.from(`${pick(METHODS)} ${randomPath()} HTTP/1.1\r\n${text(30)}\r\n\r\n`),
      () => Buffer.from(`GET / HTTP/1.1\r\nHost: localhost:${port}\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`),
      () => Buffer.from(`GET /state HTTP/9.9\r\nHost: localhost:${port}\r\n\r\n`),
      () =>
        Buffer.from(
          `POST /login HTTP/1.1\r\nHost: localhost:${port}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${text(40)}\r\n`,
        ),
      () =>
        Buffer.from(
          `POST /login HTTP/1.1\r\nHost: localhost:${port}\r\nContent-Length: 5\r\nContent-Length: 9\r\n\r\n12345`,
        ),
      () => Buffer.from(`GET x${text(20)} HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`),
      () => Buffer.from(`GET /state HTTP/1.1\r\n\r\n`),
      () =>
        Buffer.concat([
          Buffer.from(`GET /%zz HTTP/1.1\r\nHost: localhost:${port}\r\n`),
          bytes(100),
          Buffer.from('\r\n\r\n'),
        ]),
    ];
    for (let i = 0; i < 120; i += 1) {
      const shape = i < shapes.length ? i : Math.floor(next() * shapes.length);
      const data = (shapes[shape] as () => Buffer)();
      const answer = await sendRaw(port, data);
      const what = `seed ${SEED} #${i} shape ${shape}: ${JSON.stringify(data.toString('latin1').slice(0, 120))}`;
      if (answer !== 'closed') expect(answer >= 400 && answer < 500, `${what} → ${answer}`).toBe(true);
    }
  });

  it('still answers /health afterwards', async () => {
    const response = await fetch(`${rig.url}/health`);
    expect([200, 503]).toContain(response.status);
    const state = await fetch(`${rig.url}/state`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(state.status).toBe(200);
    // Nothing was an internal error, and wrong logins were not logged past the login rate limit.
    expect(logs.entries.filter((entry) => entry.level === 'error')).toEqual([]);
    expect(logs.entries.filter((entry) => entry.level === 'warn').length).toBeLessThanOrEqual(10);
  });
});
