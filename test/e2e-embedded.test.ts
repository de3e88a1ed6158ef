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
  it.each([
    { logins: 'without logins', keys: '', login: '' },
    {
      logins: 'with logins (Home Assistant as one of mqtt.embedded_users)',
      keys: ', user: fieldbridge, password: gw-pw, embedded_users: [{ user: ha, password: ha-pw }]',
      login: 'ha:ha-pw@',
    },
  ])(
    'carries readings, state, discovery and commands like an external broker, $logins',
    async ({ keys, login }) => {
      const port = await freePort();
      const rig = new GatewayRig(
        [
          `mqtt: { embedded_port: ${port}${keys} }`,
          'devices:',
          '  - { id: e1, driver: simulated, poll_interval_ms: 100 }',
        ].join('\n'),
      );
      rigs.push(rig);
      const gateway = rig.start();
      await gateway.waitFor(/started: 1 devices/);
      const sub = await Subscriber.start(`mqtt://${login}127.0.0.1:${port}`, [
        'fieldbridge/#',
        'homeassistant/+/+/+/config',
      ]);
      if (login !== '') {
        await expect(Subscriber.start(`mqtt://127.0.0.1:${port}`, ['fieldbridge/#'])).rejects.toThrow(
          /Not authorized/i,
        );
      }
      subscribers.push(sub);
      await sub.waitFor('readings', () => readingSeqs(sub, 'fieldbridge/e1/reading').length > 10);
      expect(gapsIn(readingSeqs(sub, 'fieldbridge/e1/reading'))).toEqual([]);
      expect(sub.on('fieldbridge/bridge/state').at(-1)?.payload).toBe('{"state":"online"}');
      // One config, or the same one twice: a discovery published while the subscription is being set up
      // can reach it both as the retained copy and live (seen once in CI); Home Assistant takes an
      // identical config again as no change.
      const configs = sub.on('homeassistant/light/fieldbridge_e1/light/config').map((m) => m.payload);
      expect(configs.length).toBeGreaterThanOrEqual(1);
      expect(new Set(configs).size).toBe(1);
      expect(JSON.parse(configs[0] ?? '{}')).toMatchObject({ unique_id: expect.stringContaining('e1') });
      await sub.publish('fieldbridge/e1/set', '{"state":"OFF","transaction":1}');
      await sub.waitFor('the answer', () => sub.on('fieldbridge/e1/response').length > 0);
      expect(JSON.parse(sub.on('fieldbridge/e1/response')[0]?.payload ?? '')).toMatchObject({
        status: 'ok',
        transaction: 1,
      });
    },
    30_000,
  );

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

describe('config/reload', () => {
  it('applies a device change, refuses an invalid file and a restart-only change, and keeps running', async () => {
    const port = await freePort();
    const head = `mqtt: { embedded_port: ${port} }\n`;
    const rig = new GatewayRig(`${head}devices:\n  - { id: r1, driver: simulated, poll_interval_ms: 200 }\n`);
    rigs.push(rig);
    await rig.start().waitFor(/started: 1 devices/);
    const sub = await Subscriber.start(`mqtt://127.0.0.1:${port}`, ['fieldbridge/#']);
    subscribers.push(sub);
    const reload = async (transaction: string) => {
      await sub.publish('fieldbridge/bridge/request/config/reload', JSON.stringify({ transaction }));
      await sub.waitFor(`reload ${transaction}`, () =>
        sub
          .on('fieldbridge/bridge/response/config/reload')
          .some((m) => m.payload.includes(`"${transaction}"`)),
      );
      const answer = sub
        .on('fieldbridge/bridge/response/config/reload')
        .find((m) => m.payload.includes(`"${transaction}"`));
      return JSON.parse(answer?.payload ?? '{}') as {
        status: string;
        data: Record<string, unknown>;
        error?: string;
      };
    };

    rig.config = `${head}devices:\n  - { id: r1, driver: simulated, poll_interval_ms: 200 }\n  - { id: r2, driver: simulated, poll_interval_ms: 200 }\n`;
    rig.writeConfig();
    expect(await reload('add')).toMatchObject({
      status: 'ok',
      data: { restarted: ['simulated'], stopped: [] },
    });
    await sub.waitFor('readings of the new device', () => sub.on('fieldbridge/r2/reading').length > 2);

    rig.config = `${head}devices:\n  - { id: r1, driver: simulated, recconect: {} }\n`;
    rig.writeConfig();
    const invalid = await reload('bad');
    expect(invalid.status).toBe('error');
    expect(invalid.error).toMatch(/devices\[0\]\.recconect: unknown key/);

    rig.config = `mqtt: { embedded_port: ${port}, base_topic: other }\ndevices: []\n`;
    rig.writeConfig();
    expect((await reload('mqtt')).error).toMatch(
      /^mqtt\.base_topic changed, which takes effect only when fieldbridge restarts/,
    );

    const before = sub.on('fieldbridge/r2/reading').length;
    await sub.waitFor('r2 still running', () => sub.on('fieldbridge/r2/reading').length > before + 2);
  }, 30_000);
});
