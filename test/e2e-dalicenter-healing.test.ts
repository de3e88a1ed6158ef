import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { simulatedDaliCentersOf } from '../src/drivers/dalicenter/simulatedGateways.js';
import type { OpenContext } from '../src/drivers/contract.js';
import { SimulatedDaliCenter } from '../src/drivers/dalicenter/simulator/index.js';
import { parseConfig } from '../src/config/index.js';
import { runGateway } from '../src/gateway.js';
import { eventually } from './helpers/eventually.js';
import { Subscriber } from './helpers/gatewayRig.js';
import { describeWithMosquitto, Mosquitto } from './helpers/mosquitto.js';

// DALI Center healing end to end: the gateway process in this test's process (to reach the simulated
// gateways' faults), simulated DALI Center gateways and a real mosquitto. A gateway that reboots during
// commands, is unreachable at start, moves to another address, or refuses a stale login costs a short,
// logged, self-healed outage, and never the other gateways.

let broker: Mosquitto;
let dir: string;
let stop: AbortController | undefined;
let running: Promise<number> | undefined;
let runs = 0;
let base = 'heal';
const subscribers: Subscriber[] = [];
/** What the running gateway hands its bus openers: its simulated DALI Centers are kept there. */
let opened: OpenContext | undefined;
/** Puts a simulated gateway in place before the gateway opens its bus (a test that primes one). */
let prime: ((context: OpenContext) => void) | undefined;

const SERIALS = ['6A242121110E', '6A2421211101', '6A2421211102', '6A2421211103', '6A2421211104'];
const prefix = (serial: string) => `dalicenter_${serial.toLowerCase().slice(-6)}`;
const simulated = (serial: string) => {
  const found = opened && simulatedDaliCentersOf(opened).get(`dalicenter:simulated:${serial}`);
  if (!found) throw new Error(`no simulated gateway ${serial}`);
  return found;
};

/** The gateway's log file of this run. */
let logFile = '';
/** Every line the gateway logged so far. */
const logged = (): string[] => {
  try {
    return readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

async function start(devices: string[], ready: string[]): Promise<Subscriber> {
  runs += 1;
  base = `heal${runs}`;
  logFile = join(dir, `log-${runs}.log`);
  const sub = await Subscriber.start(broker.url, [`${base}/#`]);
  subscribers.push(sub);
  const config = parseConfig(
    [
      `mqtt: { server: ${broker.url}, base_topic: ${base} }`,
      `persistence: { path: ${join(dir, `db-${runs}`, 'fieldbridge.db')} }`,
      `logging: { level: info, repeat_summary_ms: 60000, file: { path: ${logFile} } }`,
      'devices:',
      ...devices.map((device) => `  - ${device}`),
      'device_defaults: { reconnect: { initial_ms: 500, max_ms: 2000, max_attempts: 3 } }',
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
    `${ready.join(', ')} online`,
    () => ready.every((id) => sub.on(`${base}/${id}/availability`).at(-1)?.payload === 'online'),
    20_000,
  );
  return sub;
}

const gatewayDevice = (serial: string) =>
  `{ id: gw_${serial.slice(-4).toLowerCase()}, driver: dalicenter, transport: simulated, serial: ${serial}, role: gateway }`;

const state = (sub: Subscriber, id: string) => sub.json<Record<string, unknown>>(`${base}/${id}`).at(-1);

async function answerOf(sub: Subscriber, id: string, transaction: string): Promise<Record<string, unknown>> {
  let found: Record<string, unknown> | undefined;
  await sub.waitFor(
    `the answer ${transaction}`,
    () =>
      (found = sub
        .json<Record<string, unknown>>(`${base}/${id}/response`)
        .find((answer) => answer.transaction === transaction)) !== undefined,
    20_000,
  );
  return found ?? {};
}

describeWithMosquitto('DALI Center healing: gateway ↔ simulated DALI Center gateways ↔ mosquitto', () => {
  beforeAll(async () => {
    broker = await Mosquitto.start();
    dir = mkdtempSync(join(tmpdir(), 'fieldbridge-e2e-dalicenter-heal-'));
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
    if (!process.env.KEEP_LOGS) rmSync(dir, { recursive: true, force: true });
  });

  it('a reboot during commands: every command answered, the lights back and restored within 1 s of the broker', async () => {
    const [serial] = SERIALS as [string];
    const light = `${prefix(serial)}_light_0`;
    const sub = await start([gatewayDevice(serial)], [light]);
    await sub.publish(
      `${base}/${light}/set`,
      JSON.stringify({ state: 'ON', brightness: 200, transaction: 'before' }),
    );
    expect(await answerOf(sub, light, 'before')).toMatchObject({ status: 'ok' });
    const gateway = simulated(serial);
    await gateway.reboot(2_500);
    // Commands while it is down: queued until it is back (or answered with an error), never dropped.
    for (const brightness of [50, 100, 150])
      await sub.publish(
        `${base}/${light}/set`,
        JSON.stringify({ brightness, transaction: `down-${brightness}` }),
      );
    // The gateway forgot its lights' levels while down (a power cut of its line).
    gateway.line.at(0, 0)!.light = { ...gateway.line.at(0, 0)!.light!, on: false, brightness: 0 };
    await gateway.whenUp();
    const up = Date.now();
    const requestsAtUp = gateway.requests.length;
    await eventually(
      () =>
        gateway.requests.slice(requestsAtUp).some((request) => request.cmd === 'writeDev') &&
        gateway.line.at(0, 0)?.light?.on === true,
      { what: 'the light restored', timeoutMs: 5_000, intervalMs: 10 },
    );
    const restoredAfterMs = Date.now() - up;
    expect(restoredAfterMs).toBeLessThan(1_000);
    for (const brightness of [50, 100, 150]) {
      const answer = await answerOf(sub, light, `down-${brightness}`);
      expect(['ok', 'error']).toContain(answer.status);
    }
    // The last command wins: the restore queued behind the commands carries what they asked for, not
    // the state before them. What is published is what the gateway reports it holds.
    await sub.waitFor('the last level', () => state(sub, light)?.brightness === 150, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(gateway.line.at(0, 0)?.light).toMatchObject({ on: true, brightness: 588 });
    expect(state(sub, light)).toMatchObject({ state: 'ON', brightness: 150 });
    console.info(`DALI Center reboot: restored ${restoredAfterMs} ms after the broker came back`);
  }, 60_000);

  it('a reboot of a gateway with many devices: one line when it goes, one when it is back, none per device', async () => {
    const [serial] = SERIALS as [string];
    const light = `${prefix(serial)}_light_0`;
    // Groups come last (they ask the gateway for their members first).
    const sub = await start(
      [gatewayDevice(serial)],
      [light, `${prefix(serial)}_panel_24`, `${prefix(serial)}_group_0`, `${prefix(serial)}_group_1`],
    );
    const devices = new Set(logged().flatMap((line) => /"ns":"(device\.[^"]+)"/.exec(line)?.[1] ?? []));
    expect(devices.size).toBeGreaterThan(10);
    const before = logged().length;
    const gateway = simulated(serial);
    await gateway.reboot(2_500);
    await gateway.whenUp();
    await sub.waitFor(
      'every device back',
      () =>
        [...devices].every(
          (ns) => sub.on(`${base}/${ns.slice('device.'.length)}/availability`).at(-1)?.payload === 'online',
        ),
      20_000,
    );
    const outage = logged()
      .slice(before)
      .map((line) => JSON.parse(line) as { ns: string; msg: string })
      .filter(
        (entry) =>
          entry.ns.startsWith('device.') ||
          entry.ns.startsWith('supervisor.') ||
          entry.ns.startsWith('dalicenter:'),
      );
    expect(outage.map((entry) => `${entry.ns}: ${entry.msg}`)).toEqual([
      `dalicenter:${serial}: lost the link to DALI Center gateway ${serial}: the connection closed`,
      expect.stringMatching(
        new RegExp(
          `^dalicenter:${serial}: DALI Center gateway ${serial} is back at 127\\.0\\.0\\.1:\\d+ after \\d+ failures? over`,
        ),
      ),
    ]);
  }, 60_000);

  it('unreachable at start: one log line, then quiet; the other gateway is unaffected', async () => {
    const [serial] = SERIALS as [string];
    const light = `${prefix(serial)}_light_0`;
    const sub = await start(
      [
        gatewayDevice(serial),
        '{ id: gw_away, driver: dalicenter, serial: 0A0B0C0D0E0F, role: gateway, host: 127.0.0.1, port: 9, username: u, password: p }',
      ],
      [light],
    );
    await sub.publish(`${base}/${light}/set`, JSON.stringify({ state: 'ON', transaction: 'other' }));
    expect(await answerOf(sub, light, 'other')).toMatchObject({ status: 'ok' });
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const unreachable = logged().filter((line) => line.includes('0A0B0C0D0E0F is unreachable'));
    expect(unreachable).toHaveLength(1);
    // Its device says nothing of it but that it started: the gateway's line is the one.
    const own = logged().filter((line) => line.includes('"ns":"device.gw_away"'));
    expect(own.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual([
      'disconnected → connecting (start)',
    ]);
    expect(sub.on(`${base}/gw_away/availability`).at(-1)?.payload).not.toBe('online');
  }, 60_000);

  it('an IP change is healed by rediscovery', async () => {
    const [serial] = SERIALS as [string];
    const light = `${prefix(serial)}_light_0`;
    const sub = await start([gatewayDevice(serial)], [light]);
    const gateway = simulated(serial);
    const before = gateway.mqttPort;
    await gateway.changeAddress({ port: 0 });
    expect(gateway.mqttPort).not.toBe(before);
    await sub.waitFor(
      'the light offline',
      () => sub.on(`${base}/${light}/availability`).at(-1)?.payload !== 'online',
      10_000,
    );
    await sub.waitFor(
      'the light back',
      () => sub.on(`${base}/${light}/availability`).at(-1)?.payload === 'online',
      45_000,
    );
    expect(logged().some((line) => line.includes(`found at 127.0.0.1:${gateway.mqttPort}`))).toBe(true);
    await sub.publish(
      `${base}/${light}/set`,
      JSON.stringify({ state: 'ON', brightness: 10, transaction: 'moved' }),
    );
    expect(await answerOf(sub, light, 'moved')).toMatchObject({ status: 'ok' });
  }, 60_000);

  it('five gateways, one refusing its login: one clear line to pair again, the other four work', async () => {
    const lights = SERIALS.map((serial) => `${prefix(serial)}_light_0`);
    const sub = await start(SERIALS.map(gatewayDevice), lights);
    const failing = SERIALS[4] as string;
    simulated(failing).changeCredentials({ username: 'admin', password: 'reset-by-the-installer' });
    await sub.waitFor(
      'the failing gateway offline',
      () => sub.on(`${base}/${lights[4]}/availability`).at(-1)?.payload !== 'online',
      10_000,
    );
    for (const [index, light] of lights.slice(0, 4).entries()) {
      await sub.publish(`${base}/${light}/set`, JSON.stringify({ state: 'ON', transaction: `gw${index}` }));
      expect(await answerOf(sub, light, `gw${index}`)).toMatchObject({ status: 'ok' });
    }
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    // The driver says it once; its devices' transitions carry the reason at debug only.
    const refusals = logged().filter(
      (line) => line.includes(`"ns":"dalicenter:${failing}"`) && line.includes('refused the login'),
    );
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toContain('pair it again');
    // Not asked again while the refusal holds: one refused login, not one per device and retry.
    expect(simulated(failing).refusedLogins).toBe(1);
  }, 60_000);

  it('garbage from the gateway is logged once per kind and ignored; the lights keep working', async () => {
    const [serial] = SERIALS as [string];
    const light = `${prefix(serial)}_light_0`;
    const sub = await start([gatewayDevice(serial)], [light]);
    const gateway = simulated(serial);
    for (let round = 0; round < 3; round++) {
      await gateway.injectInvalidUtf8();
      await gateway.injectUnknownMessage();
      await gateway.injectRaw('not json');
      await gateway.injectRaw('[1,2,3]');
      await gateway.injectRaw(
        JSON.stringify({
          cmd: 'devStatus',
          gwSn: serial,
          data: { devType: '0101', channel: 0, address: 0, property: [{ dpid: 22, value: 5000 }] },
        }),
      );
    }
    await sub.publish(
      `${base}/${light}/set`,
      JSON.stringify({ state: 'ON', brightness: 77, transaction: 'after' }),
    );
    expect(await answerOf(sub, light, 'after')).toMatchObject({ status: 'ok' });
    const ignored = logged().filter((line) => line.includes(`${serial}: ignored`));
    for (const kind of ['invalid_utf8', 'unknown_cmd', 'not_json', 'not_object', 'out_of_range'])
      expect(
        ignored.filter((line) => line.includes(`ignored ${kind}`)),
        kind,
      ).toHaveLength(1);
    // Nothing out of range was published.
    expect(
      sub
        .json<Record<string, unknown>>(`${base}/${light}`)
        .every((s) => typeof s.brightness !== 'number' || s.brightness <= 255),
    ).toBe(true);
  }, 60_000);

  it('a connection reset in the middle of the device list: read again when the gateway is back', async () => {
    const [serial] = SERIALS as [string];
    // The simulated gateway is there before the gateway process starts, primed to cut its 3rd report.
    const early = new SimulatedDaliCenter({ serial, discovery: false, searchChunkSize: 2 });
    await early.start();
    early.resetAfterReports(3);
    prime = (context) => simulatedDaliCentersOf(context).set(`dalicenter:simulated:${serial}`, early);
    try {
      await start([gatewayDevice(serial)], [`${prefix(serial)}_light_0`, `${prefix(serial)}_panel_24`]);
      expect(logged().some((line) => line.includes('lost the link') || line.includes('failed'))).toBe(true);
    } finally {
      await early.stop();
    }
  }, 60_000);

  it('a silent broker (open but mute) is noticed by the keepalive and healed', async () => {
    const [serial] = SERIALS as [string];
    const light = `${prefix(serial)}_light_0`;
    const sub = await start([gatewayDevice(serial)], [light]);
    const gateway = simulated(serial);
    gateway.silence(true);
    await sub.waitFor(
      'the light offline',
      () => sub.on(`${base}/${light}/availability`).at(-1)?.payload !== 'online',
      30_000,
    );
    gateway.silence(false);
    await sub.waitFor(
      'the light back',
      () => sub.on(`${base}/${light}/availability`).at(-1)?.payload === 'online',
      30_000,
    );
    await sub.publish(`${base}/${light}/set`, JSON.stringify({ state: 'ON', transaction: 'after-silence' }));
    expect(await answerOf(sub, light, 'after-silence')).toMatchObject({ status: 'ok' });
  }, 90_000);
});
