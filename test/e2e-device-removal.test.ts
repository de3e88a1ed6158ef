import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GatewayRig, Subscriber } from './helpers/gatewayRig.js';
import { waitUntil } from './helpers/httpRig.js';
import { describeWithMosquitto, freePort, Mosquitto } from './helpers/mosquitto.js';
import { GatewayProcess } from './helpers/process.js';

// Devices come and go on purpose, end to end: a gateway process scans a simulated DALI line (four lamps
// found and stored) next to two configured devices, with mosquitto. A found lamp removed over MQTT and
// one removed with `fieldbridge remove-device` (over the gateway's HTTP API), and a configured device
// dropped from the file by a reload, leave no retained state, availability or discovery config behind;
// a configured device's remove request is refused with "edit the config"; a removed lamp stays removed
// after a restart.

const BASE = 'rm';
const NODE = (id: string) => `fieldbridge_${id}`;

let broker: Mosquitto;
let rig: GatewayRig;
let sub: Subscriber;
let httpPort: number;

function configText(devices: string[]): string {
  return [
    `mqtt: { server: ${broker.url}, base_topic: ${BASE} }`,
    `http: { port: ${httpPort} }`,
    'health: { interval_ms: 500 }',
    'dali:',
    '  - { transport: simulated, self_test_interval_ms: 300 }',
    'devices:',
    ...devices.map((id) => `  - { id: ${id}, driver: simulated }`),
    '',
  ].join('\n');
}

/** What the broker holds retained on `filters` now, as a fresh subscriber gets it. */
async function retainedNow(filters: string[]): Promise<Map<string, string>> {
  const client = await connectAsync(broker.url, {
    reconnectPeriod: 0,
    clientId: `retained-${Math.random().toString(16).slice(2)}`,
  });
  const retained = new Map<string, string>();
  client.on('message', (topic, payload, packet) => {
    if (packet.retain) retained.set(topic, payload.toString());
  });
  await client.subscribeAsync(filters, { qos: 1 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  await client.endAsync(true);
  return retained;
}

/** Every retained topic of a device: its state, availability and Home Assistant configs. */
const deviceFilters = (id: string) => [
  `${BASE}/${id}`,
  `${BASE}/${id}/#`,
  `homeassistant/+/${NODE(id)}/+/config`,
];

async function request(name: string, payload: Record<string, unknown>) {
  const transaction = `t${Math.random().toString(16).slice(2)}`;
  const topic = `${BASE}/bridge/response/${name}`;
  await sub.publish(`${BASE}/bridge/request/${name}`, JSON.stringify({ ...payload, transaction }));
  await sub.waitFor(`the answer to ${name}`, () =>
    sub.json<{ transaction?: string }>(topic).some((answer) => answer.transaction === transaction),
  );
  return sub
    .json<{ status: string; error?: string; data: Record<string, unknown>; transaction?: string }>(topic)
    .find((answer) => answer.transaction === transaction);
}

async function runCli(args: string[]): Promise<{ code: number | null; output: string }> {
  const cli = new GatewayProcess([...args, '--config', join(rig.dir, 'fieldbridge.yaml')], { cwd: rig.dir });
  const { code } = await cli.exited;
  return { code, output: cli.output };
}

const online = (id: string) => sub.on(`${BASE}/${id}/availability`).at(-1)?.payload === 'online';

describeWithMosquitto('removing devices: found ones on request, configured ones by a reload', () => {
  beforeAll(async () => {
    broker = await Mosquitto.start();
    httpPort = await freePort();
    sub = await Subscriber.start(broker.url, [`${BASE}/#`, 'homeassistant/+/+/+/config']);
    rig = new GatewayRig(configText(['keep', 'dropme']));
    rig.start();
    const all = ['dali_lamp_0', 'dali_lamp_1', 'dali_lamp_2', 'keep', 'dropme'];
    await sub.waitFor('the lamps found and every device online', () => all.every(online), 30_000);
    await sub.waitFor('states and discovery configs', () =>
      ['dali_lamp_0', 'dropme'].every(
        (id) =>
          sub.on(`${BASE}/${id}`).length > 0 &&
          sub.messages.some((m) => m.topic.includes(`/${NODE(id)}/`) && m.payload !== ''),
      ),
    );
  }, 60_000);
  afterAll(async () => {
    await rig?.stop();
    await sub?.close();
    await broker?.dispose();
  });

  it('refuses to remove a configured device, saying to edit the config (MQTT and CLI)', async () => {
    const answer = await request('device/remove', { id: 'keep' });
    expect(answer).toMatchObject({ status: 'error' });
    expect(answer?.error).toMatch(
      /^device "keep" is configured in .*fieldbridge\.yaml.*edit the config file/,
    );
    const unknown = await request('device/remove', { id: 'dali_lamp_9' });
    expect(unknown?.error).toMatch(/^unknown device "dali_lamp_9".*did you mean "dali_lamp_\d"/);
    const cli = await runCli(['remove-device', 'keep']);
    expect(cli.code).toBe(1);
    expect(cli.output).toMatch(/edit the config file/);
    expect(online('keep')).toBe(true);
    expect((await retainedNow(deviceFilters('keep'))).get(`${BASE}/keep/availability`)).toBe('online');
  }, 30_000);

  it('empties the retained state, availability and discovery configs of a found device removed over MQTT', async () => {
    const before = await retainedNow(deviceFilters('dali_lamp_0'));
    expect(before.get(`${BASE}/dali_lamp_0/availability`)).toBe('online');
    expect([...before.keys()].some((topic) => topic.startsWith('homeassistant/light/'))).toBe(true);

    const answer = await request('device/remove', { id: 'dali_lamp_0' });
    expect(answer).toMatchObject({ status: 'ok', data: { id: 'dali_lamp_0', driver: 'dali' } });
    await waitUntil(
      'nothing retained for dali_lamp_0',
      async () => (await retainedNow(deviceFilters('dali_lamp_0'))).size === 0,
      10_000,
    );
    await sub.waitFor('the device_removed event', () =>
      sub
        .json<{ type: string; data: { id?: string } }>(`${BASE}/bridge/event`)
        .some((event) => event.type === 'device_removed' && event.data.id === 'dali_lamp_0'),
    );
    // The other lamps stay.
    expect((await retainedNow(deviceFilters('dali_lamp_1'))).get(`${BASE}/dali_lamp_1/availability`)).toBe(
      'online',
    );
  }, 30_000);

  it('removes a found device with fieldbridge remove-device, through the HTTP API', async () => {
    const cli = await runCli(['remove-device', 'dali_lamp_1']);
    expect(cli.output).toMatch(/removed dali_lamp_1 \(dali\)/);
    expect(cli.code).toBe(0);
    await waitUntil(
      'nothing retained for dali_lamp_1',
      async () => (await retainedNow(deviceFilters('dali_lamp_1'))).size === 0,
      10_000,
    );
    const again = await runCli(['remove-device', 'dali_lamp_1']);
    expect(again.code).toBe(1);
    expect(again.output).toMatch(/unknown device "dali_lamp_1"/);
  }, 60_000);

  it('empties the retained topics of a device dropped from the config by a reload', async () => {
    expect((await retainedNow(deviceFilters('dropme'))).get(`${BASE}/dropme/availability`)).toBe('online');
    rig.config = configText(['keep']);
    rig.writeConfig();
    const answer = await request('config/reload', {});
    expect(answer?.status).toBe('ok');
    await waitUntil(
      'nothing retained for dropme',
      async () => (await retainedNow(deviceFilters('dropme'))).size === 0,
      10_000,
    );
    expect((await retainedNow(deviceFilters('keep'))).get(`${BASE}/keep/availability`)).toBe('online');
  }, 30_000);

  it('keeps a removed device removed after a restart', async () => {
    await rig.stop();
    const restarted = sub.messages.length;
    rig.start();
    await sub.waitFor(
      'keep online again',
      () =>
        sub.messages
          .slice(restarted)
          .some((m) => m.topic === `${BASE}/keep/availability` && m.payload === 'online'),
      30_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(sub.messages.slice(restarted).filter((m) => m.topic.startsWith(`${BASE}/dali_lamp_0`))).toEqual(
      [],
    );
    expect((await retainedNow(deviceFilters('dali_lamp_0'))).size).toBe(0);
  }, 60_000);

  it('says clearly when the gateway is not running', async () => {
    await rig.stop();
    const cli = await runCli(['remove-device', 'dali_lamp_2']);
    expect(cli.code).toBe(1);
    expect(cli.output).toMatch(/fieldbridge is not running \(nothing answers at http:\/\/127\.0\.0\.1:\d+/);
  }, 30_000);
});
