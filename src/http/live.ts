import type { JsonValue } from '../drivers/contract.js';
import type { GatewayNotice } from '../machines/notices.js';
import type { QueueStats } from './metrics.js';
import { type DeviceState, type TreeSource, treeView } from './state.js';

// What the status page shows, kept small: the tree (from the actors, read when a snapshot is built),
// plus what the actors do not keep: each device's last reading and the recent recovery history, both
// taken from the notices. Every notice that changes what the page shows calls the change listener,
// which the event stream throttles.

/** How many recovery/restart events the page lists. */
export const HISTORY_SIZE = 50;
/** How many values of a reading the page shows. */
const READING_VALUES = 4;

export type Health = 'healthy' | 'degraded' | 'down';

export interface HistoryEntry {
  at: number;
  /** `recovery`, `restart`, `escalated`, `child_stopped`. */
  kind: string;
  bus: string;
  /** The device or bus the event is about. */
  actor: string;
  /** The recovery step, for `recovery`. */
  step?: string;
  /** started, succeeded, failed, rate_limited (recovery); the restart delay (restart). */
  outcome?: string;
  detail: string;
}

export interface ReadingView {
  at: number;
  /** Up to four of its values, as `[name, value]`. */
  values: [string, JsonValue][];
}

export interface DeviceSnapshot {
  id: string;
  state: DeviceState;
  health: Health;
  reason: string;
  failures: number;
  restarts: number;
  lastRecovery: string | null;
  reading: ReadingView | null;
}

export interface BusSnapshot {
  id: string;
  driver: string;
  state: string;
  failure: string | null;
  devices: DeviceSnapshot[];
}

/** One push of the status page (`event: snapshot` on /events), and the page's first paint. */
export interface PageSnapshot {
  /** The gateway's version and when it started (epoch ms): the page counts the uptime itself. */
  version: string;
  startedAt: number;
  status: string;
  issues: string[];
  mqtt: { online: boolean | null };
  queue: { depth: number; bytes: number; oldestAgeS: number; dropped: number } | null;
  buses: BusSnapshot[];
  history: HistoryEntry[];
}

export function healthOf(state: DeviceState): Health {
  if (state === 'connected.healthy') return 'healthy';
  if (state === 'connected.degraded') return 'degraded';
  return 'down';
}

/** A few values of a reading: scalars first, in the order the driver gave them. */
function readingValues(result: JsonValue): [string, JsonValue][] {
  if (result === null || typeof result !== 'object') return [['value', result]];
  if (Array.isArray(result)) return [['values', `${result.length} items`]];
  const scalars = Object.entries(result).filter(([, v]) => v === null || typeof v !== 'object');
  return scalars.slice(0, READING_VALUES);
}

/** What the page says about the gateway process. */
export interface GatewayAbout {
  version: string;
  /** Epoch ms. */
  startedAt: number;
}

export interface LiveSources {
  about: GatewayAbout;
  tree: TreeSource;
  bridgeHealth: () => Record<string, unknown>;
  queue?: () => QueueStats;
}

export class LiveModel {
  readonly #readings = new Map<string, ReadingView>();
  readonly #history: HistoryEntry[] = [];
  readonly #listeners = new Set<() => void>();

  constructor(private readonly sources: LiveSources) {}

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  readonly handle = (notice: GatewayNotice): void => {
    switch (notice.type) {
      case 'device.data':
        // Cheap on the hot path: only the values the page shows are kept.
        this.#readings.set(notice.deviceId, { at: notice.at, values: readingValues(notice.result) });
        break;
      case 'device.status':
        break;
      case 'device.commandResult':
        return;
      case 'supervisor.recovery':
        this.#remember({
          at: notice.at,
          kind: 'recovery',
          bus: notice.busId,
          actor: notice.deviceId,
          step: notice.step,
          outcome: notice.outcome,
          detail: notice.detail,
        });
        break;
      case 'supervisor.restart':
        this.#remember({
          at: notice.at,
          kind: 'restart',
          bus: notice.busId,
          actor: notice.actorId,
          outcome: `in ${notice.delayMs} ms`,
          detail: notice.reason,
        });
        break;
      case 'supervisor.escalated':
        this.#remember({
          at: notice.at,
          kind: 'escalated',
          bus: notice.busId,
          actor: notice.busId,
          detail: notice.reason,
        });
        break;
      case 'supervisor.child_stopped':
        this.#remember({
          at: notice.at,
          kind: 'child_stopped',
          bus: notice.busId,
          actor: notice.actorId,
          detail: notice.reason,
        });
        break;
    }
    for (const listener of this.#listeners) listener();
  };

  /** The recent recovery history, oldest first. */
  get history(): readonly HistoryEntry[] {
    return this.#history;
  }

  #remember(entry: HistoryEntry): void {
    this.#history.push(entry);
    if (this.#history.length > HISTORY_SIZE) this.#history.splice(0, this.#history.length - HISTORY_SIZE);
  }

  snapshot(): PageSnapshot {
    const health = this.sources.bridgeHealth();
    // The bridge/health payload (src/bridge/health.ts): status, health.{mqtt_ok, issues}.
    const details = (typeof health.health === 'object' && health.health !== null ? health.health : {}) as {
      mqtt_ok?: unknown;
      issues?: unknown;
    };
    const issues = Array.isArray(details.issues) ? details.issues.map(String) : [];
    const queue = this.sources.queue?.();
    // No timestamp in it: an unchanged snapshot serialises the same and is not pushed again.
    return {
      version: this.sources.about.version,
      startedAt: this.sources.about.startedAt,
      status: typeof health.status === 'string' ? health.status : 'unknown',
      issues,
      mqtt: { online: typeof details.mqtt_ok === 'boolean' ? details.mqtt_ok : null },
      queue: queue
        ? {
            depth: queue.depth,
            bytes: queue.bytes,
            oldestAgeS: Math.round(queue.oldestAgeMs / 1000),
            dropped: queue.dropped,
          }
        : null,
      buses: treeView(this.sources.tree).map((bus) => ({
        id: bus.busId,
        driver: bus.driver,
        state: bus.state,
        failure: bus.failure,
        devices: bus.devices.map((device) => ({
          id: device.deviceId,
          state: device.state,
          health: healthOf(device.state),
          reason: device.reason,
          failures: device.consecutiveFailures,
          restarts: device.restarts,
          lastRecovery: device.lastRecovery
            ? `${device.lastRecovery.step} ${device.lastRecovery.outcome}`
            : null,
          reading: this.#readings.get(device.deviceId) ?? null,
        })),
      })),
      history: [...this.#history],
    };
  }
}
