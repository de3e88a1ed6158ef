import { afterEach, describe, expect, it } from 'vitest';
import { GatewayRig, gapsIn, readingSeqs, Subscriber } from './helpers/gatewayRig.js';
import { freePort } from './helpers/mosquitto.js';

// With no mqtt.server the gateway brings its own broker: the same topics work against it.

const rigs: GatewayRig[] = [];
const subscribers: Subscriber[] = [];
afterEach(async () => {
  for (const subscriber of subscribers.splice(0)) await subscriber.close().catch(() => {});
  for (const rig of rigs.splice(0)) await rig.stop('SIGKILL');
});

describe('the embedded broker', () => {
  it('carries readings, state, discovery and commands like an external broker', async () => {
    const port = await freePort();
    const rig = new GatewayRig(
      [
        `mqtt: { embedded_port: ${port} }`,
        'devices:',
        '  - { id: e1, driver: simulated, poll_interval_ms: 100 }',
      ].join('\n'),
    );
    rigs.push(rig);
    const gateway = rig.start();
    await gateway.waitFor(/started: 1 devices/);
    const sub = await Subscriber.start(`mqtt://127.0.0.1:${port}`, [
      'fieldbridge/#',
      'homeassistant/+/+/+/config',
    ]);
    subscribers.push(sub);
    await sub.waitFor('readings', () => readingSeqs(sub, 'fieldbridge/e1/reading').length > 10);
    expect(gapsIn(readingSeqs(sub, 'fieldbridge/e1/reading'))).toEqual([]);
    expect(sub.on('fieldbridge/bridge/state').at(-1)?.payload).toBe('{"state":"online"}');
    expect(sub.on('homeassistant/light/fieldbridge_e1/light/config')).toHaveLength(1);
    await sub.publish('fieldbridge/e1/set', '{"state":"OFF","transaction":1}');
    await sub.waitFor('the answer', () => sub.on('fieldbridge/e1/response').length > 0);
    expect(JSON.parse(sub.on('fieldbridge/e1/response')[0]?.payload ?? '')).toMatchObject({
      status: 'ok',
      transaction: 1,
    });
  }, 30_000);

  it('refuses to start when its port is taken, telling the user to set mqtt.server', async () => {
    const port = await freePort();
    const first = new GatewayRig(`mqtt: { embedded_port: ${port} }\n`);
    rigs.push(first);
    await first.start().waitFor(/started: 0 devices/);
    const second = new GatewayRig(`mqtt: { embedded_port: ${port} }\n`);
    rigs.push(second);
    const gateway = second.start();
    const { code } = await gateway.exited;
    expect(code).toBe(2);
    expect(gateway.output).toMatch(/already in use/);
    expect(gateway.output).toMatch(/mqtt\.server/);
  }, 30_000);
});
