import { get } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { assign, createActor, setup } from 'xstate';
import { type InspectorRelay, startInspectorRelay } from '../src/ops/inspector.js';
import { freePort } from './helpers/mosquitto.js';

// The inspector relay as the operator's browser sees it: a page on 127.0.0.1, and inspection events
// forwarded over its WebSocket with secrets removed; and as another page or local process sees it: no
// socket for a foreign Origin, and nothing it sends reaches the operator.

/** A WebSocket to the relay as a browser opens it: with the Origin of the page it runs in. */
function socketFrom(port: number, origin: string | undefined, host?: string): WebSocket {
  const headers: Record<string, string> = host === undefined ? {} : { host };
  return new WebSocket(`ws://127.0.0.1:${port}`, { headers, ...(origin === undefined ? {} : { origin }) });
}

/** Resolves with the HTTP status of a refused upgrade, or 101 once the socket is open. */
function upgradeStatus(socket: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    socket.once('open', () => resolve(101));
    socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    socket.once('error', () => resolve(0));
  });
}

/** A small machine that counts BUMPs, with a secret in its context. */
function sensorMachine() {
  return setup({
    types: { context: {} as { sensor: string; bind_key: string; level: number } },
  }).createMachine({
    id: 'sensor',
    context: { sensor: 'A4:C1:38:8D:18:B2', bind_key: '231d39c1d7cc1ab1aee224cd096db932', level: 0 },
    on: { BUMP: { actions: assign({ level: ({ context }) => context.level + 1 }) } },
  });
}

describe('Stately inspector relay', () => {
  let relay: InspectorRelay | undefined;
  afterEach(async () => {
    await relay?.stop();
    relay = undefined;
  });

  it('serves the inspector page on 127.0.0.1 and forwards sanitised inspection events', async () => {
    const port = await freePort();
    relay = await startInspectorRelay(port);
    const page = await fetch(`http://127.0.0.1:${port}/`).then((response) => response.text());
    expect(page).toContain('https://stately.ai/inspect');
    expect(page).toContain(`ws://127.0.0.1:${port}`);

    const browser = socketFrom(port, `http://127.0.0.1:${port}`);
    const received: string[] = [];
    browser.on('message', (data) => received.push(data.toString()));
    await new Promise((resolve) => browser.once('open', resolve));

    const actor = createActor(sensorMachine(), { inspect: relay.inspect }).start();
    actor.send({ type: 'BUMP' });
    await expect
      .poll(() => received.some((message) => message.includes('"level":1')), { timeout: 5_000 })
      .toBe(true);
    actor.stop();
    browser.close();
    const all = received.join('\n');
    expect(all).toContain('A4:C1:38:8D:18:B2');
    expect(all).not.toContain('231d39c1d7cc1ab1aee224cd096db932');
    expect(all).toContain('"bind_key":"***"');
  });

  it('refuses a WebSocket from any page but its own, without an Origin, or by a non-loopback name', async () => {
    const port = await freePort();
    relay = await startInspectorRelay(port);
    const refused: [string | undefined, string | undefined][] = [
      ['https://evil.example', undefined],
      [`http://evil.example:${port}`, `evil.example:${port}`],
      [`http://127.0.0.1:${port + 1}`, undefined],
      ['null', undefined],
      [undefined, undefined],
    ];
    for (const [origin, host] of refused) {
      expect(await upgradeStatus(socketFrom(port, origin, host)), `${origin} ${host}`).toBe(403);
    }
    const rebound = await new Promise<number>((resolve, reject) =>
      get({ host: '127.0.0.1', port, path: '/', headers: { host: `evil.example:${port}` } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      }).on('error', reject),
    );
    expect(rebound).toBe(421);
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      const socket = socketFrom(port, origin);
      expect(await upgradeStatus(socket), origin).toBe(101);
      socket.close();
    }
  });

  it('is read-only: what a client sends reaches neither the other clients nor the replay', async () => {
    const port = await freePort();
    relay = await startInspectorRelay(port);
    const own = `http://127.0.0.1:${port}`;
    const operator = socketFrom(port, own);
    const intruder = socketFrom(port, own);
    const seen: string[] = [];
    operator.on('message', (data) => seen.push(data.toString()));
    await Promise.all([upgradeStatus(operator), upgradeStatus(intruder)]);
    const forged = JSON.stringify({ type: '@xstate.event', event: { type: 'FORGED_BY_INTRUDER' } });
    intruder.send(forged);
    const actor = createActor(sensorMachine(), { inspect: relay.inspect }).start();
    actor.send({ type: 'BUMP' });
    await expect.poll(() => seen.some((m) => m.includes('"level":1')), { timeout: 5_000 }).toBe(true);
    // A page opened later gets the replay: the gateway's events, not the intruder's.
    const late = socketFrom(port, own);
    const replayed: string[] = [];
    late.on('message', (data) => replayed.push(data.toString()));
    await upgradeStatus(late);
    await expect.poll(() => replayed.some((m) => m.includes('"level":1')), { timeout: 5_000 }).toBe(true);
    actor.stop();
    expect([...seen, ...replayed].join('\n')).not.toContain('FORGED_BY_INTRUDER');
    for (const socket of [operator, intruder, late]) socket.close();
  });

  it('says which port is taken', async () => {
    const port = await freePort();
    relay = await startInspectorRelay(port);
    await expect(startInspectorRelay(port)).rejects.toThrow(`the inspector port ${port} is in use`);
  });
});
