import { afterEach, describe, expect, it } from 'vitest';
import { NoticeLog } from '../src/gateway/noticeLog.js';
import { captureLogs, type LogCapture } from '../src/logging/index.js';
import type { DeviceStatusNotice, GatewayNotice } from '../src/machines/notices.js';

let logs: LogCapture | undefined;
afterEach(() => logs?.stop());

const recovery = (step: string, at: number): GatewayNotice => ({
  type: 'supervisor.recovery',
  busId: 'mbus:/dev/ttyUSB0',
  deviceId: 'dead1',
  step,
  outcome: 'started',
  detail: 'gave up after 5 attempts',
  at,
});

describe('notice log', () => {
  it('logs a device that keeps climbing its ladder once, summarises it, and closes it when healthy', () => {
    logs = captureLogs({ repeatSummaryMs: 60_000 });
    let now = 0;
    const log = new NoticeLog(() => now);
    for (let i = 0; i < 30; i++) {
      now = i * 10_000;
      log.handle(recovery(i === 0 ? 'reopen' : 'restart_actor', now));
      log.handle({
        type: 'supervisor.restart',
        busId: 'mbus:/dev/ttyUSB0',
        actorId: 'dead1',
        reason: 'recovery step restart_actor',
        delayMs: 1_000,
        at: now,
      });
    }
    const supervisorLines = logs.entries
      .filter((e) => e.ns === 'supervisor.mbus:/dev/ttyUSB0')
      .map((e) => e.msg);
    // 2 first lines (recovery, restart) and a few summaries over 5 minutes, not 60 lines.
    expect(supervisorLines.length).toBeLessThanOrEqual(12);
    expect(supervisorLines[0]).toBe('recovery of dead1: reopen started (gave up after 5 attempts)');
    expect(supervisorLines.some((line) => line.startsWith('recovery of dead1 still going after'))).toBe(true);
    log.handle({
      type: 'device.status',
      deviceId: 'dead1',
      busId: 'mbus:/dev/ttyUSB0',
      status: 'connected.healthy',
      reason: 'connect succeeded',
      attempts: 0,
      consecutiveFailures: 0,
      lastError: null,
      lastSuccessAt: now,
      nextAttemptAt: null,
      at: now,
    });
    const closing = logs.entries.map((e) => e.msg).filter((msg) => msg.includes('ended: it is healthy'));
    expect(closing).toHaveLength(1);
  });
});

describe("notice log: an outage of a bus's shared link", () => {
  const status = (
    deviceId: string,
    status: DeviceStatusNotice['status'],
    busLinkDown: boolean,
    reason = 'link lost: DALI Center gateway 6A24: the connection closed',
  ): GatewayNotice => ({
    type: 'device.status',
    deviceId,
    busId: 'dalicenter:6A24',
    status,
    reason,
    attempts: 0,
    consecutiveFailures: 0,
    lastError: null,
    lastSuccessAt: null,
    nextAttemptAt: null,
    ...(busLinkDown ? { busLinkDown: true as const } : {}),
    at: 0,
  });
  const devices = ['light_0', 'light_1', 'panel_22', 'motion_10'];

  it("is not logged by each device: the bus's runtime says it once", () => {
    logs = captureLogs({ repeatSummaryMs: 60_000 });
    const log = new NoticeLog(() => 0);
    for (const id of devices) log.handle(status(id, 'connected.healthy', false, 'connect succeeded'));
    logs.clear();
    for (const id of devices) log.handle(status(id, 'reconnecting', true));
    for (const id of devices) log.handle(status(id, 'connecting', true, 'retry'));
    for (const id of devices) log.handle(status(id, 'offline', true, 'gave up after 3 attempts'));
    for (const id of devices)
      log.handle({
        type: 'supervisor.recovery',
        busId: 'dalicenter:6A24',
        deviceId: id,
        step: 'reconnect',
        outcome: 'started',
        detail: 'gave up after 3 attempts',
        at: 0,
      });
    // The ladder's restart_actor: a new actor starts from disconnected.
    for (const id of devices) log.handle(status(id, 'connecting', false, 'start'));
    for (const id of devices) log.handle(status(id, 'connected.healthy', false, 'connect succeeded'));
    expect(logs.entries.filter((entry) => entry.level !== 'debug').map((entry) => entry.msg)).toEqual([]);
  });

  it('a device that then fails on its own is logged, and so is its recovery', () => {
    logs = captureLogs({ repeatSummaryMs: 60_000 });
    const log = new NoticeLog(() => 0);
    log.handle(status('light_0', 'connected.healthy', false, 'connect succeeded'));
    log.handle(status('light_0', 'reconnecting', true));
    log.handle(status('light_0', 'connecting', true, 'device present again'));
    logs.clear();
    log.handle(status('light_0', 'reconnecting', false, 'connect failed: gateway reports light_0 offline'));
    log.handle(status('light_0', 'connecting', false, 'retry'));
    log.handle(status('light_0', 'connected.healthy', false, 'connect succeeded'));
    expect(logs.entries.filter((entry) => entry.level !== 'debug').map((entry) => entry.msg)).toEqual([
      'connecting → reconnecting (connect failed: gateway reports light_0 offline)',
      expect.stringMatching(/^connecting → connected.healthy \(connect succeeded\): recovered after/),
    ]);
  });
});
