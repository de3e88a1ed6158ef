import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeWithMosquitto, Mosquitto } from './helpers/mosquitto.js';
import { GatewayRig, gapsIn, readingSeqs, Subscriber } from './helpers/gatewayRig.js';

// The gateway as a separate process against a real mosquitto that the tests kill and restart.

let broker: Mosquitto;
const rigs: GatewayRig[] = [];
const subscribers: Subscriber[] = [];

function rig(devices: string, extra = ''): GatewayRig {
  const created = new GatewayRig(
    [
      `mqtt: { server: ${broker.url}, base_topic: fb }`,
      'logging: { format: json, level: info }',
      'health: { interval_ms: 500, state_refresh_ms: 60000 }',
      extra,
      'devices:',
      devices,
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

interface HealthReport {
  status: string;
  timestamp: string;
  uptime_s: number;
}

/** The bridge/health reports delivered live (not a retained copy handed out on subscribing), in order. */
function liveHealth(subscriber: Subscriber): HealthReport[] {
  return subscriber
    .on('fb/bridge/health')
    .filter((message) => !message.retain)
    .map((message) => JSON.parse(message.payload) as HealthReport);
}

/** The statuses up to and including the first `online`. */
function statusesUntilOnline(reports: readonly HealthReport[]): string[] {
  const statuses = reports.map((report) => report.status);
  return statuses.slice(0, statuses.indexOf('online') + 1);
}

const TWO_DEVICES = [
  '  - { id: h1, driver: simulated, poll_interval_ms: 1000 }',
  '  - { id: h2, driver: mbus, transport: simulated, poll_interval_ms: 1000 }',
].join('\n');

describeWithMosquitto('gateway ↔ mosquitto', () => {
  beforeAll(async () => {
    broker = await Mosquitto.start();
  });
  afterEach(async () => {
    for (const subscriber of subscribers.splice(0)) await subscriber.close().catch(() => {});
    for (const created of rigs.splice(0)) await created.stop('SIGKILL');
  });
  afterAll(async () => {
    await broker.dispose();
  });

  it('loses no reading while the broker is down for 10 s, and reports it on bridge/state and bridge/health', async () => {
    const gateway = rig(
      [
        '  - { id: s1, driver: simulated, poll_interval_ms: 100 }',
        '  - { id: s2, driver: simulated, poll_interval_ms: 150 }',
      ].join('\n'),
    );
    const sub = await subscribe(['fb/+/reading', 'fb/bridge/state', 'fb/bridge/health']);
    gateway.start();
    await sub.waitFor(
      'readings of both devices',
      () => readingSeqs(sub, 'fb/s1/reading').length > 5 && readingSeqs(sub, 'fb/s2/reading').length > 5,
    );
    await broker.kill();
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const healthBefore = sub.messages.length;
    await broker.restart();
    await sub.waitFor(
      'bridge/state online again',
      () => sub.on('fb/bridge/state').some((m, i) => i > 0 && m.payload.includes('online')),
      20_000,
    );
    // The backlog of 10 s is drained, then new readings keep coming.
    await sub.waitFor(
      'the backlog drained',
      () => readingSeqs(sub, 'fb/s1/reading').length > 100 + 10,
      20_000,
    );
    for (const device of ['s1', 's2']) {
      const seqs = readingSeqs(sub, `fb/${device}/reading`);
      expect(gapsIn(seqs), `${device}: ${seqs.length} readings`).toEqual([]);
    }
    // While the broker was away the status went offline (queued, as every change is), then
    // reconnecting while the backlog was sent, then online.
    const healthAfterRestart = () =>
      sub.messages
        .slice(healthBefore)
        .filter((m) => m.topic === 'fb/bridge/health')
        .map((m) => (JSON.parse(m.payload) as { status: string }).status);
    await sub.waitFor('health: reconnecting, then online', () => {
      const statuses = healthAfterRestart();
      const reconnecting = statuses.indexOf('reconnecting');
      return reconnecting >= 0 && statuses.slice(reconnecting).includes('online');
    });
    expect(healthAfterRestart().indexOf('offline')).toBeLessThan(
      healthAfterRestart().indexOf('reconnecting'),
    );
  }, 60_000);

  it('survives a SIGKILL: the Last Will says offline, no reading is lost, last states come back marked stale', async () => {
    const gateway = rig('  - { id: k1, driver: simulated, poll_interval_ms: 50 }');
    const sub = await subscribe(['fb/k1/reading', 'fb/bridge/state', 'fb/k1']);
    gateway.start();
    await sub.waitFor('readings', () => readingSeqs(sub, 'fb/k1/reading').length > 20);
    await gateway.stop('SIGKILL');
    await sub.waitFor(
      'the Last Will',
      () => sub.on('fb/bridge/state').at(-1)?.payload === '{"state":"offline"}',
      10_000,
    );
    const beforeRestart = sub.messages.length;
    gateway.start();
    await sub.waitFor(
      'online again',
      () => sub.on('fb/bridge/state').at(-1)?.payload === '{"state":"online"}',
    );
    await sub.waitFor('new readings', () => readingSeqs(sub, 'fb/k1/reading').length > 60);
    const seqs = readingSeqs(sub, 'fb/k1/reading');
    expect(gapsIn(seqs)).toEqual([]);
    const statesAfter = sub.messages
      .slice(beforeRestart)
      .filter((m) => m.topic === 'fb/k1')
      .map((m) => JSON.parse(m.payload));
    expect(statesAfter[0]).toMatchObject({ stale: true });
    expect(statesAfter.at(-1)?.stale).toBeUndefined();
  }, 60_000);

  it('announces every device’s availability and state again after a broker restart that lost them, with no device changing', async () => {
    const devices = ['r1', 'r2'];
    // One reading each, at connect; the next poll and the next state refresh are far beyond the test.
    const gateway = rig(
      devices.map((id) => `  - { id: ${id}, driver: simulated, poll_interval_ms: 600000 }`).join('\n'),
    );
    const retainedTopics = devices.flatMap((id) => [`fb/${id}`, `fb/${id}/availability`]);
    const everyDeviceAnnounced = (sub: Subscriber, retained: boolean) =>
      devices.every(
        (id) =>
          sub.on(`fb/${id}/availability`).some((m) => m.payload === 'online' && (m.retain || !retained)) &&
          sub.on(`fb/${id}`).some((m) => m.retain || !retained),
      );
    const sub = await subscribe(['fb/bridge/state', 'fb/+/reading', ...retainedTopics]);
    gateway.start();
    await sub.waitFor('each device read, online, with its state', () => everyDeviceAnnounced(sub, false));
    const statesBefore = sub.on('fb/bridge/state').length;
    await broker.kill();
    // Started again empty: no persistence, so no retained message survives.
    await broker.restart();
    await sub.waitFor(
      'the gateway back on the new broker',
      () =>
        sub
          .on('fb/bridge/state')
          .slice(statesBefore)
          .some((m) => m.payload === '{"state":"online"}'),
      30_000,
    );
    const fresh = await subscribe(retainedTopics);
    await fresh.waitFor('every availability and state', () => everyDeviceAnnounced(fresh, false), 5_000);
    // And the broker holds them: a consumer subscribing later gets them as retained messages.
    const late = await subscribe(retainedTopics);
    await late.waitFor(
      'every retained availability and state',
      () => everyDeviceAnnounced(late, true),
      2_000,
    );
    for (const id of devices) {
      const state = late.json<{ temperature?: number; stale?: boolean }>(`fb/${id}`).at(-1);
      expect(typeof state?.temperature, id).toBe('number');
      expect(state?.stale, id).toBeUndefined();
      // Nothing changed on the device side: its only reading is the one taken at connect.
      expect(readingSeqs(sub, `fb/${id}/reading`), id).toEqual([1]);
    }
  }, 60_000);

  it('bridge/health on start goes straight to online (no offline/reconnecting flap), and never delivers the previous run’s report first', async () => {
    const gateway = rig(TWO_DEVICES, 'http: { enabled: false }');
    const first = await subscribe(['fb/bridge/health']);
    gateway.start();
    await first.waitFor('the first run online', () =>
      liveHealth(first).some((report) => report.status === 'online'),
    );
    expect(statusesUntilOnline(liveHealth(first)).filter((status) => status !== 'starting')).toEqual([
      'online',
    ]);

    // The broker goes away: the reports of this run wait in the outbox, and the run ends before it is
    // back, so they are still queued when the next run starts.
    await broker.kill();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await gateway.stop('SIGTERM');
    await broker.restart();

    const second = await subscribe(['fb/bridge/health']);
    const restartedAt = Date.now();
    gateway.start();
    await second.waitFor('the second run online', () =>
      liveHealth(second).some((report) => report.status === 'online'),
    );
    const reports = liveHealth(second);
    // Every report delivered is this run's: made after it started.
    expect(reports.map((report) => Date.parse(report.timestamp) >= restartedAt - 1_000)).not.toContain(false);
    expect(reports[0]?.uptime_s).toBeLessThanOrEqual(1);
    expect(statusesUntilOnline(reports).filter((status) => status !== 'starting')).toEqual(['online']);
  }, 60_000);

  it('publishes bridge/info and bridge/devices again after a broker restart that lost every retained message', async () => {
    const gateway = rig(TWO_DEVICES, 'http: { enabled: false }');
    const states = await subscribe(['fb/bridge/state']);
    gateway.start();
    const late = await subscribe(['fb/bridge/info', 'fb/bridge/devices']);
    await late.waitFor('info and devices', () =>
      ['fb/bridge/info', 'fb/bridge/devices'].every((topic) => late.on(topic).length > 0),
    );
    // Acknowledged and gone from the outbox: nothing of them is left to send again after the restart.
    const health = await subscribe(['fb/bridge/health']);
    await health.waitFor('an empty queue', () =>
      health
        .json<{ queue: { depth: number } }>('fb/bridge/health')
        .some((report) => report.queue.depth === 0),
    );
    const onlineBefore = states.on('fb/bridge/state').length;
    await broker.kill();
    // Started again empty: no persistence, so no retained message survives.
    await broker.restart();
    await states.waitFor(
      'the gateway back on the new broker',
      () =>
        states
          .on('fb/bridge/state')
          .slice(onlineBefore)
          .some((message) => message.payload === '{"state":"online"}'),
      30_000,
    );
    const bridgeTopics = ['fb/bridge/info', 'fb/bridge/devices', 'fb/bridge/health'];
    // Published after this subscription they arrive live, where the broker clears the retain flag; so
    // first wait for them in any form, then a client that subscribes later must be handed them retained.
    const live = await subscribe(bridgeTopics);
    await live.waitFor(
      'info, devices and health on the new broker',
      () => bridgeTopics.every((topic) => live.on(topic).length > 0),
      15_000,
    );
    const fresh = await subscribe(bridgeTopics);
    await fresh.waitFor(
      'retained info, devices and health',
      () => bridgeTopics.every((topic) => fresh.on(topic).some((message) => message.retain)),
      5_000,
    );
    const devices = fresh.json<{ id: string }[]>('fb/bridge/devices').at(-1);
    expect(devices?.map((device) => device.id)).toEqual(['h1', 'h2']);
    expect(fresh.json<{ version?: string }>('fb/bridge/info').at(-1)?.version).toEqual(expect.any(String));
  }, 60_000);

  it('announces Home Assistant discovery, republishes it on HA birth, removes entities that are gone', async () => {
    const first = rig(
      ['  - { id: ha1, driver: simulated }', '  - { id: ha2, driver: simulated }'].join('\n'),
    );
    const sub = await subscribe(['homeassistant/+/+/+/config']);
    first.start();
    await sub.waitFor(
      'discovery of both devices',
      () => sub.messages.filter((m) => m.topic.includes('fieldbridge_ha2')).length >= 4,
    );
    const light = sub.json('homeassistant/light/fieldbridge_ha1/light/config')[0];
    expect(light).toMatchObject({ schema: 'json', command_topic: 'fb/ha1/set', brightness_scale: 254 });
    const count = sub.messages.length;
    await sub.publish('homeassistant/status', 'online');
    await sub.waitFor('republished after HA birth', () => sub.messages.length >= count + 11);
    await first.stop();
    const second = rig('  - { id: ha1, driver: simulated }');
    second.start();
    await sub.waitFor('ha2 removed', () =>
      sub.on('homeassistant/sensor/fieldbridge_ha2/temperature/config').some((m) => m.payload === ''),
    );
    for (const entity of [
      'sensor/fieldbridge_ha2/humidity',
      'sensor/fieldbridge_ha2/energy',
      'light/fieldbridge_ha2/light',
    ]) {
      await sub.waitFor(`${entity} removed`, () =>
        sub.on(`homeassistant/${entity}/config`).some((m) => m.payload === ''),
      );
    }
  }, 60_000);

  it('answers every bad command with an error naming the problem, and keeps working', async () => {
    const gateway = rig('  - { id: c1, driver: simulated }');
    const sub = await subscribe(['fb/+/response', 'fb/bridge/response/#', 'fb/c1']);
    gateway.start();
    await sub.waitFor('the device state', () => sub.on('fb/c1').length > 0);
    const bad: [string, string, RegExp][] = [
      ['fb/c1/set', '{"brightness":', /^malformed JSON/],
      ['fb/c1/set', '{"brightness":"high"}', /^brightness: /],
      ['fb/c1/set', '{"brightness":999}', /^brightness: Too big/],
      ['fb/c1/set', '{"colour":"red"}', /unknown field "colour"/],
      ['fb/nobody/set', '{"state":"ON"}', /unknown device "nobody"/],
      ['fb/c1/set', `{"state":"${'x'.repeat(70_000)}"}`, /larger than the 65536 allowed/],
      ['fb/bridge/request/device/restart', '{"id":42}', /^id: /],
      ['fb/bridge/request/device/restart', '{"id":"ghost"}', /unknown device "ghost"/],
      ['fb/bridge/request/frobnicate', '{}', /unknown request "frobnicate"/],
      ['fb/bridge/request/health_check', 'not json', /^malformed JSON/],
    ];
    for (const [topic, payload] of bad) await sub.publish(topic, payload);
    await sub.waitFor(
      'every error answered',
      () => sub.messages.filter((m) => m.topic.includes('response')).length >= bad.length,
    );
    const errors = sub.messages
      .filter((m) => m.topic.includes('response'))
      .map((m) => JSON.parse(m.payload) as { status: string; error: string });
    for (const [, , pattern] of bad) {
      expect(
        errors.some((e) => e.status === 'error' && pattern.test(e.error)),
        String(pattern),
      ).toBe(true);
    }
    await sub.publish('fb/c1/set', '{"state":"ON","brightness":77,"transaction":"ok1"}');
    await sub.waitFor('the good command answered', () =>
      sub.on('fb/c1/response').some((m) => m.payload.includes('"ok1"')),
    );
    expect(
      JSON.parse(sub.on('fb/c1/response').find((m) => m.payload.includes('"ok1"'))?.payload ?? '{}'),
    ).toEqual({
      status: 'ok',
      data: { state: 'ON', brightness: 77 },
      transaction: 'ok1',
    });
    await sub.waitFor('the state shows it', () =>
      sub.json<{ brightness?: number }>('fb/c1').some((s) => s.brightness === 77),
    );
    expect(gateway.gateway?.child.exitCode).toBeNull();
  }, 60_000);
});
