import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { socatAvailable } from '../src/drivers/mbus/simulator/pty.js';
import { MbusSimulator } from '../src/drivers/mbus/simulator/simulator.js';
import { GatewayRig, gapsIn, readingSeqs, Subscriber } from './helpers/gatewayRig.js';
import { describeWithMosquitto, Mosquitto } from './helpers/mosquitto.js';

// M-Bus end to end: the gateway process opens one end of a socat pty pair, the meter simulator serves
// the other, mosquitto carries the results. Nothing here knows it is not a USB level converter.

const HAVE_SOCAT = socatAvailable();
if (!HAVE_SOCAT)
  console.warn('skipping the M-Bus end-to-end tests: socat is not installed (apt-get install -y socat)');

let broker: Mosquitto;
let dir: string;
let simulator: MbusSimulator;
const rigs: GatewayRig[] = [];
const subscribers: Subscriber[] = [];

const METERS = ['mbus_12340001', 'mbus_12340002', 'mbus_12340003'];

function rig(): GatewayRig {
  const created = new GatewayRig(
    [
      `mqtt: { server: ${broker.url}, base_topic: fb }`,
      'logging: { format: json, level: info }',
      'health: { interval_ms: 500, state_refresh_ms: 60000 }',
      'mbus:',
      `  - { port: ${simulator.link}, baud: 38400, scan_on_start: never, poll_interval_ms: 300 }`,
      'device_defaults: { reconnect: { initial_ms: 500, max_ms: 2000 } }',
    ].join('\n'),
  );
  rigs.push(created);
  return created;
}

async function subscribe(filters: string[]): Promise<Subscriber> {
  const subscriber = await Subscriber.start(broker.url, filters);
  subscribers.push(subscriber);
  return subscriber;
}

async function scanned(gateway: GatewayRig, sub: Subscriber): Promise<Record<string, unknown>> {
  gateway.start();
  await sub.waitFor(
    'bridge online',
    () => sub.on('fb/bridge/state').at(-1)?.payload === '{"state":"online"}',
  );
  await sub.publish(
    'fb/bridge/request/scan',
    JSON.stringify({ driver: 'mbus', mode: 'primary', to: 5, transaction: 1 }),
  );
  await sub.waitFor('the scan answer', () => sub.on('fb/bridge/response/scan').length > 0, 30_000);
  return sub.json('fb/bridge/response/scan')[0] as Record<string, unknown>;
}

const availability = (sub: Subscriber, id: string) => sub.on(`fb/${id}/availability`).at(-1)?.payload;

describeWithMosquitto('M-Bus: gateway ↔ simulated meters on a pty ↔ mosquitto', () => {
  beforeAll(async () => {
    broker = await Mosquitto.start();
    dir = mkdtempSync(join(tmpdir(), 'fieldbridge-e2e-mbus-'));
  });
  beforeEach(async (context) => {
    if (!HAVE_SOCAT) context.skip();
    simulator = new MbusSimulator({
      link: join(dir, `tty${Math.random().toString(36).slice(2, 8)}`),
      fast: true,
      seed: 3,
      baud: 38_400,
    });
    await simulator.start();
  });
  afterEach(async () => {
    for (const subscriber of subscribers.splice(0)) await subscriber.close().catch(() => {});
    for (const created of rigs.splice(0)) await created.stop('SIGKILL');
    await simulator?.stop();
  });
  afterAll(async () => {
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('scan finds the meters; they publish readings and Home Assistant discovery; a dead meter opens its breaker while the others go on', async () => {
    const sub = await subscribe(['fb/#', 'homeassistant/sensor/#']);
    const answer = await scanned(rig(), sub);
    expect(answer).toMatchObject({ status: 'ok', transaction: 1, data: { added: METERS } });
    for (const id of METERS) {
      await sub.waitFor(`readings of ${id}`, () => readingSeqs(sub, `fb/${id}/reading`).length >= 2);
    }
    const reading = sub.json<{ meter: { id: string }; records: { unit: string; quantity: string }[] }>(
      'fb/mbus_12340001/reading',
    )[0];
    expect(reading?.meter.id).toBe('12340001');
    expect(reading?.records.some((record) => record.quantity === 'Energy' && record.unit === 'Wh')).toBe(
      true,
    );
    await sub.waitFor('discovery of the heat meter energy', () =>
      sub.messages.some(
        (m) =>
          m.topic.startsWith('homeassistant/sensor/fieldbridge_mbus_12340001/') &&
          m.payload.includes('"device_class":"energy"'),
      ),
    );
    const energy = sub.messages.find(
      (m) =>
        m.topic.startsWith('homeassistant/sensor/fieldbridge_mbus_12340001/') &&
        m.payload.includes('"device_class":"energy"'),
    );
    expect(JSON.parse(energy?.payload ?? '{}')).toMatchObject({
      state_class: 'total_increasing',
      unit_of_measurement: 'Wh',
      expire_after: 90,
      device: { manufacturer: expect.any(String) },
    });

    simulator.setMeterAlive(2, false);
    const deadAt = sub.messages.length;
    await sub.waitFor(
      'meter 2 offline in HA',
      () => availability(sub, 'mbus_12340002') === 'offline',
      20_000,
    );
    const othersSince = (id: string) =>
      sub.messages.slice(deadAt).filter((m) => m.topic === `fb/${id}/reading`).length;
    expect(othersSince('mbus_12340001')).toBeGreaterThan(3);
    expect(othersSince('mbus_12340003')).toBeGreaterThan(3);
    simulator.setMeterAlive(2, true);
    await sub.waitFor('meter 2 back', () => availability(sub, 'mbus_12340002') === 'online', 20_000);
  }, 90_000);

  it('unplugged for 10 s: meters go offline, and are back within 1 s of the replug', async () => {
    const sub = await subscribe(['fb/#']);
    const answer = await scanned(rig(), sub);
    expect(answer).toMatchObject({ status: 'ok' });
    for (const id of METERS)
      await sub.waitFor(`readings of ${id}`, () => readingSeqs(sub, `fb/${id}/reading`).length >= 1);
    await simulator.unplug();
    for (const id of METERS)
      await sub.waitFor(`${id} offline`, () => availability(sub, id) === 'offline', 5_000);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    // The replug is the moment the converter's port is back (socat has made the pty and its link).
    await simulator.replug();
    const replugged = Date.now();
    for (const id of METERS)
      await sub.waitFor(`${id} online`, () => availability(sub, id) === 'online', 5_000);
    const back = Math.max(...METERS.map((id) => sub.on(`fb/${id}/availability`).at(-1)?.at ?? Infinity));
    console.log(`M-Bus replug: all meters back ${back - replugged} ms after the port returned`);
    expect(back - replugged).toBeLessThan(1_000);
    for (const id of METERS) expect(gapsIn(readingSeqs(sub, `fb/${id}/reading`))).toEqual([]);
  }, 60_000);

  it('loses no reading across a broker restart and a gateway SIGKILL; found meters are remembered', async () => {
    const sub = await subscribe(['fb/+/reading', 'fb/bridge/state', 'fb/bridge/response/scan']);
    const gateway = rig();
    await scanned(gateway, sub);
    await sub.waitFor('readings', () => readingSeqs(sub, 'fb/mbus_12340001/reading').length >= 3);
    await broker.kill();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await broker.restart();
    await gateway.stop('SIGKILL');
    gateway.start(); // no scan this time: the meters found before come back from the database
    const before = readingSeqs(sub, 'fb/mbus_12340001/reading').length;
    await sub.waitFor(
      'readings after the restarts',
      () => readingSeqs(sub, 'fb/mbus_12340001/reading').length >= before + 10,
      30_000,
    );
    for (const id of METERS) {
      const seqs = readingSeqs(sub, `fb/${id}/reading`);
      expect(gapsIn(seqs), `${id}: ${seqs.join(',')}`).toEqual([]);
    }
  }, 90_000);
});
