import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { simulatedDaliCentersOf } from '../src/drivers/dalicenter/simulatedGateways.js';
import type { OpenContext } from '../src/drivers/contract.js';
import { parseConfig } from '../src/config/index.js';
import { runGateway } from '../src/gateway.js';
import { Subscriber } from './helpers/gatewayRig.js';
import { describeWithMosquitto, Mosquitto } from './helpers/mosquitto.js';

// DALI Center end to end: the gateway (in this process, so the test reaches the simulated DALI Center
// and its line) reads the simulated gateway's inventory, announces its lights, groups, sensors and
// panels to Home Assistant, takes commands from MQTT and publishes what the gateway reports.

let broker: Mosquitto;
let dir: string;
let stop: AbortController;
let running: Promise<number> | undefined;
let runs = 0;
let base = 'fb';
const subscribers: Subscriber[] = [];
/** What the running gateway hands its bus openers: its simulated DALI Centers are kept there. */
let opened: OpenContext | undefined;
/** Puts a simulated gateway in place before the gateway opens its bus (a test that primes one). */
let prime: ((context: OpenContext) => void) | undefined;
const SERIAL = '6A242121110E';
const BUS = `dalicenter:simulated:${SERIAL}`;
const P = 'dalicenter_21110e';

function gateway() {
  const found = opened && simulatedDaliCentersOf(opened).get(BUS);
  if (!found) throw new Error('the simulated DALI Center gateway was not created');
  return found;
}

async function start(extra: string[] = []): Promise<Subscriber> {
  runs += 1;
  base = `dc${runs}`;
  const sub = await Subscriber.start(broker.url, [`${base}/#`, 'homeassistant/#']);
  subscribers.push(sub);
  const config = parseConfig(
    [
      `mqtt: { server: ${broker.url}, base_topic: ${base} }`,
      `persistence: { path: ${join(dir, `db-${runs}`, 'fieldbridge.db')} }`,
      'logging: { level: warn }',
      'devices:',
      `  - { id: dc_gateway, driver: dalicenter, transport: simulated, serial: ${SERIAL}, role: gateway, poll_interval_ms: 1000 }`,
      ...extra,
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
      prime?.(context);
    },
  });
  await sub.waitFor(
    'the inventory online',
    () =>
      [`${P}_light_0`, `${P}_light_1`, `${P}_group_0`, `${P}_motion_10`].every(
        (id) => sub.on(`${base}/${id}/availability`).at(-1)?.payload === 'online',
      ),
    20_000,
  );
  return sub;
}

const state = (sub: Subscriber, id: string) => sub.json<Record<string, unknown>>(`${base}/${id}`).at(-1);

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

describeWithMosquitto('DALI Center: gateway ↔ simulated DALI Center ↔ mosquitto', () => {
  beforeAll(async () => {
    broker = await Mosquitto.start();
    dir = mkdtempSync(join(tmpdir(), 'fieldbridge-e2e-dalicenter-'));
  });
  afterEach(async () => {
    stop?.abort();
    await running;
    opened = undefined;
    prime = undefined;
    for (const subscriber of subscribers.splice(0)) await subscriber.close().catch(() => {});
  });
  afterAll(async () => {
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the inventory, announces lights, switches them from MQTT with the state the gateway reports', async () => {
    const sub = await start();
    await sub.waitFor('light discovery', () =>
      sub.messages.some(
        (m) => m.topic === `homeassistant/light/fieldbridge_${P}_light_0/light/config` && m.payload !== '',
      ),
    );
    const discovery = JSON.parse(
      sub.on(`homeassistant/light/fieldbridge_${P}_light_0/light/config`).at(-1)?.payload ?? '{}',
    );
    expect(discovery).toMatchObject({ schema: 'json', command_topic: `${base}/${P}_light_0/set` });
    // The tunable white light's own limits, read from its parameters by the inventory scan.
    await sub.waitFor(
      'the tunable light',
      () => sub.on(`homeassistant/light/fieldbridge_${P}_light_1/light/config`).length > 0,
    );
    expect(
      JSON.parse(sub.on(`homeassistant/light/fieldbridge_${P}_light_1/light/config`).at(-1)?.payload ?? '{}'),
    ).toMatchObject({
      supported_color_modes: ['color_temp'],
      min_kelvin: 2700,
      max_kelvin: 6500,
    });
    // 2000 K is beyond what it takes: refused, not clamped.
    expect(await set(sub, `${P}_light_1`, { color_temp: 2000 })).toMatchObject({ status: 'error' });

    expect(await set(sub, `${P}_light_0`, { state: 'ON', brightness: 128, transaction: 't1' })).toMatchObject(
      {
        status: 'ok',
        transaction: 't1',
      },
    );
    await sub.waitFor('the reported state', () => state(sub, `${P}_light_0`)?.brightness === 128);
    expect(state(sub, `${P}_light_0`)).toMatchObject({ state: 'ON', brightness: 128 });
    // What the gateway holds is what was published: the simulated line agrees.
    expect(gateway().line.at(0, 0)?.light).toMatchObject({ on: true, brightness: 502 });

    expect(await set(sub, `${P}_light_0`, { state: 'OFF' })).toMatchObject({ status: 'ok' });
    await sub.waitFor('off', () => state(sub, `${P}_light_0`)?.state === 'OFF');

    // DT8: colour temperature (kelvin), hs and rgbw, each confirmed by what the gateway reports.
    expect(await set(sub, `${P}_light_1`, { state: 'ON', color_temp: 3000 })).toMatchObject({ status: 'ok' });
    await sub.waitFor('3000 K', () => state(sub, `${P}_light_1`)?.color_temp === 3000);
    expect(await set(sub, `${P}_light_2`, { color: { h: 120, s: 50 } })).toMatchObject({ status: 'ok' });
    await sub.waitFor(
      'green',
      () => JSON.stringify(state(sub, `${P}_light_2`)?.color) === '{"h":120,"s":50}',
    );
    expect(
      await set(sub, `${P}_light_4`, { state: 'ON', color: { r: 255, g: 0, b: 0, w: 40 } }),
    ).toMatchObject({
      status: 'ok',
    });
    await sub.waitFor(
      'red with white',
      () => JSON.stringify(state(sub, `${P}_light_4`)?.color) === '{"r":255,"g":0,"b":0,"w":40}',
    );
    // A colour a light does not take is refused: a DT6 has no colour temperature.
    expect(await set(sub, `${P}_light_0`, { color_temp: 3000 })).toMatchObject({ status: 'error' });

    // A refused field is an error answer, never sent to the gateway.
    const before = gateway().requests.length;
    expect(await set(sub, `${P}_light_0`, { brightness: 300 })).toMatchObject({ status: 'error' });
    expect(gateway().requests.length).toBe(before);
  }, 60_000);

  it('switches a group and derives its state from its members; recalls a scene', async () => {
    const sub = await start();
    expect(await set(sub, `${P}_group_0`, { state: 'ON', brightness: 255 })).toMatchObject({ status: 'ok' });
    await sub.waitFor('the group on', () => state(sub, `${P}_group_0`)?.state === 'ON');
    await sub.waitFor(
      'members on',
      () => state(sub, `${P}_light_0`)?.state === 'ON' && state(sub, `${P}_light_1`)?.state === 'ON',
    );
    expect(await set(sub, `${P}_scene_1`, { activate: true })).toMatchObject({ status: 'ok' });
    await sub.waitFor('scene "Off" switched group 0 off', () => state(sub, `${P}_group_0`)?.state === 'OFF');
  }, 60_000);

  it('publishes motion, illuminance, panel presses and energy from the gateway pushes', async () => {
    // The panel's retained state is refreshed every second: a press kept there would fire again.
    const sub = await start(['health: { state_refresh_ms: 1000 }']);
    await sub.waitFor(
      'panel online',
      () => sub.on(`${base}/${P}_panel_22/availability`).at(-1)?.payload === 'online',
    );
    await sub.waitFor(
      'illuminance online',
      () => sub.on(`${base}/${P}_illuminance_12/availability`).at(-1)?.payload === 'online',
    );
    gateway().push.motion(10, 'motion');
    await sub.waitFor('motion', () => state(sub, `${P}_motion_10`)?.motion === true);
    gateway().push.illuminance(12, 420);
    await sub.waitFor('illuminance', () => state(sub, `${P}_illuminance_12`)?.illuminance === 420);
    gateway().push.illuminance(12, 0);
    gateway().push.panelKey(22, 3, 'double_press');
    const events = `${base}/${P}_panel_22/event`;
    await sub.waitFor('panel event', () => sub.on(events).length > 0);
    // Its state is published again after the press (with the press's own commit, then the refresh):
    // the press is not sent again.
    const pressed = sub.messages.findIndex((message) => message.topic === events);
    await sub.waitFor(
      'the panel state twice after the press',
      () =>
        sub.messages.slice(pressed).filter((message) => message.topic === `${base}/${P}_panel_22`).length >=
        2,
    );
    expect(sub.json(events)).toEqual([
      { event_type: 'button_3_double_press', key: 3, action: 'double_press' },
    ]);
    expect(state(sub, `${P}_panel_22`)).not.toHaveProperty('event');
    // Nothing retained on the event topic: a client subscribing now (Home Assistant restarted) gets
    // the panel's retained state, and no press. Retained messages come in the order of the filters.
    const late = await Subscriber.start(broker.url, [events, `${base}/${P}_panel_22`]);
    subscribers.push(late);
    await late.waitFor('the retained panel state', () => late.on(`${base}/${P}_panel_22`).length > 0);
    expect(late.on(events)).toEqual([]);
    // The invalid reading (0 lx) was not published.
    expect(
      sub.json<Record<string, unknown>>(`${base}/${P}_illuminance_12`).some((s) => s.illuminance === 0),
    ).toBe(false);
    gateway().push.energy(0, 12.5);
    await sub.waitFor('energy', () => state(sub, `${P}_light_0`)?.energy === 12.5);
  }, 60_000);

  it('a simulation fault request kicks the client (as a duplicate client id would): the link heals by itself', async () => {
    const sub = await start();
    const clientsBefore = gateway().clientIds();
    expect(clientsBefore).toHaveLength(1);
    await sub.publish(
      `${base}/bridge/request/simulation/fault`,
      JSON.stringify({ driver: 'dalicenter', fault: 'kick' }),
    );
    await sub.waitFor(
      'the fault answer',
      () => sub.on(`${base}/bridge/response/simulation/fault`).length > 0,
    );
    expect(
      sub.json(`${base}/bridge/response/simulation/fault`)[0],
      JSON.stringify(sub.json(`${base}/bridge/response/simulation/fault`)[0]),
    ).toMatchObject({ status: 'ok' });
    // A new connection with a new client id (unique per connection), and the lights answer again.
    await sub.waitFor(
      'a new client',
      () => gateway().clientIds().length === 1 && gateway().clientIds()[0] !== clientsBefore[0],
      10_000,
    );
    expect(await set(sub, `${P}_light_0`, { state: 'ON' })).toMatchObject({ status: 'ok' });
    // A real gateway is never faulted.
    await sub.publish(
      `${base}/bridge/request/simulation/fault`,
      JSON.stringify({ driver: 'dalicenter', fault: 'reboot', serial: 'FFFFFFFFFFFF' }),
    );
    await sub.waitFor('the refusal', () => sub.on(`${base}/bridge/response/simulation/fault`).length > 1);
    expect(sub.json(`${base}/bridge/response/simulation/fault`)[1]).toMatchObject({ status: 'error' });
  }, 60_000);

  it('a bus scan (searchDev busDevice) finds new gear, with progress, and makes it a device; offline gear goes unavailable', async () => {
    const sub = await start();
    gateway().line.addDevice({ devType: '0101', channel: 0, address: 40, name: 'New dimmer' });
    await sub.publish(
      `${base}/bridge/request/scan`,
      JSON.stringify({ driver: 'dalicenter', serial: SERIAL, bus_scan: true, transaction: 'scan' }),
    );
    await sub.waitFor('the scan answer', () => sub.on(`${base}/bridge/response/scan`).length > 0, 30_000);
    const answer = sub.json<{ status: string; data: { found: { id: string }[]; added: string[] } }>(
      `${base}/bridge/response/scan`,
    )[0];
    expect(answer?.status).toBe('ok');
    expect(answer?.data.added).toEqual([`${P}_light_40`]);
    expect(
      gateway().requests.some(
        (request) => request.cmd === 'searchDev' && request.body.searchFlag === 'busDevice',
      ),
    ).toBe(true);
    await sub.waitFor(
      'the new light online',
      () => sub.on(`${base}/${P}_light_40/availability`).at(-1)?.payload === 'online',
      20_000,
    );
    // The gateway says a device went offline: unavailable in HA until it says it is back.
    gateway().push.online(40, false);
    await sub.waitFor(
      'offline',
      () => sub.on(`${base}/${P}_light_40/availability`).at(-1)?.payload !== 'online',
      10_000,
    );
    gateway().push.online(40, true);
    await sub.waitFor(
      'back',
      () => sub.on(`${base}/${P}_light_40/availability`).at(-1)?.payload === 'online',
      10_000,
    );
  }, 60_000);
});
