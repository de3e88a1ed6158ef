import { BurstLog, getLogger, type Logger, logTransition, RepeatedFailureLog } from '../logging/index.js';
import type {
  CommandResultNotice,
  DeviceStatus,
  DeviceStatusNotice,
  GatewayNotice,
} from '../machines/notices.js';

// Turns the notices of the supervision tree into log lines: one per state transition with its reason,
// except that an outage (reconnecting, offline, degraded) is a repeated failure, logged once when it
// starts, summarised at most every `repeat_summary_ms` while it lasts ("still offline after 37
// attempts over 1h 2m") and closed by one recovery line — never a line per retry. Commands that fail
// or are refused (a flood fills a device's queue) are one line per kind and interval, with the count.
// A device down because its bus's shared link is (a network gateway's, `busLinkDown`) is not logged
// at all above debug, its recovery steps neither: the bus's runtime logs that outage once, with its
// reason and summaries, where the devices would say it once each.

const OUTAGE: ReadonlySet<DeviceStatus> = new Set(['connecting', 'reconnecting', 'offline']);

interface DeviceLog {
  logger: Logger;
  failures: RepeatedFailureLog;
  status: DeviceStatus;
  /** In an outage of its bus's shared link, which the bus's runtime logs (see #quietForBusLink). */
  busLinkDown?: boolean;
  /** Made at the first failed command: most devices never have one. */
  commands?: BurstLog;
}

/** How the summary of each kind of failed command opens. */
const COMMAND_SUMMARIES = {
  queue_full: 'commands refused, the queue is full',
  not_running: 'commands refused, the device is not running',
  failed: 'commands failed',
} as const;

export class NoticeLog {
  readonly #devices = new Map<string, DeviceLog>();
  readonly #supervisors = new Map<string, { logger: Logger; failures: RepeatedFailureLog }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  readonly handle = (notice: GatewayNotice): void => {
    switch (notice.type) {
      case 'device.status':
        this.#status(notice);
        return;
      case 'device.commandResult':
        this.#commandResult(notice);
        return;
      case 'device.data':
        this.#device(notice.deviceId).logger.debug(`${notice.operation} result`, { result: notice.result });
        return;
      case 'supervisor.recovery': {
        const line = `recovery of ${notice.deviceId}: ${notice.step} ${notice.outcome.replace('_', ' ')} (${notice.detail})`;
        const supervision = this.#supervision(notice.busId);
        // Every device of a gateway that is away climbs its ladder: the gateway's own lines say it.
        if (this.#devices.get(notice.deviceId)?.busLinkDown) {
          supervision.logger.debug(line, { ...notice });
          return;
        }
        // A device that stays down climbs its ladder for as long as it is down: the first step is
        // logged, the rest summarised, and the device coming back closes it with one line.
        if (notice.outcome === 'succeeded') supervision.logger.debug(line, { ...notice });
        // The device is well again after the step: that closes the episode, with one line.
        else if (notice.outcome === 'verified')
          supervision.failures.success(`recovery:${notice.deviceId}`, line, { ...notice });
        else
          supervision.failures.failure(
            `recovery:${notice.deviceId}`,
            line,
            { ...notice },
            {
              summary: `recovery of ${notice.deviceId} still going`,
            },
          );
        return;
      }
      case 'supervisor.restart': {
        const line = `restarting ${notice.actorId} in ${notice.delayMs} ms (${notice.reason})`;
        if (this.#devices.get(notice.actorId)?.busLinkDown) {
          this.#supervision(notice.busId).logger.debug(line, { ...notice });
          return;
        }
        this.#supervision(notice.busId).failures.failure(
          `restart:${notice.actorId}`,
          line,
          { ...notice },
          {
            summary: `still restarting ${notice.actorId}`,
          },
        );
        return;
      }
      case 'supervisor.child_stopped':
        getLogger(`supervisor.${notice.busId}`).warn(`${notice.actorId} stopped: ${notice.reason}`, {
          ...notice,
        });
        return;
      case 'supervisor.escalated':
        // The root restarts the bus; a bus that keeps failing is summarised, not logged per attempt.
        this.#supervision(notice.busId).failures.failure(
          `escalated:${notice.busId}`,
          `bus supervisor gave up and escalated to the root: ${notice.reason}`,
          { ...notice },
          { summary: `bus ${notice.busId} still escalating` },
        );
        return;
    }
  };

  /** Writes the summaries of outages that are due (called from the periodic health tick). */
  flush(): void {
    for (const device of this.#devices.values()) {
      device.failures.flush();
      device.commands?.flush();
    }
    for (const supervision of this.#supervisors.values()) supervision.failures.flush();
  }

  #supervision(busId: string): { logger: Logger; failures: RepeatedFailureLog } {
    let supervision = this.#supervisors.get(busId);
    if (!supervision) {
      const logger = getLogger(`supervisor.${busId}`);
      supervision = { logger, failures: new RepeatedFailureLog(logger, { now: this.#now }) };
      this.#supervisors.set(busId, supervision);
    }
    return supervision;
  }

  /** The device is healthy again: its recovery and restarts (and its bus's escalation) are over. */
  #recovered(busId: string, deviceId: string): void {
    const supervision = this.#supervisors.get(busId);
    if (!supervision) return;
    supervision.failures.success(`recovery:${deviceId}`, `recovery of ${deviceId} ended: it is healthy`);
    supervision.failures.success(`restart:${deviceId}`, `${deviceId} runs again`);
    supervision.failures.success(`escalated:${busId}`, `bus ${busId} runs again`);
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

  #commandResult(notice: CommandResultNotice): void {
    const device = this.#device(notice.deviceId);
    const what = `command ${notice.commandId} (${notice.operation})`;
    if (notice.result.ok) {
      device.logger.debug(`${what} done`);
      return;
    }
    const kind = notice.refused ?? 'failed';
    device.commands ??= new BurstLog(device.logger, { now: this.#now });
    device.commands.record(
      kind,
      `${what} ${notice.refused ? 'refused' : 'failed'}: ${notice.result.error}`,
      COMMAND_SUMMARIES[kind],
    );
  }

  #status(notice: DeviceStatusNotice): void {
    const device = this.#device(notice.deviceId);
    const from = device.status;
    device.status = notice.status;
    const meta = { from, to: notice.status, reason: notice.reason, attempts: notice.attempts };
    if (notice.status === 'connected.healthy') this.#recovered(notice.busId, notice.deviceId);
    const line = `${from} → ${notice.status} (${notice.reason})`;
    const inOutage = device.failures.failureCount('link') > 0;
    if (this.#quietForBusLink(device, notice)) {
      device.logger.debug(line, meta);
    } else if (from === notice.status) {
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

  /**
   * Whether a transition belongs to an outage of the device's bus link (logged by the bus's runtime):
   * from a transition that says so, through the attempts while it lasts, to the device back. A device
   * that then fails for a reason of its own, or that was failing on its own before, is logged again.
   */
  #quietForBusLink(device: DeviceLog, notice: DeviceStatusNotice): boolean {
    if (notice.busLinkDown) {
      device.busLinkDown = true;
      return true;
    }
    if (!device.busLinkDown) return false;
    // A new attempt, or the actor restarted by the ladder: still the bus's outage.
    if (notice.status === 'connecting' || notice.status === 'disconnected') return true;
    device.busLinkDown = false;
    const failingOnItsOwn =
      device.failures.failureCount('link') > 0 || device.failures.failureCount('health') > 0;
    return notice.status.startsWith('connected') && !failingOnItsOwn;
  }
}
