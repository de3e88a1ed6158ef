import { describe, expect, it } from 'vitest';
import { NoticeBus } from '../src/gateway/noticeBus.js';
import type { GatewayNotice } from '../src/machines/notices.js';
import { captureLogs } from '../src/logging/index.js';

const status = (deviceId: string): GatewayNotice => ({
  type: 'device.status',
  deviceId,
  busId: 'mbus:test',
  status: 'connected.healthy',
  reason: 'test',
  attempts: 0,
  consecutiveFailures: 0,
  lastError: null,
  lastSuccessAt: null,
  nextAttemptAt: null,
  at: 0,
});
const escalated: GatewayNotice = { type: 'supervisor.escalated', busId: 'mbus:test', reason: 'test', at: 0 };

describe('the notice bus', () => {
  it('hands each notice to the listeners of its type and to those of every type, in subscription order', () => {
    const bus = new NoticeBus();
    const heard: string[] = [];
    bus.onAny('all', (notice) => heard.push(`all:${notice.type}`));
    bus.on('device.status', 'status', (notice) => heard.push(`status:${notice.deviceId}`));
    bus.on('supervisor.escalated', 'escalations', (notice) => heard.push(`escalated:${notice.busId}`));
    bus.publish(status('heat1'));
    bus.publish(escalated);
    expect(heard).toEqual([
      'all:device.status',
      'status:heat1',
      'all:supervisor.escalated',
      'escalated:mbus:test',
    ]);
  });

  it('keeps giving the notice to later listeners when one throws, and logs that once per listener', () => {
    const logs = captureLogs();
    try {
      const bus = new NoticeBus();
      const later: string[] = [];
      bus.onAny('notice log', () => {
        throw new Error('the log broke');
      });
      bus.onAny('bridge', (notice) => later.push(notice.type));
      bus.on('device.status', 'HTTP server', (notice) => later.push(notice.deviceId));
      bus.publish(status('heat1'));
      bus.publish(status('heat2'));
      expect(later).toEqual(['device.status', 'heat1', 'device.status', 'heat2']);
      expect(bus.failures()).toEqual({ 'notice log': 2 });
      const lines = logs.entries.filter((entry) => entry.msg.includes('the notice log failed'));
      expect(lines).toHaveLength(1);
      expect(lines[0]?.msg).toMatch(/on a device\.status notice .*the log broke/);
    } finally {
      logs.stop();
    }
  });

  it('stops handing notices to a listener once it unsubscribed', () => {
    const bus = new NoticeBus();
    const heard: string[] = [];
    const off = bus.onAny('all', (notice) => heard.push(notice.type));
    bus.publish(escalated);
    off();
    bus.publish(escalated);
    expect(heard).toEqual(['supervisor.escalated']);
  });
});
