import type { JsonValue } from '../drivers/contract.js';
import type { DeviceStatus } from '../machines/notices.js';
import type { Persistence, StoredDeviceState } from '../persistence/index.js';
import type { DeviceHealth } from './health.js';
import type { Topics } from './topics.js';

// What the broker holds for each device: its retained state (`<base>/<id>`) and its availability
// (`<base>/<id>/availability`), both written to the outbox like every message. Both are announced
// again each time the link comes (back) online: a broker that restarted without its retained messages
// (no persistence, or a crash before its autosave) would otherwise hold neither until the device
// changes, and a consumer subscribing meanwhile (Home Assistant restarting) would show every entity
// unavailable, since the discovery configs ask for `availability_mode: all`.

type DeviceValues = Record<string, JsonValue>;

const AVAILABLE: ReadonlySet<DeviceStatus> = new Set(['connected.healthy', 'connected.degraded']);

/** Whether a device in this status is `online` on its availability topic. */
export function isAvailable(status: DeviceStatus): boolean {
  return AVAILABLE.has(status);
}

export interface RetainedDeviceTopicsOptions {
  topics: Topics;
  persistence: Persistence;
  /** The health of every enabled device, kept current by the bridge. */
  health: ReadonlyMap<string, DeviceHealth>;
  /** The committed state of each device (ReadingWriter.states); restored states are put here at start. */
  states: Map<string, DeviceValues>;
  /** Enqueues a retained state message (the outbox drops the unsent older one of its topic). */
  publish: (topic: string, payload: string | DeviceValues) => void;
  now: () => number;
}

export class RetainedDeviceTopics {
  /** Devices whose state is still the one restored from the database at start: nothing new since. */
  readonly #restored = new Set<string>();

  constructor(private readonly options: RetainedDeviceTopicsOptions) {}

  /** At start, in a transaction: each device's last known state, marked stale until it says something new. */
  restoreStates(): void {
    for (const stored of this.options.persistence.states.all()) {
      if (!this.options.health.has(stored.deviceId)) continue;
      this.options.states.set(stored.deviceId, stored.state);
      this.#restored.add(stored.deviceId);
      this.options.publish(this.options.topics.device(stored.deviceId), this.#statePayload(stored));
    }
  }

  /** The device said something new (a reading, a command's answer): its state is its own again. */
  reported(deviceId: string): void {
    this.#restored.delete(deviceId);
  }

  /** In a transaction: the device's availability, when it changed. */
  publishAvailability(deviceId: string, available: boolean): void {
    this.options.publish(this.options.topics.availability(deviceId), available ? 'online' : 'offline');
  }

  /**
   * In a transaction: a device that is gone (removed on request, dropped from the config) leaves
   * nothing retained behind: its state and availability topics are emptied (an empty retained message
   * deletes the broker's copy; the outbox drops an unsent older one of the same topic) and its stored
   * state is deleted, so neither a restart nor a reconnect announces it again.
   */
  forget(deviceId: string): void {
    this.#restored.delete(deviceId);
    this.options.persistence.states.remove(deviceId);
    this.options.publish(this.options.topics.device(deviceId), '');
    this.options.publish(this.options.topics.availability(deviceId), '');
  }

  /** The states of the available devices again, so Home Assistant's expire_after does not run out. */
  refreshStates(): void {
    this.options.persistence.transaction(() => {
      for (const [deviceId, state] of this.options.states) {
        const health = this.options.health.get(deviceId);
        if (!health || !isAvailable(health.status)) continue;
        const lastSeen = new Date(health.lastSuccessAt ?? this.options.now()).toISOString();
        this.options.publish(this.options.topics.device(deviceId), { ...state, last_seen: lastSeen });
      }
    });
  }

  /**
   * Once per (re)connect: every device's availability and last published state, as the bridge said them
   * last, whether or not the broker still holds them (it cannot tell us that it lost them).
   */
  republishAll(): void {
    const stored = new Map(this.options.persistence.states.all().map((state) => [state.deviceId, state]));
    this.options.persistence.transaction(() => {
      for (const [deviceId, health] of this.options.health) {
        this.publishAvailability(deviceId, isAvailable(health.status));
        const state = stored.get(deviceId);
        if (state) this.options.publish(this.options.topics.device(deviceId), this.#statePayload(state));
      }
    });
  }

  /** A device's state message as the bridge published it: what was observed, and when. */
  #statePayload(stored: StoredDeviceState): DeviceValues {
    const lastSeen = new Date(stored.at).toISOString();
    return this.#restored.has(stored.deviceId)
      ? { ...stored.state, stale: true, last_seen: lastSeen }
      : { ...stored.state, last_seen: lastSeen };
  }
}
