import { afterEach, describe, expect, it } from 'vitest';
import { NoticeLog } from '../src/gateway/noticeLog.js';
import { captureLogs, type LogCapture } from '../src/logging/index.js';
import type { GatewayNotice } from '../src/machines/notices.js';

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
