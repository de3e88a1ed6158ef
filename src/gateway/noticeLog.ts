import { getLogger, type Logger, logTransition, RepeatedFailureLog } from '../logging/index.js';
import type { DeviceStatus, DeviceStatusNotice, GatewayNotice } from '../machines/notices.js';

// Turns the notices of the supervision tree into log lines: one per state transition with its reason,
// except that an outage (reconnecting, offline, degraded) is a repeated failure, logged once when it
// starts, summarised at most every `repeat_summary_ms` while it lasts ("still offline after 37
// attempts over 1h 2m") and closed by one recovery line — never a line per retry.

const OUTAGE: ReadonlySet<DeviceStatus> = new Set(['connecting', 'reconnecting', 'offline']);

interface DeviceLog {
  logger: Logger;
  failures: RepeatedFailureLog;
  status: DeviceStatus;
}

export class NoticeLog {
  readonly #devices = new Map<string, DeviceLog>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  readonly handle = (notice: GatewayNotice): void => {
    switch (notice.type) {
      case 'device.status':
        this.#status(notice);
        return;
      case 'device.commandResult': {
        const logger = this.#device(notice.deviceId).logger;
        if (notice.result.ok) logger.debug(`command ${notice.commandId} (${notice.operation}) done`);
        else logger.info(`command ${notice.commandId} (${notice.operation}) failed: ${notice.result.error}`);
        return;
      }
      case 'device.data':
        this.#device(notice.deviceId).logger.debug(`${notice.operation} result`, { result: notice.result });
        return;
      case 'supervisor.recovery': {
        const logger = getLogger(`supervisor.${notice.busId}`);
        const line = `recovery of ${notice.deviceId}: ${notice.step} ${notice.outcome.replace('_', ' ')} (${notice.detail})`;
        if (notice.outcome === 'started' || notice.outcome === 'succeeded') logger.info(line, { ...notice });
        else logger.warn(line, { ...notice });
        return;
      }
      case 'supervisor.restart':
        getLogger(`supervisor.${notice.busId}`).warn(
          `restarting ${notice.actorId} in ${notice.delayMs} ms (${notice.reason})`,
          { ...notice },
        );
        return;
      case 'supervisor.child_stopped':
        getLogger(`supervisor.${notice.busId}`).warn(`${notice.actorId} stopped: ${notice.reason}`, {
          ...notice,
        });
        return;
      case 'supervisor.escalated':
        getLogger(`supervisor.${notice.busId}`).error(
          `bus supervisor gave up and escalated to the root: ${notice.reason}`,
          { ...notice },
        );
        return;
    }
  };

  /** Writes the summaries of outages that are due (called from the periodic health tick). */
  flush(): void {
    for (const device of this.#devices.values()) device.failures.flush();
  }

  #device(deviceId: string): DeviceLog {
    let device = this.#devices.get(deviceId);
    if (!device) {
      const logger = getLogger(`device.${deviceId}`);
      device = {
        logger,
        failures: new RepeatedFailureLog(logger, { now: this.#now }),
        status: 'disconnected',
      };
      this.#devices.set(deviceId, device);
    }
    return device;
  }

  #status(notice: DeviceStatusNotice): void {
    const device = this.#device(notice.deviceId);
    const from = device.status;
    device.status = notice.status;
    const meta = { from, to: notice.status, reason: notice.reason, attempts: notice.attempts };
    const line = `${from} → ${notice.status} (${notice.reason})`;
    const inOutage = device.failures.failureCount('link') > 0;
    if (from === notice.status) {
      device.logger.debug(`${notice.status} (${notice.reason})`, meta);
    } else if (notice.status === 'reconnecting' || notice.status === 'offline') {
      device.failures.failure('link', line, meta, { summary: `still ${notice.status}` });
    } else if (OUTAGE.has(notice.status) && inOutage) {
      device.logger.debug(line, meta);
    } else if (notice.status === 'connected.degraded') {
      device.failures.failure('health', line, meta, { summary: 'still degraded' });
    } else if (
      notice.status === 'connected.healthy' &&
      (inOutage || device.failures.failureCount('health') > 0)
    ) {
      device.failures.success('link', `${line}: recovered`, meta);
      device.failures.success('health', `${line}: recovered`, meta);
    } else {
      logTransition(device.logger, { ...meta, reason: notice.reason });
    }
  }
}
