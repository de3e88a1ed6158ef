import type { JsonValue, RecoveryStepSpec } from '../drivers/contract.js';
import type { ConnectionEvent } from './connectionModel.js';
import { climb, FRESH_LADDER, type LadderState, resetLadder } from './ladder.js';
import type { CommandResultNotice, DeviceNotice, DeviceStatus, SupervisorNotice } from './notices.js';
import type { DevicePolicy, RestartType, SupervisorPolicy } from './policy.js';
import { EMPTY_RESTART_BOOK, type RestartBook } from './restarts.js';

// The data of a bus supervisor: its input, context and events, and the pure bookkeeping on them.
// The machine itself (busSupervisor.ts) only wires these to states and actors.

export interface DeviceSpec {
  deviceId: string;
  restart: RestartType;
  policy: DevicePolicy;
}

export interface BusSupervisorInput {
  busId: string;
  driver: string;
  recoverySteps: readonly RecoveryStepSpec[];
  policy: SupervisorPolicy;
  /** In start order, which is also the order `rest_for_one` restarts in. */
  devices: readonly DeviceSpec[];
  /** How often degraded time, stable time and rate-limit waits are checked. */
  housekeepingMs?: number;
  /** Longest a driver's recovery step may run before it counts as failed. */
  recoveryTimeoutMs?: number;
}

export interface PendingRestart {
  deviceId: string;
  dueAt: number;
  reason: string;
}

export interface RecoveryRequest {
  deviceId: string;
  /** A named step (a manual request), or null to climb the ladder. */
  step: string | null;
  reason: string;
}

export interface DeviceWatch {
  status: DeviceStatus;
  /** When the device entered `status`. */
  since: number;
  ladder: LadderState;
  /** While a rate limit holds the ladder: when the step may run again. */
  waitUntil: number | null;
  /** When degraded time was last turned into a climb (so it climbs once per degraded period). */
  lastDegradedClimbAt: number | null;
  restarts: number;
  lastRecovery: { step: string; outcome: string; at: number } | null;
  /**
   * A step that completed and has not yet shown whether it helped: the device's next sign of health
   * verifies it (see verifiedWatch), its next climb says it did not help.
   */
  unverifiedStep: string | null;
}

export interface BusSupervisorContext extends Required<BusSupervisorInput> {
  /** Devices currently running as children (a `temporary` one that ended is dropped). */
  running: string[];
  watches: Record<string, DeviceWatch>;
  restartBook: RestartBook;
  pendingRestarts: PendingRestart[];
  recoveryQueue: RecoveryRequest[];
  recovering: (RecoveryRequest & { step: string }) | null;
  failure: string | null;
}

export type BusSupervisorEvent =
  | DeviceNotice
  | { type: 'COMMAND'; deviceId: string; id: string; operation: string; args: JsonValue }
  | { type: 'DEVICE_EVENT'; deviceId: string; event: ConnectionEvent }
  /** From a device leaving `connected`: its link is to be released by the bus watcher. */
  | { type: 'LINK_RELEASE'; deviceId: string }
  /** From a connected device: an operation succeeded after a recovery step (its RETRY) found it connected. */
  | { type: 'STEP_CONFIRMED'; deviceId: string; operation: string }
  | { type: 'RESTART_DEVICE'; deviceId: string; reason: string }
  | { type: 'RECOVER'; deviceId: string; step: string | null; reason: string }
  /** `logged`: the bus's runtime logged the loss once for the bus (BusEvent `lost`). */
  | { type: 'BUS_LOST'; error: string; logged?: true }
  | { type: 'BUS_PRESENT' }
  | { type: 'STOP'; reason: string }
  /**
   * Sent once after a persisted snapshot is restored (XState persists no timers): re-arms the timed
   * regions from the deadlines in context and is passed on to every running device.
   */
  | { type: 'RESUME' }
  /**
   * Internal: restart a child (and its rest_for_one group) as its restart type says. `requested`: an
   * operator asked for it (HTTP, MQTT): not a failure, so it neither counts toward the restart
   * intensity nor waits out a crash backoff.
   */
  | { type: 'RESTART_CHILD'; deviceId: string; reason: string; crashed: boolean; requested?: boolean }
  /** Internal: the recovery region looks at its queue (after it grew or a step ended). */
  | { type: 'RECOVERY_CHECK' }
  /** Internal: re-arms the restart timer after a restart was scheduled. */
  | { type: 'RESTARTS_CHANGED' };

export function freshWatch(now: number): DeviceWatch {
  return {
    status: 'disconnected',
    since: now,
    ladder: FRESH_LADDER,
    waitUntil: null,
    lastDegradedClimbAt: null,
    restarts: 0,
    lastRecovery: null,
    unverifiedStep: null,
  };
}

export function initialContext(input: BusSupervisorInput, now: number): BusSupervisorContext {
  return {
    housekeepingMs: 5_000,
    recoveryTimeoutMs: 60_000,
    ...input,
    running: input.devices.map((d) => d.deviceId),
    watches: Object.fromEntries(input.devices.map((d) => [d.deviceId, freshWatch(now)])),
    restartBook: EMPTY_RESTART_BOOK,
    pendingRestarts: [],
    recoveryQueue: [],
    recovering: null,
    failure: null,
  };
}

export function specOf(context: BusSupervisorContext, deviceId: string): DeviceSpec | undefined {
  return context.devices.find((d) => d.deviceId === deviceId);
}

/** The devices a restart of `deviceId` takes down with it: itself, plus those started after it for rest_for_one. */
export function restartGroup(context: BusSupervisorContext, deviceId: string): string[] {
  if (context.policy.strategy === 'one_for_one') return [deviceId];
  const order = context.devices.map((d) => d.deviceId);
  const index = order.indexOf(deviceId);
  return order.slice(index).filter((id) => id === deviceId || context.running.includes(id));
}

/** Adds a climb request unless that device already has one queued or running. */
export function requestRecovery(context: BusSupervisorContext, request: RecoveryRequest): RecoveryRequest[] {
  const busy =
    context.recovering?.deviceId === request.deviceId ||
    context.recoveryQueue.some((r) => r.deviceId === request.deviceId);
  return busy ? context.recoveryQueue : [...context.recoveryQueue, request];
}

/** Which devices the periodic check wants a climb for, and whose ladders have been stable long enough. */
export function housekeeping(
  context: BusSupervisorContext,
  now: number,
): { climb: RecoveryRequest[]; resetLadders: string[] } {
  const climb: RecoveryRequest[] = [];
  const resetLadders: string[] = [];
  for (const deviceId of context.running) {
    const watch = context.watches[deviceId];
    if (!watch) continue;
    if (watch.waitUntil !== null) {
      if (now >= watch.waitUntil && (watch.status === 'offline' || watch.status === 'connected.degraded')) {
        climb.push({ deviceId, step: null, reason: 'rate limit expired, still ' + watch.status });
      }
      continue;
    }
    if (watch.status === 'connected.degraded') {
      const degradedFrom = Math.max(watch.since, watch.lastDegradedClimbAt ?? 0);
      if (now - degradedFrom >= context.policy.degradedAfterMs) {
        const minutes = Math.round((now - watch.since) / 60_000);
        climb.push({ deviceId, step: null, reason: `degraded for ${minutes} min` });
      }
    }
    if (watch.status === 'connected.healthy' && watch.ladder.rung > 0) {
      if (now - watch.since >= context.policy.ladderResetAfterMs) resetLadders.push(deviceId);
    }
  }
  return { climb, resetLadders };
}

/** The answer to a command for a device that is not running, so the caller is not left waiting. */
export function commandRejection(
  context: BusSupervisorContext,
  command: Extract<BusSupervisorEvent, { type: 'COMMAND' }>,
  at: number,
): CommandResultNotice {
  const restarting = context.pendingRestarts.some((r) => r.deviceId === command.deviceId);
  const error = restarting
    ? `device ${command.deviceId} is restarting, try again shortly`
    : `device ${command.deviceId} is not running on ${context.busId}`;
  return {
    type: 'device.commandResult',
    deviceId: command.deviceId,
    commandId: command.id,
    operation: command.operation,
    result: { ok: false, error },
    refused: 'not_running',
    at,
  };
}

/** The context change of the periodic check: climbs it asks for queued, stable ladders back on rung 0. */
export function afterHousekeeping(
  context: BusSupervisorContext,
  now: number,
): Pick<BusSupervisorContext, 'recoveryQueue' | 'watches'> {
  const { climb: requests, resetLadders } = housekeeping(context, now);
  // Nothing to do is returned as the same objects, so the machine can tell it is no change.
  if (requests.length === 0 && resetLadders.length === 0) {
    return { recoveryQueue: context.recoveryQueue, watches: context.watches };
  }
  let recoveryQueue = context.recoveryQueue;
  for (const request of requests) recoveryQueue = requestRecovery({ ...context, recoveryQueue }, request);
  const watches = { ...context.watches };
  for (const deviceId of resetLadders) {
    const watch = watches[deviceId];
    if (watch) watches[deviceId] = { ...watch, ladder: resetLadder(watch.ladder) };
  }
  for (const request of requests) {
    const watch = watches[request.deviceId];
    if (watch) watches[request.deviceId] = { ...watch, waitUntil: null };
  }
  return { recoveryQueue, watches };
}

type RecoveryNotice = Extract<SupervisorNotice, { type: 'supervisor.recovery' }>;

/** What is reported about a recovery step: everything of the notice but where and when. */
export type RecoveryReport = Pick<RecoveryNotice, 'step' | 'outcome' | 'detail'>;

export function recoveryNotice(
  context: BusSupervisorContext,
  deviceId: string,
  report: RecoveryReport,
  at: number,
): RecoveryNotice {
  return { type: 'supervisor.recovery', busId: context.busId, deviceId, ...report, at };
}

/** What a recovery request comes to: the report, the device's watch after it, and the step to start. */
export interface RecoveryPlan {
  report: RecoveryReport;
  /** The device's watch after the decision, or null when it stays as it is. */
  watch: DeviceWatch | null;
  /** The step to start now, or null when none runs (no such step, or a rate limit holds). */
  start: string | null;
}

/**
 * Decides a recovery request: a named step (a manual request) runs from its own rate-limit history
 * without moving the ladder; otherwise the device's ladder climbs one rung. A climb means the trouble
 * is still there, so a step still waiting for its verification did not help: the ladder goes on from
 * where it is instead of starting over.
 */
export function planRecovery(
  context: BusSupervisorContext,
  request: RecoveryRequest,
  watch: DeviceWatch,
  now: number,
): RecoveryPlan {
  const named = request.step !== null;
  const steps = named ? context.recoverySteps.filter((s) => s.name === request.step) : context.recoverySteps;
  const decision = climb(steps, named ? { rung: 0, history: watch.ladder.history } : watch.ladder, now);
  if (decision.kind === 'no_steps') {
    const known = context.recoverySteps.map((s) => s.name).join(', ');
    const detail = `driver ${context.driver} has no recovery step "${request.step}" (known: ${known})`;
    return { report: { step: request.step ?? 'none', outcome: 'failed', detail }, watch: null, start: null };
  }
  if (decision.kind === 'rate_limited') {
    const waitS = Math.ceil((decision.retryAt - now) / 1000);
    const detail = `rate limit reached, waiting ${waitS} s instead of trying again now`;
    // Only the ladder waits for the limit (housekeeping climbs again when it allows): a refused manual
    // request must not hold back the automatic recovery of a device that goes down later.
    return {
      report: { step: decision.step, outcome: 'rate_limited', detail },
      watch: named ? null : { ...watch, waitUntil: decision.retryAt, unverifiedStep: null },
      start: null,
    };
  }
  return {
    report: { step: decision.step, outcome: 'started', detail: request.reason },
    watch: {
      ...watch,
      ladder: named ? { ...watch.ladder, history: decision.ladder.history } : decision.ladder,
      unverifiedStep: named ? watch.unverifiedStep : null,
      waitUntil: null,
      lastDegradedClimbAt: watch.status === 'connected.degraded' ? now : watch.lastDegradedClimbAt,
      lastRecovery: { step: decision.step, outcome: 'started', at: now },
    },
    start: decision.step,
  };
}

/**
 * The device shows it is well: it became connected and healthy, or reported data of its own (for BLE,
 * the adapter watchdog's check, which after a step passes only once advertisements arrive again). A
 * completed step waiting for this is verified: the trouble is over, and the next one is a new incident
 * that starts from the first rung.
 *
 * `ownChecksPassed`: a degraded device whose own operations succeed again (connected.degraded →
 * connected.healthy, not a reconnect) is over its trouble even when no step helped (a hung bluetoothd
 * that answers again), so its ladder starts over too. A reconnect proves less (a restarted BLE adapter
 * connects healthy and is found stuck 8 s later): it counts only through a waiting step, or the stable
 * period. Null when there is nothing to do, the common case on the path of every reading.
 */
export function verifiedWatch(watch: DeviceWatch, now: number, ownChecksPassed = false): DeviceWatch | null {
  if (watch.unverifiedStep !== null) {
    return {
      ...watch,
      ladder: resetLadder(watch.ladder),
      unverifiedStep: null,
      lastRecovery: { step: watch.unverifiedStep, outcome: 'verified', at: now },
    };
  }
  if (ownChecksPassed && watch.ladder.rung > 0) return { ...watch, ladder: resetLadder(watch.ladder) };
  return null;
}
