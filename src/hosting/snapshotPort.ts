import type { AnyActorRef } from 'xstate';
import { getLogger, type Logger } from '../logging/index.js';
import { BUS_SNAPSHOT_VERSION } from '../machines/busSupervisor.js';
import { type BusSupervisorInput, initialContext } from '../machines/busSupervisorModel.js';
import { restoreFacts } from '../machines/connectionModel.js';
import { errorText } from '../errorText.js';

// Persisted bus snapshots: one per bus supervisor, holding its devices' snapshots too (XState persists
// a machine's children with it). The supervision tree talks to storage only through the small port
// below, so the actor code does not depend on SQLite; `snapshotPortOf` adapts the persistence layer's
// snapshot store to it. Also here: what a bus host does with the port, i.e. checking a stored snapshot
// before restoring it, and writing a changed bus once per tick however many transitions it went through.

export interface StoredBusSnapshot {
  /** The BUS_SNAPSHOT_VERSION of the code that saved it. */
  version: number;
  snapshot: unknown;
}

export interface BusSnapshotPort {
  load(busId: string): StoredBusSnapshot | undefined;
  /** Called at most once per bus per tick; may keep the value and write it later (write-behind). */
  save(busId: string, version: number, snapshot: unknown): void;
  remove(busId: string): void;
}

/** What the adapter needs of the persistence layer's SnapshotStore (src/persistence/snapshots.ts). */
export interface SnapshotStoreLike {
  load(id: string, currentVersion: number): StoredBusSnapshot | undefined;
  save(id: string, version: number, snapshot: unknown): void;
  remove(id: string): void;
}

/** The store key of a bus: the store is shared, and per-device keys may live next to these. */
export const busSnapshotKey = (busId: string): string => `bus:${busId}`;

/**
 * The port on the persistence layer's snapshot store. The store itself discards (with a log line) a
 * snapshot of another version than `currentVersion`, so what it returns is always current.
 */
export function snapshotPortOf(
  store: SnapshotStoreLike,
  currentVersion: number = BUS_SNAPSHOT_VERSION,
): BusSnapshotPort {
  return {
    load: (busId) => store.load(busSnapshotKey(busId), currentVersion),
    save: (busId, version, snapshot) => store.save(busSnapshotKey(busId), version, snapshot),
    remove: (busId) => store.remove(busSnapshotKey(busId)),
  };
}

export const busLogger = (busId: string): Logger => getLogger(`supervisor.${busId}`);

/**
 * XState starts every invoked actor it finds in a restored snapshot again, before `RESUME` reaches the
 * machine. The states invoking these promises re-enter (or leave) on `RESUME` to re-arm their timeout,
 * which would start a second call and abort the first at once, and would run an operation of a device
 * whose link is not open yet. Dropped from the snapshot, each starts exactly once, from `RESUME`.
 * (The callbacks, the outlet and the bus watcher, are kept: nothing else would start them.)
 */
const STARTED_BY_RESUME = new Set(['recoveryStep', 'connectLink', 'runOperation']);

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A persisted machine snapshot without the invoked promises `RESUME` starts (recursively, devices too). */
function withoutResumedInvokes(snapshot: JsonObject): JsonObject {
  const children = isObject(snapshot.children) ? snapshot.children : {};
  const kept: JsonObject = {};
  for (const [id, child] of Object.entries(children)) {
    if (!isObject(child) || STARTED_BY_RESUME.has(String(child.src))) continue;
    kept[id] = isObject(child.snapshot)
      ? { ...child, snapshot: withoutResumedInvokes(child.snapshot) }
      : child;
  }
  return { ...snapshot, children: kept };
}

/** The context fields that come from the input; the compiler insists on every input field. */
const INPUT_KEYS = Object.keys({
  busId: true,
  driver: true,
  recoverySteps: true,
  policy: true,
  devices: true,
  housekeepingMs: true,
  recoveryTimeoutMs: true,
} satisfies Record<keyof BusSupervisorInput, true>) as (keyof BusSupervisorInput)[];

const deviceIdsOf = (devices: unknown): string[] =>
  Array.isArray(devices) ? devices.map((d) => String(isObject(d) ? d.deviceId : d)) : [];

/** Why a stored context does not belong to this input, or null when it does. */
function configChange(input: BusSupervisorInput, stored: JsonObject): string | null {
  const configured = deviceIdsOf(input.devices);
  const saved = deviceIdsOf(stored.devices);
  const added = configured.filter((id) => !saved.includes(id));
  const removed = saved.filter((id) => !configured.includes(id));
  if (added.length > 0 || removed.length > 0) {
    const parts = [
      added.length > 0 ? `added ${added.join(', ')}` : '',
      removed.length > 0 ? `removed ${removed.join(', ')}` : '',
    ];
    return `its devices changed (${parts.filter(Boolean).join('; ')})`;
  }
  // Every other setting lives in the restored context too (policies, device order, restart types):
  // restoring would silently run on the old ones, so a snapshot is only used with the same config.
  const current = initialContext(input, 0);
  const differing = INPUT_KEYS.filter((key) => JSON.stringify(current[key]) !== JSON.stringify(stored[key]));
  return differing.length > 0 ? `its settings changed (${differing.join(', ')})` : null;
}

export type RestoreDecision =
  { restore: true; snapshot: JsonObject } | { restore: false; reason: string | null; level: 'info' | 'warn' };

/**
 * Whether a stored snapshot may be restored for this input: the current version, saved while the bus
 * was running (a starting or failed bus starts afresh anyway), for the same configuration.
 */
export function restoreDecision(
  input: BusSupervisorInput,
  stored: StoredBusSnapshot | undefined,
): RestoreDecision {
  if (stored === undefined) return { restore: false, reason: null, level: 'info' };
  if (stored.version !== BUS_SNAPSHOT_VERSION) {
    const reason = `it was saved by machine version ${stored.version}, this is version ${BUS_SNAPSHOT_VERSION}`;
    return { restore: false, reason, level: 'info' };
  }
  const { snapshot } = stored;
  if (!isObject(snapshot) || !isObject(snapshot.value) || !isObject(snapshot.context)) {
    return { restore: false, reason: 'it is not a bus supervisor snapshot', level: 'warn' };
  }
  if (snapshot.status !== 'active' || snapshot.value.lifecycle !== 'running') {
    const state = snapshot.status === 'active' ? String(snapshot.value.lifecycle) : String(snapshot.status);
    return { restore: false, reason: `it was saved while the bus was ${state}`, level: 'info' };
  }
  const change = configChange(input, snapshot.context);
  if (change !== null) return { restore: false, reason: change, level: 'info' };
  return { restore: true, snapshot: withoutResumedInvokes(snapshot) };
}

/** Why a just-restored bus actor cannot run (XState keeps restore errors in the snapshot), or null. */
export function restoreProblem(actor: AnyActorRef): string | null {
  const snapshot = actor.getSnapshot() as { status: string; error?: unknown; context?: unknown };
  if (snapshot.status !== 'active') return errorText(snapshot.error ?? snapshot.status);
  const running = isObject(snapshot.context) ? snapshot.context.running : undefined;
  const children = (actor.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children;
  for (const deviceId of Array.isArray(running) ? running.map(String) : []) {
    const child = children[deviceId]?.getSnapshot() as { status: string; error?: unknown } | undefined;
    if (child?.status !== 'active') {
      return `device ${deviceId} could not be restored: ${errorText(child?.error ?? 'missing')}`;
    }
  }
  return null;
}

/** What a bus host saves: its live actor. */
export interface SnapshotSource {
  getPersistedSnapshot(): unknown;
}

/**
 * Saves changed buses once per tick: a bus is only marked dirty on each change, and its persisted
 * snapshot (a walk over every device) is computed once, at setImmediate, after the burst of transitions
 * that changed it. One timer for the whole tree, so the store gets every bus of a tick in one batch.
 */
export class BusSnapshotWriter {
  readonly #port: BusSnapshotPort;
  readonly #dirty = new Map<string, SnapshotSource>();
  readonly #failing = new Set<string>();
  #scheduled: NodeJS.Immediate | undefined;

  constructor(port: BusSnapshotPort) {
    this.#port = port;
  }

  markDirty(busId: string, source: SnapshotSource): void {
    this.#dirty.set(busId, source);
    if (this.#scheduled !== undefined) return;
    this.#scheduled = setImmediate(() => {
      this.#scheduled = undefined;
      for (const id of [...this.#dirty.keys()]) this.flush(id);
    });
  }

  /** Saves one bus now if it changed since its last save (a bus host stopping saves its last state). */
  flush(busId: string): void {
    const source = this.#dirty.get(busId);
    if (!source) return;
    this.#dirty.delete(busId);
    try {
      this.#port.save(busId, BUS_SNAPSHOT_VERSION, source.getPersistedSnapshot());
      if (this.#failing.delete(busId)) busLogger(busId).info('saving the snapshot of the bus works again');
    } catch (error) {
      // Saving is best effort: a failing store must not stop the bus. Logged once per failure episode.
      if (!this.#failing.has(busId)) {
        this.#failing.add(busId);
        busLogger(busId).error(`saving the snapshot of the bus failed: ${errorText(error)}`);
      }
    }
  }

  /** Drops a bus's unsaved change (its actor is gone). */
  forget(busId: string): void {
    this.#dirty.delete(busId);
  }
}

type Watched = { getSnapshot(): unknown; subscribe: AnyActorRef['subscribe'] };

const sameFacts = (a: readonly unknown[], b: readonly unknown[]) =>
  a.every((fact, i) => Object.is(fact, b[i]));

/**
 * Calls `onChange` whenever the bus supervisor or one of its devices changes in a way a restore
 * depends on. A device's transition need not change its supervisor's snapshot, so the devices are
 * watched too; their readings and polls do not count (see `restoreFacts`), nor do the supervisor's
 * events that change nothing (a reading it forwards), so a steadily polling bus is not written at all.
 * New devices (spawned, restarted) are picked up when the supervisor's children change; a stopped one
 * drops its observers itself.
 */
export function watchChanges(actor: Watched, onChange: () => void): () => void {
  const watched = new WeakSet<AnyActorRef>();
  let last = actor.getSnapshot() as MachineLike;
  let active = true;
  const changed = () => {
    if (active) onChange();
  };
  // Errors are the business of the supervisors (xstate.error.actor, the host's own subscription); an
  // observer without an error handler would make XState rethrow them, so these ignore them.
  const ignore = () => undefined;
  const watchDevice = (device: AnyActorRef) => {
    watched.add(device);
    let facts = restoreFacts(device.getSnapshot() as DeviceSnapshot);
    device.subscribe({
      next: (snapshot) => {
        const next = restoreFacts(snapshot as DeviceSnapshot);
        if (sameFacts(facts, next)) return;
        facts = next;
        changed();
      },
      error: ignore,
    });
  };
  const watchDevices = (children: MachineLike['children']) => {
    for (const child of Object.values(children)) {
      if (child && child.src === 'device' && !watched.has(child)) watchDevice(child);
    }
  };
  watchDevices(last.children);
  const subscription = actor.subscribe({
    next: (value) => {
      const snapshot = value as MachineLike;
      if (snapshot.children !== last.children) watchDevices(snapshot.children);
      const moved =
        snapshot.context !== last.context ||
        snapshot.value !== last.value ||
        snapshot.children !== last.children;
      last = snapshot;
      if (moved) changed();
    },
    error: ignore,
  });
  return () => {
    active = false;
    subscription.unsubscribe();
  };
}

interface MachineLike {
  value: unknown;
  context: unknown;
  children: Record<string, AnyActorRef | undefined>;
}

type DeviceSnapshot = Parameters<typeof restoreFacts>[0];
