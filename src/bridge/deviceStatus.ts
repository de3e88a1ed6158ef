import type { JsonValue } from '../drivers/contract.js';
import type { DeviceConfig } from '../config/index.js';
import type { DeviceStatusNotice } from '../machines/notices.js';
import type { Persistence } from '../persistence/index.js';
import { type DeviceHealth, isFirstConnect } from './health.js';
import { isAvailable, type RetainedDeviceTopics } from './retainedDeviceTopics.js';
import type { StateRestorer } from './stateRestorer.js';

// What a device's notices say about its health, as bridge/health reports it, and about the state it
// was last commanded to. A status notice (from its connection machine) updates its health; when the
// device becomes available or stops being so (or goes offline), its availability topic and a
// `device_connected` or `device_disconnected` event go out. A device that is back, or that reports a
// power failure (a DALI lamp's status bit), gets its last commanded state sent again (for the drivers
// that restore state, see StateRestorer).

export interface DeviceStatusTrackerOptions {
  /** The health of every enabled device; a status notice updates its device's entry in place. */
  health: ReadonlyMap<string, DeviceHealth>;
  devices: ReadonlyMap<string, DeviceConfig>;
  persistence: Persistence;
  retained: RetainedDeviceTopics;
  restorer: StateRestorer;
  /** Enqueues `{"type","data"}` on bridge/event, in the caller's transaction. */
  publishEvent: (type: string, data: Record<string, unknown>) => void;
  /** A device's status changed its health: bridge/health goes out at once if its status changed. */
  healthChanged: () => void;
}

export class DeviceStatusTracker {
  constructor(private readonly options: DeviceStatusTrackerOptions) {}

  /** A reading: the device works; one that lost power gets its desired state back. */
  reported(deviceId: string, result: JsonValue, at: number): void {
    const health = this.options.health.get(deviceId);
    if (health) health.lastSuccessAt = at;
    const device = this.options.devices.get(deviceId);
    if (!device || result === null || typeof result !== 'object' || Array.isArray(result)) return;
    if (result.power_failure === true) this.options.restorer.restore(device, 'it reported a power failure');
  }

  statusChanged(notice: DeviceStatusNotice): void {
    const health = this.options.health.get(notice.deviceId);
    if (!health) return;
    const wasAvailable = isAvailable(health.status);
    Object.assign(health, {
      status: notice.status,
      reason: notice.reason,
      consecutiveFailures: notice.consecutiveFailures,
      lastSuccessAt: notice.lastSuccessAt ?? health.lastSuccessAt,
    });
    // Its first connect is over: from now on, disconnected or connecting is an outage.
    if (!isFirstConnect(notice.status)) health.comingUpUntil = null;
    const available = isAvailable(notice.status);
    const device = this.options.devices.get(notice.deviceId);
    if (available && !wasAvailable && device) this.options.restorer.restore(device, 'it is available again');
    if (available !== wasAvailable || notice.status === 'offline') {
      this.options.persistence.transaction(() => {
        this.options.retained.publishAvailability(notice.deviceId, available);
        this.options.publishEvent(available ? 'device_connected' : 'device_disconnected', {
          id: notice.deviceId,
          status: notice.status,
          reason: notice.reason,
        });
      });
    }
    this.options.healthChanged();
  }
}
