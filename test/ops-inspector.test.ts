import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { assign, createActor, setup } from 'xstate';
import { type InspectorRelay, startInspectorRelay } from '../src/ops/inspector.js';
import { freePort } from './helpers/mosquitto.js';

// The inspector relay as the operator's browser sees it: a page on 127.0.0.1, and inspection events
// forwarded over its WebSocket with secrets removed.

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

    const browser = new WebSocket(`ws://127.0.0.1:${port}`);
    const received: string[] = [];
    browser.on('message', (data) => received.push(data.toString()));
    await new Promise((resolve) => browser.once('open', resolve));

    const machine = setup({
      types: { context: {} as { sensor: string; bind_key: string; level: number } },
    }).createMachine({
      id: 'sensor',
      context: { sensor: 'A4:C1:38:8D:18:B2', bind_key: '231d39c1d7cc1ab1aee224cd096db932', level: 0 },
      on: { BUMP: { actions: assign({ level: ({ context }) => context.level + 1 }) } },
    });
    const actor = createActor(machine, { inspect: relay.inspect }).start();
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

  it('says which port is taken', async () => {
    const port = await freePort();
    relay = await startInspectorRelay(port);
    await expect(startInspectorRelay(port)).rejects.toThrow(`the inspector port ${port} is in use`);
  });
});
