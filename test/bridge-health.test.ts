import { describe, expect, it } from 'vitest';
import { comingUp, type DeviceHealth, isFirstConnect, START_GRACE_MS } from '../src/bridge/health.js';
import { HealthReporter } from '../src/bridge/healthReporter.js';
import type { DeviceStatus } from '../src/machines/notices.js';
import type { OutboxStats } from '../src/persistence/index.js';
import { offlineBridge } from './helpers/offlineBridge.js';
import { persistenceFixture } from './helpers/persistenceFiles.js';

// bridge/health around a start, on a simulated clock: a start reads `starting`, then the real status,
// never offline → reconnecting → online; a real outage after the start is still reported as one. And
// the last run's unsent reports are dropped at start, so this run's report is the first delivered.

function rig(deviceIds: string[]) {
  let now = Date.parse('2026-01-01T12:00:00.000Z');
  const link = { online: false };
  const queue: OutboxStats = { depth: 0, bytes: 0, oldestAgeMs: 0, dropped: 0, published: 0 };
  // As the Bridge makes them: coming up for the grace period.
  const fresh = () => comingUp({ driver: 'simulated' }, now);
  const devices = new Map<string, DeviceHealth>(deviceIds.map((id) => [id, fresh()]));
  const statuses: string[] = [];
  const reporter = new HealthReporter({
    outbox: { stats: () => queue },
    link,
    inFlight: () => 0,
    devices,
    publish: (payload) => statuses.push(String(payload.status)),
    now: () => now,
  });
  /** What the Bridge does with a status notice. */
  const device = (id: string, status: DeviceStatus) => {
    const health = devices.get(id);
    if (health)
      Object.assign(health, { status, comingUpUntil: isFirstConnect(status) ? health.comingUpUntil : null });
    reporter.publishIfChanged();
  };
  /** What the Bridge does with a device a reload, a scan or a heard BLE sensor adds. */
  const add = (id: string) => {
    devices.set(id, fresh());
    reporter.publishIfChanged();
  };
  const linkUp = (queued = 0) => {
    link.online = true;
    queue.depth = queued;
    reporter.linkUp();
    reporter.publishIfChanged();
  };
  const advance = (ms: number) => {
    now += ms;
    reporter.publishIfChanged();
  };
  return { reporter, link, queue, statuses, device, add, linkUp, advance };
}

describe('HealthReporter at start', () => {
  it('keeps online while a device added after the start makes its first connect; counts it once it fails', () => {
    const r = rig(['a']);
    r.reporter.publish();
    r.linkUp();
    r.device('a', 'connected.healthy');
    r.add('found');
    r.device('found', 'connecting');
    r.advance(1_000);
    r.device('found', 'connected.healthy');
    expect(r.statuses).toEqual(['starting', 'online']);
    // Once connected, a disconnect is an outage again.
    r.device('found', 'disconnected');
    r.device('found', 'connected.healthy');
    // A first connect that takes longer than the grace is one too.
    r.add('silent');
    r.device('silent', 'connecting');
    r.advance(START_GRACE_MS);
    expect(r.statuses).toEqual(['starting', 'online', 'degraded', 'online', 'reconnecting']);
  });

  it('reports starting until the link and every device are up, then online: no offline/reconnecting flap', () => {
    const r = rig(['a', 'b']);
    r.reporter.publish();
    r.device('a', 'connecting');
    r.device('b', 'connecting');
    // What the start itself queued (info, devices, this report) is no outage backlog.
    r.linkUp(3);
    r.device('a', 'connected.healthy');
    r.queue.depth = 0;
    r.advance(250);
    expect(r.reporter.starting).toBe(true);
    r.device('b', 'connected.healthy');
    expect(r.statuses).toEqual(['starting', 'online']);
    expect(r.reporter.starting).toBe(false);
  });

  it('stops saying starting after the grace period, with what is really wrong', () => {
    const r = rig(['a', 'never']);
    r.reporter.publish();
    r.linkUp();
    r.device('a', 'connected.healthy');
    r.device('never', 'connecting');
    r.advance(START_GRACE_MS - 1);
    expect(r.statuses).toEqual(['starting']);
    expect(r.reporter.payload()).toMatchObject({
      health: { issues: ['starting: 1 of 2 devices connected so far'] },
    });
    r.advance(1);
    expect(r.statuses).toEqual(['starting', 'reconnecting']);
  });

  it('says offline when the broker was never reached within the grace period', () => {
    const r = rig(['a']);
    r.reporter.publish();
    r.device('a', 'connected.healthy');
    r.advance(START_GRACE_MS);
    expect(r.statuses).toEqual(['starting', 'offline']);
  });

  it('reports an outage after the start as one: offline, reconnecting while the backlog goes, online', () => {
    const r = rig(['a']);
    r.reporter.publish();
    r.linkUp();
    r.device('a', 'connected.healthy');
    r.link.online = false;
    r.reporter.publishIfChanged();
    r.linkUp(500);
    r.queue.depth = 0;
    r.advance(1_000);
    expect(r.statuses).toEqual(['starting', 'online', 'offline', 'reconnecting', 'online']);
  });
});

const { dbPath, open } = persistenceFixture();

describe('Bridge.start and the last run’s queue', () => {
  it('drops the last run’s unsent bridge/health reports, and nothing else', () => {
    const persistence = open({ path: dbPath() });
    const health = 'fieldbridge/bridge/health';
    const lastRun = [
      { topic: health, payload: '{"status":"online","uptime_s":900}', kind: 'event' as const },
      { topic: 'fieldbridge/lamp/reading', payload: '{"seq":7}', kind: 'reading' as const },
      { topic: health, payload: '{"status":"offline","uptime_s":960}', kind: 'event' as const },
      { topic: health, payload: '{"status":"offline","uptime_s":990}', kind: 'state' as const },
    ];
    for (const message of lastRun) persistence.outbox.enqueue({ ...message, qos: 1, retain: true });
    const bridge = offlineBridge(persistence);
    try {
      bridge.start();
      const queued = persistence.outbox.peek(1_000);
      const reports = queued
        .filter((message) => message.topic === health)
        .map((message) => JSON.parse(message.payload) as { status: string; uptime_s: number });
      expect(reports).toEqual([expect.objectContaining({ status: 'starting', uptime_s: 0 })]);
      expect(queued.filter((message) => message.topic === 'fieldbridge/lamp/reading')).toHaveLength(1);
    } finally {
      bridge.stop();
    }
  });
});
