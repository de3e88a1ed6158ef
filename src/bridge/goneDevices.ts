import type { DeviceConfig } from '../config/index.js';
import type { Logger } from '../logging/index.js';
import type { Persistence } from '../persistence/index.js';
import type { DiscoveryPublisher } from './discoveryPublisher.js';
import type { ReadingWriter } from './readingWriter.js';
import type { RetainedDeviceTopics } from './retainedDeviceTopics.js';

// Devices that are gone (removed on request, dropped from the config by a reload, or dropped while the
// gateway was stopped) leave nothing behind on the broker: their retained state and availability and
// every Home Assistant config they announced are emptied through the outbox (so a broker offline now
// gets them later), their stored state, snapshot and last commanded state are deleted (another lamp
// configured under the same id later must not be switched to what this one was asked), and
// `device_removed` is published on bridge/event. Their reading sequence numbers stay: a device added
// again under the same id never reuses a `seq`. What a gone device still says in this run (its actor
// stopping) is not published.

export interface GoneDevicesOptions {
  persistence: Persistence;
  readings: ReadingWriter;
  retained: RetainedDeviceTopics;
  discovery: DiscoveryPublisher;
  /** Enqueues `{"type","data"}` on bridge/event, in the caller's transaction. */
  publishEvent: (type: string, data: Record<string, unknown>) => void;
  logger: Logger;
}

export class GoneDevices {
  /** Devices forgotten in this run and not configured again since. */
  readonly #gone = new Set<string>();

  constructor(private readonly options: GoneDevicesOptions) {}

  /** Whether what this device says is dropped: it was forgotten in this run. */
  has(deviceId: string): boolean {
    return this.#gone.has(deviceId);
  }

  /** The device is configured again (a reload added it back): it is heard again. */
  returned(deviceId: string): void {
    this.#gone.delete(deviceId);
  }

  /**
   * At start: devices with a stored state that are not in the config (dropped from it while the gateway
   * was stopped) are forgotten like those a reload drops.
   */
  forgetUnconfigured(configured: readonly DeviceConfig[]): void {
    const known = new Set(configured.map((device) => device.id));
    const stored = this.options.persistence.states.all();
    this.forget(
      stored.filter((state) => !known.has(state.deviceId)).map((state) => state.deviceId),
      'no longer in the config',
    );
  }

  /** Empties what these devices left on the broker and in the database (see the top of this file). */
  forget(deviceIds: readonly string[], reason: string): void {
    if (deviceIds.length === 0) return;
    const { persistence, readings, retained, discovery } = this.options;
    // Readings still waiting for their commit are older than the removal: committed first, emptied after.
    readings.flush();
    persistence.transaction(() => {
      for (const deviceId of deviceIds) {
        this.#gone.add(deviceId);
        readings.states.delete(deviceId);
        retained.forget(deviceId);
        persistence.snapshots.remove(deviceId);
        persistence.desired.remove(deviceId);
        this.options.publishEvent('device_removed', { id: deviceId, reason });
      }
      discovery.removeDevices(deviceIds);
    });
    this.options.logger.info(
      `forgot ${deviceIds.join(', ')} (${reason}): retained state, availability and discovery configs emptied`,
    );
  }
}
