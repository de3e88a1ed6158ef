import { assign, emit, enqueueActions, fromPromise, setup } from 'xstate';
import { nowOf } from '../../machines/clock.js';
import { errorText } from '../../errorText.js';

// The BLE adapter watchdog, run by the BLE bus runtime while the adapter device is connected. BlueZ is
// known to wedge in ways no call reports: Discovering stays true while no advertisement arrives, a call
// never returns, the scan silently stops. Every `intervalMs` the watchdog looks (the invoked `check`
// actor reads Powered and Discovering over D-Bus, each read bounded, and says when the last
// advertisement arrived) and decides, purely, whether the adapter is healthy.
//
// When it is not, it emits `recover` and the bus supervisor runs the next step of the adapter's ladder
// (stop_discovery → power_cycle_adapter → restart_actor, with the rate limits, logging and notices).
// The step is verified before the next one is asked for: the runtime reports STEP_STARTED/STEP_DONE,
// the watchdog waits `verifyAfterMs` after the step and checks again (an advertisement must have arrived
// since, if the adapter ever heard one). A request that starts no step within `verifyAfterMs` was refused
// (a rate limit) or is queued: the watchdog then holds — it keeps checking and reporting, but stops
// asking, so the supervisor says "rate limited" once and its own housekeeping resumes the climb when the
// limit allows (the device is degraded by then). Healthy again → back to plain checks.
// The two verdicts after a step are what the supervisor verifies it by: the healthy report (the adapter
// device's state, as link data) resets its ladder, so the next stuck scan starts from stop_discovery
// again; asking again means the step did not help, and the ladder goes on.
// Every timer is derived from a deadline kept in context.

export interface WatchdogSettings {
  intervalMs: number;
  /** Discovering this long without any advertisement is stuck. */
  stuckAfterMs: number;
  /** How long after a recovery step it is checked. */
  verifyAfterMs: number;
  /** A check that has not finished by then counts as "D-Bus does not answer" (default 15 s). */
  checkTimeoutMs?: number;
  /** A step that reports no end by then is treated as ended (default 60 s, the supervisor's own bound). */
  stepTimeoutMs?: number;
}

/** What one check saw. */
export interface AdapterCheck {
  present: boolean;
  powered: boolean;
  discovering: boolean;
  /** When Discovering last went true (null when off). */
  discoveringSince: number | null;
  /** When any advertisement last arrived on this adapter (null: never, since the bus opened). */
  lastAdvertisementAt: number | null;
  /**
   * Whether silence means trouble: the adapter heard something before, or sensors are configured on it.
   * A quiet room cannot be told from a stuck scan, so an adapter with neither is never called stuck.
   */
  expectsAdvertisements: boolean;
  /**
   * Since when a connect has our discovery paused (connected BLE pauses it around each connect, see
   * gatt/adapter.ts); null or absent when not paused. A short pause is not a fault.
   */
  discoveryPausedSince?: number | null;
}

export interface WatchdogContext extends Required<WatchdogSettings> {
  nextCheckAt: number;
  /** Recovery requests in the current episode (reset when healthy). */
  requests: number;
  /** When the last step ended; advertisements must be newer to verify it. */
  stepEndedAt: number | null;
  verifyAt: number | null;
  requestedAt: number | null;
  /** The verdict of the last check: null when healthy. */
  problem: string | null;
  lastCheck: AdapterCheck | null;
}

export type WatchdogEvent =
  { type: 'STEP_STARTED'; step: string } | { type: 'STEP_DONE'; step: string; ok: boolean };

export type WatchdogEmitted =
  | { type: 'recover'; reason: string }
  | { type: 'healthy'; check: AdapterCheck; recovered: boolean }
  | { type: 'unhealthy'; problem: string }
  /** A request started no step: the watchdog stops asking until a step runs or the adapter is healthy. */
  | { type: 'holding'; problem: string };

const DEFAULT_CHECK_TIMEOUT_MS = 15_000;
const DEFAULT_STEP_TIMEOUT_MS = 60_000;

const seconds = (ms: number) => Math.round(ms / 100) / 10;

/**
 * The problem a check shows, or null when the adapter is healthy. `stepEndedAt`: after a recovery step,
 * an advertisement must have arrived since (when advertisements are expected at all, see AdapterCheck).
 */
export function diagnose(
  check: AdapterCheck,
  now: number,
  stuckAfterMs: number,
  stepEndedAt: number | null,
): string | null {
  if (!check.present) return 'the adapter is not there';
  if (!check.powered) return 'the adapter is powered off';
  const pausedSince = check.discoveryPausedSince ?? null;
  if (!check.discovering && pausedSince !== null) {
    const pausedMs = now - pausedSince;
    return pausedMs > stuckAfterMs
      ? `discovery was paused for a connect ${seconds(pausedMs)} s ago and never resumed`
      : null;
  }
  if (!check.discovering) return 'discovery is off although the gateway asked for it';
  const last = check.lastAdvertisementAt;
  if (!check.expectsAdvertisements) return null;
  if (stepEndedAt !== null) {
    return last !== null && last >= stepEndedAt
      ? null
      : `still no advertisement ${seconds(now - stepEndedAt)} s after the recovery step`;
  }
  const quietSince = Math.max(last ?? Number.NEGATIVE_INFINITY, check.discoveringSince ?? last ?? now);
  const quietMs = now - quietSince;
  return quietMs > stuckAfterMs
    ? `discovering for ${seconds(quietMs)} s without a single advertisement (stuck)`
    : null;
}

const unbound = () => {
  throw new Error('BLE watchdog used without its check (see src/drivers/ble/watchdog.ts)');
};

/** One check of the adapter, the same wherever the watchdog is; its verdict goes to a sibling `judging`. */
const CHECKING = {
  invoke: {
    src: 'check',
    onDone: { target: 'judging', actions: 'judge' },
    onError: { target: 'judging', actions: 'checkFailed' },
  },
  after: { checkTimeout: { target: 'judging', actions: 'checkTimedOut' } },
} as const;

/** A check that passes while recovering or holding: the episode is over, back to watching. */
const HEALTHY_AGAIN = {
  guard: 'healthy',
  target: '#bleWatchdog.watching',
  actions: ['reportHealthy', 'scheduleCheck'],
} as const;

export const bleWatchdogMachine = setup({
  types: {
    context: {} as WatchdogContext,
    events: {} as WatchdogEvent,
    input: {} as WatchdogSettings,
    emitted: {} as WatchdogEmitted,
  },
  actors: {
    check: fromPromise<AdapterCheck>(unbound),
  },
  delays: {
    untilCheck: ({ context, system }) => Math.max(0, context.nextCheckAt - nowOf(system)),
    untilVerify: ({ context, system }) => Math.max(0, (context.verifyAt ?? 0) - nowOf(system)),
    checkTimeout: ({ context }) => context.checkTimeoutMs,
    stepTimeout: ({ context }) => context.stepTimeoutMs,
  },
  guards: {
    healthy: ({ context }) => context.problem === null,
  },
  actions: {
    /** A check's result → the verdict (guards see no clock, so the time is applied here). */
    judge: assign(({ context, event, system }) => {
      const check = (event as unknown as { output: AdapterCheck }).output;
      return {
        lastCheck: check,
        problem: diagnose(check, nowOf(system), context.stuckAfterMs, context.stepEndedAt),
      };
    }),
    checkFailed: assign(({ event }) => ({
      lastCheck: null,
      problem: `D-Bus did not answer: ${errorText((event as unknown as { error: unknown }).error)}`,
    })),
    checkTimedOut: assign(({ context }) => ({
      lastCheck: null,
      problem: `D-Bus did not answer the check within ${context.checkTimeoutMs} ms`,
    })),
    scheduleCheck: assign(({ context, system }) => ({ nextCheckAt: nowOf(system) + context.intervalMs })),
    /** Healthy: report it; an episode in progress ends (the report verifies the supervisor's last step). */
    reportHealthy: enqueueActions(({ context, enqueue }) => {
      if (context.lastCheck) {
        enqueue.emit({ type: 'healthy', check: context.lastCheck, recovered: context.requests > 0 });
      }
      enqueue.assign({ requests: 0, stepEndedAt: null, verifyAt: null, requestedAt: null });
    }),
    reportProblem: emit(({ context }) => ({
      type: 'unhealthy' as const,
      problem: context.problem ?? 'adapter unhealthy',
    })),
    requestRecovery: enqueueActions(({ context, enqueue, system }) => {
      const now = nowOf(system);
      enqueue.emit({ type: 'recover', reason: `BLE watchdog: ${context.problem ?? 'adapter unhealthy'}` });
      enqueue.assign({
        requests: context.requests + 1,
        requestedAt: now,
        verifyAt: now + context.verifyAfterMs,
        stepEndedAt: null,
      });
    }),
    stepEnded: assign(({ context, system }) => ({
      stepEndedAt: nowOf(system),
      verifyAt: nowOf(system) + context.verifyAfterMs,
    })),
    hold: emit(({ context }) => ({
      type: 'holding' as const,
      problem: context.problem ?? 'adapter unhealthy',
    })),
  },
}).createMachine({
  id: 'bleWatchdog',
  context: ({ input, self }) => ({
    checkTimeoutMs: DEFAULT_CHECK_TIMEOUT_MS,
    stepTimeoutMs: DEFAULT_STEP_TIMEOUT_MS,
    ...input,
    nextCheckAt: nowOf(self.system) + input.intervalMs,
    requests: 0,
    stepEndedAt: null,
    verifyAt: null,
    requestedAt: null,
    problem: null,
    lastCheck: null,
  }),
  initial: 'watching',
  on: {
    // A step the supervisor started on its own (housekeeping, a request over MQTT) is verified the same way.
    STEP_STARTED: { target: '.recovering.stepRunning' },
  },
  states: {
    watching: {
      initial: 'idle',
      states: {
        idle: { after: { untilCheck: 'checking' } },
        checking: CHECKING,
        judging: {
          always: [
            { guard: 'healthy', target: 'idle', actions: ['reportHealthy', 'scheduleCheck'] },
            { target: '#bleWatchdog.recovering', actions: ['reportProblem', 'requestRecovery'] },
          ],
        },
      },
    },
    recovering: {
      initial: 'waitingForStep',
      states: {
        waitingForStep: {
          on: { STEP_STARTED: 'stepRunning' },
          // No step within the verify window: refused (rate limit) or queued behind another device.
          after: { untilVerify: { target: '#bleWatchdog.holding', actions: ['hold', 'scheduleCheck'] } },
        },
        stepRunning: {
          on: { STEP_DONE: { target: 'settling', actions: 'stepEnded' } },
          after: { stepTimeout: { target: 'settling', actions: 'stepEnded' } },
        },
        settling: { after: { untilVerify: 'checking' } },
        checking: CHECKING,
        judging: {
          always: [
            HEALTHY_AGAIN,
            { target: 'waitingForStep', actions: ['reportProblem', 'requestRecovery'] },
          ],
        },
      },
    },
    holding: {
      initial: 'idle',
      states: {
        idle: { after: { untilCheck: 'checking' } },
        checking: CHECKING,
        judging: {
          always: [HEALTHY_AGAIN, { target: 'idle', actions: ['reportProblem', 'scheduleCheck'] }],
        },
      },
    },
  },
});

export type BleWatchdogMachine = typeof bleWatchdogMachine;
