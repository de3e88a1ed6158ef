import type { AnyActorRef } from 'xstate';
import { type FieldbridgeConfig, maskSecrets } from '../config/index.js';
import { isSecretKey, REDACTED } from '../logging/index.js';
import { maskUrlCredentials } from '../logging/sanitize.js';
import type { BusSupervisorContext, DeviceWatch } from '../machines/busSupervisorModel.js';
import { type ConnectionContext, deviceStatusOf } from '../machines/connectionModel.js';
import type { DeviceStatus } from '../machines/notices.js';

// A read-only view of the supervision tree: the root, each bus supervisor (hosted in an actor system
// of its own, so reached through the tree's `buses` map, not the root's children) and each device.
// /state serves it whole; /health and the status page take what they need from it. Everything read
// from an actor goes through `redact`, so a secret that some day lands in a context (a bind key, a
// password, a token) is masked by its key name, the same rule the logs follow.

/** What the HTTP layer reads of the running tree. */
export interface TreeSource {
  root: AnyActorRef;
  /** The running bus supervisors by bus id (`bindSupervisorTree(...).buses`). */
  buses: ReadonlyMap<string, AnyActorRef>;
}

/** A bus as the operator sees it: `restarting` while the root waits out its backoff. */
export type BusState = 'starting' | 'running' | 'failed' | 'restarting' | 'stopped';

/** A device's link state, or why it has none: restarting (its supervisor's backoff) or not running. */
export type DeviceState = DeviceStatus | 'restarting' | 'stopped';

export interface DeviceView {
  deviceId: string;
  busId: string;
  state: DeviceState;
  reason: string;
  lastError: string | null;
  consecutiveFailures: number;
  attempts: number;
  nextAttemptAt: number | null;
  lastSuccessAt: number | null;
  restarts: number;
  lastRecovery: DeviceWatch['lastRecovery'];
  /** The device actor itself (null when it is not running). */
  actor: AnyActorRef | null;
}

export interface BusView {
  busId: string;
  driver: string;
  state: BusState;
  failure: string | null;
  /** When a restarting bus starts again. */
  restartAt: number | null;
  devices: DeviceView[];
  actor: AnyActorRef | null;
}

interface RootContextView {
  buses: Record<string, { busId: string; driver: string; devices: readonly { deviceId: string }[] }>;
  deviceBus: Record<string, string>;
  pending: readonly { busId: string; dueAt: number }[];
}

interface ActorSnapshotView<C> {
  status: string;
  value: unknown;
  context: C;
  children: Record<string, AnyActorRef | undefined>;
}

function snapshotOf<C>(actor: AnyActorRef): ActorSnapshotView<C> {
  return actor.getSnapshot() as ActorSnapshotView<C>;
}

/** The root's context: which buses and devices the tree is meant to run. */
export function rootContext(tree: TreeSource): RootContextView {
  return snapshotOf<RootContextView>(tree.root).context;
}

/** Every device the tree runs, with its bus (for `POST /devices/<id>/restart`). */
export function knownDevice(tree: TreeSource, deviceId: string): string | undefined {
  const { deviceBus } = rootContext(tree);
  return Object.hasOwn(deviceBus, deviceId) ? deviceBus[deviceId] : undefined;
}

function busStateOf(actor: AnyActorRef | undefined, pending: boolean): BusState {
  if (pending) return 'restarting';
  if (!actor) return 'stopped';
  const snapshot = snapshotOf<BusSupervisorContext>(actor);
  if (snapshot.status !== 'active') return 'stopped';
  const lifecycle = (snapshot.value as { lifecycle?: unknown }).lifecycle;
  return lifecycle === 'starting' || lifecycle === 'running' || lifecycle === 'failed'
    ? lifecycle
    : 'stopped';
}

function deviceView(
  busId: string,
  deviceId: string,
  bus: BusSupervisorContext | null,
  child: AnyActorRef | undefined,
): DeviceView {
  const watch = bus?.watches[deviceId];
  const base = {
    deviceId,
    busId,
    restarts: watch?.restarts ?? 0,
    lastRecovery: watch?.lastRecovery ?? null,
  };
  if (!child) {
    const pending = bus?.pendingRestarts.find((r) => r.deviceId === deviceId);
    return {
      ...base,
      state: pending ? 'restarting' : 'stopped',
      reason: pending ? `restarting: ${pending.reason}` : 'not running',
      lastError: null,
      consecutiveFailures: 0,
      attempts: 0,
      nextAttemptAt: pending?.dueAt ?? null,
      lastSuccessAt: null,
      actor: null,
    };
  }
  const snapshot = snapshotOf<ConnectionContext>(child);
  const context = snapshot.context;
  return {
    ...base,
    state: deviceStatusOf(snapshot.value),
    reason: context.reason,
    lastError: context.lastError,
    consecutiveFailures: context.consecutiveFailures,
    attempts: context.attempts,
    nextAttemptAt: context.nextAttemptAt,
    lastSuccessAt: context.lastSuccessAt,
    actor: child,
  };
}

/** The tree as buses and devices, in config order. */
export function treeView(tree: TreeSource): BusView[] {
  const root = rootContext(tree);
  return Object.values(root.buses).map((input) => {
    const restart = root.pending.find((p) => p.busId === input.busId);
    const actor = restart ? undefined : tree.buses.get(input.busId);
    const state = busStateOf(actor, restart !== undefined);
    const snapshot = actor && state !== 'stopped' ? snapshotOf<BusSupervisorContext>(actor) : null;
    const context = snapshot?.context ?? null;
    return {
      busId: input.busId,
      driver: input.driver,
      state,
      failure: context?.failure ?? null,
      restartAt: restart?.dueAt ?? null,
      devices: input.devices.map((device) =>
        deviceView(input.busId, device.deviceId, context, snapshot?.children[device.deviceId]),
      ),
      actor: actor ?? null,
    };
  });
}

const MAX_DEPTH = 16;

/**
 * A JSON-safe deep copy with every value under a secret-looking key (password, token, bind_key,
 * secret, authorization) replaced by `***` and credentials in URLs masked. Actor references and
 * functions are shown by name, never walked into.
 */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'string') return maskUrlCredentials(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'undefined') return undefined;
  if (typeof value === 'function') return `[Function ${value.name || 'anonymous'}]`;
  if (typeof value !== 'object') return String(value);
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? '[Array]' : '[Object]';
  if (value instanceof Date) return value.toISOString();
  if ('sessionId' in value && 'send' in value) return `[Actor ${String((value as { id?: unknown }).id)}]`;
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1, seen) ?? null);
    const entries =
      value instanceof Map ? [...value].map(([k, v]) => [String(k), v] as const) : Object.entries(value);
    const result: Record<string, unknown> = {};
    for (const [key, item] of entries) {
      const copied = isSecretKey(key) ? REDACTED : redact(item, depth + 1, seen);
      if (copied !== undefined) result[key] = copied;
    }
    return result;
  } finally {
    seen.delete(value);
  }
}

function actorState(actor: AnyActorRef): Record<string, unknown> {
  const snapshot = snapshotOf<unknown>(actor);
  const children = Object.entries(snapshot.children ?? {}).flatMap(([id, child]) =>
    child
      ? [
          {
            id,
            src: typeof child.src === 'string' ? child.src : 'inline',
            status: child.getSnapshot().status as string,
          },
        ]
      : [],
  );
  return {
    status: snapshot.status,
    state: redact(snapshot.value),
    context: redact(snapshot.context),
    children,
  };
}

export interface StateDocumentOptions {
  tree: TreeSource;
  /** The MQTT link's state, when known. */
  mqttState?: () => string;
  /** The effective config, shown with its secrets masked. */
  config?: () => FieldbridgeConfig;
  now: number;
}

/** `GET /state`: every actor's state and context, secrets removed. */
export function stateDocument(options: StateDocumentOptions): Record<string, unknown> {
  const buses = treeView(options.tree);
  return {
    timestamp: new Date(options.now).toISOString(),
    root: actorState(options.tree.root),
    ...(options.mqttState ? { mqtt: { state: options.mqttState() } } : {}),
    buses: Object.fromEntries(
      buses.map((bus) => [
        bus.busId,
        {
          driver: bus.driver,
          state: bus.state,
          failure: bus.failure,
          restart_at: bus.restartAt === null ? null : new Date(bus.restartAt).toISOString(),
          supervisor: bus.actor ? actorState(bus.actor) : null,
          devices: Object.fromEntries(
            bus.devices.map((device) => [
              device.deviceId,
              { state: device.state, actor: device.actor ? actorState(device.actor) : null },
            ]),
          ),
        },
      ]),
    ),
    ...(options.config ? { config: redact(maskSecrets(options.config())) } : {}),
  };
}
