import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { OpenContext } from '../src/drivers/contract.js';
import { simulatedDaliAdaptersOf } from '../src/drivers/dali/simulatedAdapters.js';
import { parseConfig } from '../src/config/index.js';
import { runGateway } from '../src/gateway.js';
import { Subscriber } from './helpers/gatewayRig.js';
import { describeWithMosquitto, Mosquitto } from './helpers/mosquitto.js';

// DALI end to end: the gateway (in this process, so the test can reach the fake hasseb adapter and
// its lamps) scans the simulated adapter, publishes lights to Home Assistant, takes commands from MQTT,
// and heals: an unplugged adapter, lamps that lost power.

let broker: Mosquitto;
let dir: string;
let stop: AbortController;
let running: Promise<number> | undefined;
/** What the running gateway hands its bus openers: its simulated adapter is kept there. */
let opened: OpenContext | undefined;
/** Each test gets a fresh database and fresh lamps. */
let runs = 0;
let base = 'fb';
const subscribers: Subscriber[] = [];

const LAMPS = ['dali_lamp_0', 'dali_lamp_1', 'dali_lamp_2', 'dali_lamp_3'];

function stick() {
  const enumerator = opened && simulatedDaliAdaptersOf(opened).get('dali:simulated');
  if (!enumerator) throw new Error('the simulated DALI adapter was not created');
  return enumerator;
}

async function start(): Promise<Subscriber> {
  runs += 1;
  // A base topic per test: the broker keeps the retained topics of the tests before.
  base = `fb${runs}`;
  const sub = await Subscriber.start(broker.url, [`${base}/#`, 'homeassistant/light/#']);
  subscribers.push(sub);
  const config = parseConfig(
    [
      `mqtt: { server: ${broker.url}, base_topic: ${base} }`,
      `persistence: { path: ${join(dir, `db-${runs}`, 'fieldbridge.db')} }`,
      'logging: { level: warn }',
      'health: { interval_ms: 500 }',
      'dali:',
      '  - { transport: simulated, self_test_interval_ms: 300 }',
      'device_defaults: { reconnect: { initial_ms: 500, max_ms: 2000 } }',
    ].join('\n'),
    {},
    '(test)',
  );
  stop = new AbortController();
  running = runGateway(config, {
    configSource: '(test)',
    signal: stop.signal,
    onOpenContext: (context) => {
      opened = context;
    },
  });
  await sub.waitFor(
    'every lamp online',
    () => LAMPS.every((id) => sub.on(`${base}/${id}/availability`).at(-1)?.payload === 'online'),
    20_000,
  );
  return sub;
}

const state = (sub: Subscriber, id: string) =>
  sub.json<{ state?: string; brightness?: number }>(`${base}/${id}`).at(-1);

async function set(
  sub: Subscriber,
  id: string,
  payload: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const before = sub.on(`${base}/${id}/response`).length;
  await sub.publish(`${base}/${id}/set`, JSON.stringify(payload));
  await sub.waitFor(
    `the answer to ${JSON.stringify(payload)}`,
    () => sub.on(`${base}/${id}/response`).length > before,
    20_000,
  );
  return sub.json(`${base}/${id}/response`)[before] as Record<string, unknown>;
}

describeWithMosquitto('DALI: gateway ↔ simulated hasseb adapter ↔ mosquitto', () => {
  beforeAll(async () => {
    broker = await Mosquitto.start();
    dir = mkdtempSync(join(tmpdir(), 'fieldbridge-e2e-dali-'));
  });
  afterEach(async () => {
    stop?.abort();
    await running;
    opened = undefined;
    for (const subscriber of subscribers.splice(0)) await subscriber.close().catch(() => {});
  });
  afterAll(async () => {
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds the lamps and groups, announces lights, confirms commands from what the lamps say, refuses bad ones', async () => {
    const sub = await start();
    await sub.waitFor('light discovery', () =>
      sub.messages.some(
        (m) => m.topic === 'homeassistant/light/fieldbridge_dali_lamp_1/light/config' && m.payload !== '',
      ),
    );
    const discovery = JSON.parse(
      sub.on('homeassistant/light/fieldbridge_dali_lamp_1/light/config').at(-1)?.payload ?? '{}',
    );
    expect(discovery).toMatchObject({
      schema: 'json',
      supported_color_modes: ['brightness'],
      brightness_scale: 254,
      command_topic: `${base}/dali_lamp_1/set`,
    });
    expect(sub.on(`${base}/dali_group_1/availability`).at(-1)?.payload).toBe('online');
    // The adapter is a device too: its self-test (one bus query) says it is there, with its firmware.
    await sub.waitFor('the adapter self-test', () =>
      sub.json<{ connected?: boolean }>(`${base}/dali_adapter`).some((state) => state.connected === true),
    );
    expect(sub.json<{ firmware?: string }>(`${base}/dali_adapter`).at(-1)?.firmware).toBe('2.3');

    expect(await set(sub, 'dali_lamp_1', { state: 'ON', brightness: 120, transaction: 't1' })).toMatchObject({
      status: 'ok',
      transaction: 't1',
      data: { state: 'ON', brightness: 120 },
    });
    await sub.waitFor('the confirmed state', () => state(sub, 'dali_lamp_1')?.brightness === 120);
    expect(stick().stick().bus.gearAt(1).actualLevel).toBe(120);

    const refused = await set(sub, 'dali_lamp_1', { brightness: 300 });
    expect(refused).toMatchObject({ status: 'error' });
    expect(String(refused.error)).toMatch(/brightness/);
    expect(await set(sub, 'dali_lamp_1', { colour: 'red' })).toMatchObject({ status: 'error' });

    // A group is one frame for all its lamps (lamps 1 and 3 are in group 1).
    await set(sub, 'dali_group_1', { state: 'ON', brightness: 60 });
    expect(stick().stick().bus.gearAt(3).actualLevel).toBe(60);
  }, 60_000);

  it('unplugged for 10 s while commands arrive: nothing is dropped, the adapter is back within 1 s, lamps get their levels back', async () => {
    const sub = await start();
    await set(sub, 'dali_lamp_0', { state: 'ON', brightness: 100 });
    await set(sub, 'dali_lamp_2', { state: 'OFF' });
    stick().unplug();
    // The power goes too: the lamps come back at their power-on level (254).
    stick().stick().bus.cutPower('all');
    stick().stick().bus.restorePower('all');
    await sub.waitFor(
      'lamps offline',
      () => LAMPS.every((id) => sub.on(`${base}/${id}/availability`).at(-1)?.payload === 'offline'),
      10_000,
    );
    const waiting = sub.on(`${base}/dali_lamp_3/response`).length;
    await sub.publish(
      `${base}/dali_lamp_3/set`,
      JSON.stringify({ state: 'ON', brightness: 77, transaction: 'during-unplug' }),
    );
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    stick().replug();
    const replugged = Date.now();
    await sub.waitFor(
      'lamps online',
      () => LAMPS.every((id) => sub.on(`${base}/${id}/availability`).at(-1)?.payload === 'online'),
      5_000,
    );
    const back = Math.max(...LAMPS.map((id) => sub.on(`${base}/${id}/availability`).at(-1)?.at ?? Infinity));
    console.log(`DALI replug: all lamps back ${back - replugged} ms after the replug`);
    expect(back - replugged).toBeLessThan(1_000);
    // The command sent while unplugged was kept and answered (here: carried out after the replug).
    await sub.waitFor(
      'the queued command answered',
      () => sub.on(`${base}/dali_lamp_3/response`).length > waiting,
      10_000,
    );
    expect(sub.json(`${base}/dali_lamp_3/response`)[waiting]).toMatchObject({ transaction: 'during-unplug' });
    // Restored to what was last commanded, not what the power cut left.
    await sub.waitFor(
      'levels restored',
      () => {
        const bus = stick().stick().bus;
        return (
          bus.gearAt(0).actualLevel === 100 &&
          bus.gearAt(2).actualLevel === 0 &&
          bus.gearAt(3).actualLevel === 77
        );
      },
      10_000,
    );
    expect(
      sub.json<{ type: string }>(`${base}/bridge/event`).some((event) => event.type === 'state_restored'),
    ).toBe(true);
  }, 60_000);

  it('detects a lamp power failure in the self-test and repairs it', async () => {
    const sub = await start();
    await set(sub, 'dali_lamp_2', { state: 'ON', brightness: 42 });
    stick().stick().bus.cutPower(2);
    stick().stick().bus.restorePower(2);
    expect(stick().stick().bus.gearAt(2).actualLevel).toBe(254);
    await sub.waitFor('lamp 2 back at 42', () => stick().stick().bus.gearAt(2).actualLevel === 42, 10_000);
    await sub.waitFor('state says 42', () => state(sub, 'dali_lamp_2')?.brightness === 42);
  }, 60_000);

  it('takes a simulation fault over MQTT into the simulated adapter of the gateway it runs in', async () => {
    const sub = await start();
    await set(sub, 'dali_lamp_2', { state: 'ON', brightness: 42 });
    await sub.publish(
      `${base}/bridge/request/simulation/fault`,
      JSON.stringify({ driver: 'dali', fault: 'power_cut', address: 2, transaction: 'cut' }),
    );
    const topic = `${base}/bridge/response/simulation/fault`;
    await sub.waitFor('the answer to the fault', () => sub.on(topic).length > 0);
    expect(sub.json(topic)[0]).toMatchObject({
      status: 'ok',
      transaction: 'cut',
      data: { fault: 'power_cut', bus: 'dali:simulated', address: 2, adapter: stick().stick().serialNumber },
    });
    // The blip put lamp 2 at its power-on level; the gateway notices and restores its level.
    await sub.waitFor('lamp 2 back at 42', () => stick().stick().bus.gearAt(2).actualLevel === 42, 10_000);
  }, 60_000);
});
