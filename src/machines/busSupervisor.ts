import {
  and,
  assign,
  enqueueActions,
  fromCallback,
  fromPromise,
  not,
  raise,
  sendTo,
  setup,
  stateIn,
} from 'xstate';
import { chooseRecovery, finishRecovery, verifyRecovery } from './busSupervisorRecovery.js';
import {
  BUS_WATCH_ID,
  type ReleaseLink,
  restartDevice,
  spawnDevices,
  stopDevices,
} from './busSupervisorChildren.js';
import {
  afterHousekeeping,
  type BusSupervisorContext,
  type BusSupervisorEvent,
  type BusSupervisorInput,
  commandRejection,
  initialContext,
  requestRecovery,
} from './busSupervisorModel.js';
import { nowOf } from './clock.js';
import { CONNECTION_MACHINE_VERSION, connectionMachine } from './connection.js';
import type { GatewayNotice } from './notices.js';
import { deliver, OUTLET_SYSTEM_ID } from './outlet.js';
import { errorText } from '../errorText.js';

// One supervisor per bus/adapter, each the root of an actor system of its own: XState's spawning is
// O(N²) per parent and its scheduler scans every timer of a system whenever an actor stops, so one
// system for thousands of devices slows down quadratically (measured: bench/actorTree.ts). It runs the
// bus's devices as children with OTP semantics: a crashed child is restarted alone (one_for_one) or
// with the children started after it (rest_for_one), restarts back off, and more than `maxRestarts`
// within `periodMs` makes it stop everything and escalate to the root. It also climbs each device's
// recovery ladder when the device goes offline, stays degraded or its driver's watchdog asks, one step
// at a time per bus; once the device shows a step helped, the ladder starts over for the next trouble. I/O
// (opening the bus, watching it, recovery steps) is in invoked actors bound by
// src/hosting/supervisorActors.ts; notices leave through the system's outlet (outlet.ts). The data and
// decisions are in busSupervisorModel.ts, the starting and stopping of children in busSupervisorChildren.ts,
// the ends of a recovery step in busSupervisorRecovery.ts. A snapshot of it (with its devices') is
// persisted and restored by src/hosting/supervisorActors.ts; `RESUME` then re-arms its timers.

/**
 * Bumped whenever a change makes older persisted snapshots of a bus supervisor unusable.
 * 2: a device's watch holds the step waiting for its verification.
 */
export const BUS_SUPERVISOR_MACHINE_VERSION = 2;

/**
 * The version of a persisted bus snapshot, which holds its devices' snapshots too: it changes when
 * either machine's does. One integer (the store keeps versions as integers), the connection machine's
 * version in the last three digits.
 */
export const BUS_SNAPSHOT_VERSION = BUS_SUPERVISOR_MACHINE_VERSION * 1000 + CONNECTION_MACHINE_VERSION;

const ERROR_PREFIX = 'xstate.error.actor.';
const DONE_PREFIX = 'xstate.done.actor.';

interface BusInput {
  busId: string;
}

interface RecoveryInput extends BusInput {
  deviceId: string;
  step: string;
}

const unbound = (what: string) => () => {
  throw new Error(`bus supervisor used without I/O: ${what} is not bound (see supervisorActors.ts)`);
};

export const busSupervisorMachine = setup({
  types: {
    context: {} as BusSupervisorContext,
    events: {} as BusSupervisorEvent,
    input: {} as BusSupervisorInput,
  },
  actors: {
    device: connectionMachine,
    openBus: fromPromise<void, BusInput>(unbound('openBus')),
    closeBus: fromPromise<void, BusInput>(unbound('closeBus')),
    busWatch: fromCallback<ReleaseLink, BusInput>(unbound('busWatch')),
    recoveryStep: fromPromise<void, RecoveryInput>(unbound('recoveryStep')),
    outlet: fromCallback<GatewayNotice>(unbound('outlet')),
  },
  delays: {
    housekeeping: ({ context }) => context.housekeepingMs,
    recoveryTimeout: ({ context }) => context.recoveryTimeoutMs,
    untilNextRestart: ({ context, system }) => {
      const next = Math.min(...context.pendingRestarts.map((r) => r.dueAt));
      return Math.max(0, next - nowOf(system));
    },
  },
  guards: {
    isRunning: stateIn({ lifecycle: 'running' }),
    hasPendingRestarts: ({ context }) => context.pendingRestarts.length > 0,
    hasRecoveryRequest: ({ context }) => context.recoveryQueue.length > 0 && context.recovering === null,
    recoveringStepChosen: ({ context }) => context.recovering !== null,
  },
  actions: {
    spawnAllDevices: enqueueActions(({ context, enqueue, system }) => {
      spawnDevices(enqueue, context, context.running, nowOf(system));
    }),
    restartChild: enqueueActions(({ context, event, enqueue, self, system }) => {
      if (event.type === 'RESTART_CHILD') restartDevice(enqueue, context, self, system, event);
    }),
    startDueRestarts: enqueueActions(({ context, enqueue, system }) => {
      const now = nowOf(system);
      const due = context.pendingRestarts.filter((r) => r.dueAt <= now).map((r) => r.deviceId);
      const later = context.pendingRestarts.filter((r) => r.dueAt > now);
      enqueue.assign({ pendingRestarts: later });
      if (later.length > 0) enqueue.raise({ type: 'RESTARTS_CHANGED' });
      spawnDevices(enqueue, context, due, now);
    }),
    trackStatus: enqueueActions(({ context, event, enqueue, system }) => {
      if (event.type !== 'device.status') return;
      const watch = context.watches[event.deviceId];
      if (!watch) return;
      deliver(enqueue, system, event);
      // `connecting` is a passing step between the states supervision acts on; not copying the
      // watches for it halves the supervisor's work while a large bus starts.
      if (event.status === 'connecting') return;
      const changed = watch.status !== event.status;
      enqueue.assign({
        watches: {
          ...context.watches,
          [event.deviceId]: {
            ...watch,
            status: event.status,
            since: changed ? event.at : watch.since,
            waitUntil: event.status === 'connected.healthy' ? null : watch.waitUntil,
          },
        },
      });
      if (event.status === 'connected.healthy') {
        const ownChecksPassed = watch.status === 'connected.degraded';
        verifyRecovery(enqueue, context, system, event.deviceId, 'connected and healthy', ownChecksPassed);
      }
      if (event.status === 'offline' && watch.waitUntil === null) {
        enqueue.assign(({ context: current }) => ({
          recoveryQueue: requestRecovery(current, {
            deviceId: event.deviceId,
            step: null,
            reason: event.reason,
          }),
        }));
        enqueue.raise({ type: 'RECOVERY_CHECK' });
      }
    }),
    /** Pops the next recovery request and decides what it runs; restart_actor is done by the supervisor. */
    chooseRecovery: enqueueActions(({ context, enqueue, system }) =>
      chooseRecovery(enqueue, context, system),
    ),
    finishRecovery: enqueueActions(({ context, enqueue, system }, params: { ok: boolean; detail: string }) =>
      finishRecovery(enqueue, context, system, params),
    ),
    runHousekeeping: enqueueActions(({ context, enqueue, system }) => {
      const update = afterHousekeeping(context, nowOf(system));
      // A quiet tick assigns nothing: an unchanged context is no change to persist (snapshotPort.ts).
      if (update.watches !== context.watches || update.recoveryQueue !== context.recoveryQueue) {
        enqueue.assign(update);
      }
    }),
    forwardCommand: enqueueActions(({ context, event, enqueue, system }) => {
      if (event.type !== 'COMMAND') return;
      if (context.running.includes(event.deviceId)) {
        enqueue.sendTo(event.deviceId, {
          type: 'COMMAND',
          id: event.id,
          operation: event.operation,
          args: event.args,
        });
        return;
      }
      deliver(enqueue, system, commandRejection(context, event, nowOf(system)));
    }),
    confirmStep: enqueueActions(({ context, event, enqueue, system }) => {
      if (event.type !== 'STEP_CONFIRMED' || !context.running.includes(event.deviceId)) return;
      verifyRecovery(
        enqueue,
        context,
        system,
        event.deviceId,
        `a ${event.operation} succeeded after the step`,
      );
    }),
    forwardDeviceEvent: enqueueActions(({ context, event, enqueue, system }) => {
      if (event.type === 'DEVICE_EVENT' && context.running.includes(event.deviceId)) {
        enqueue.sendTo(event.deviceId, event.event);
        // Data the device reported by itself is a sign it is well, like connecting healthy is.
        if (event.event.type === 'LINK_DATA')
          verifyRecovery(enqueue, context, system, event.deviceId, 'it reports data');
      }
    }),
    resumeDevices: enqueueActions(({ context, enqueue }) => {
      for (const deviceId of context.running) enqueue.sendTo(deviceId, { type: 'RESUME' });
    }),
    broadcast: enqueueActions(({ context, event, enqueue }) => {
      const message =
        event.type === 'BUS_LOST'
          ? { type: 'LINK_LOST' as const, error: event.error, busLinkDown: event.logged === true }
          : { type: 'DEVICE_PRESENT' as const };
      for (const deviceId of context.running) enqueue.sendTo(deviceId, message);
    }),
    restartCrashedChild: enqueueActions(({ context, event, enqueue }) => {
      const deviceId = event.type.slice(ERROR_PREFIX.length);
      if (!context.running.includes(deviceId)) return;
      const error = errorText((event as unknown as { error: unknown }).error);
      enqueue.raise({ type: 'RESTART_CHILD', deviceId, reason: `crashed: ${error}`, crashed: true });
    }),
    restartFinishedChild: enqueueActions(({ context, event, enqueue }) => {
      const deviceId = event.type.slice(DONE_PREFIX.length);
      if (!context.running.includes(deviceId)) return;
      enqueue.raise({ type: 'RESTART_CHILD', deviceId, reason: 'stopped', crashed: false });
    }),
    enterFailed: enqueueActions(({ context, enqueue, self, system }) => {
      const reason = context.failure ?? 'bus stopped';
      stopDevices(enqueue, self, system, context.running, reason, false);
      enqueue.assign({ pendingRestarts: [], recoveryQueue: [], recovering: null });
      deliver(enqueue, system, {
        type: 'supervisor.escalated',
        busId: context.busId,
        reason,
        at: nowOf(system),
      });
    }),
  },
}).createMachine({
  id: 'busSupervisor',
  type: 'parallel',
  context: ({ input, self }) => initialContext(input, nowOf(self.system)),
  // Each bus runs in an actor system of its own (see supervisorActors.ts), with its own outlet.
  invoke: { id: OUTLET_SYSTEM_ID, systemId: OUTLET_SYSTEM_ID, src: 'outlet' },
  states: {
    lifecycle: {
      initial: 'starting',
      states: {
        starting: {
          invoke: {
            src: 'openBus',
            input: ({ context }) => ({ busId: context.busId }),
            onDone: 'running',
            onError: {
              target: 'failed',
              actions: assign(({ event }) => ({
                failure: `bus could not be opened: ${errorText(event.error)}`,
              })),
            },
          },
          on: { STOP: { target: 'failed', actions: assign(({ event }) => ({ failure: event.reason })) } },
        },
        running: {
          entry: 'spawnAllDevices',
          invoke: { id: BUS_WATCH_ID, src: 'busWatch', input: ({ context }) => ({ busId: context.busId }) },
          on: {
            'device.status': { actions: 'trackStatus' },
            COMMAND: { actions: 'forwardCommand' },
            DEVICE_EVENT: { actions: 'forwardDeviceEvent' },
            STEP_CONFIRMED: { actions: 'confirmStep' },
            LINK_RELEASE: {
              actions: sendTo(BUS_WATCH_ID, ({ event }): ReleaseLink => ({
                type: 'RELEASE',
                deviceId: event.deviceId,
              })),
            },
            RESUME: { actions: 'resumeDevices' },
            BUS_LOST: { actions: 'broadcast' },
            BUS_PRESENT: { actions: 'broadcast' },
            RESTART_DEVICE: {
              actions: enqueueActions(({ event, enqueue }) => {
                enqueue.raise({
                  type: 'RESTART_CHILD',
                  deviceId: event.deviceId,
                  reason: event.reason,
                  crashed: true,
                  requested: true,
                });
              }),
            },
            RESTART_CHILD: { actions: 'restartChild' },
            RECOVER: {
              actions: [
                assign(({ context, event }) => ({
                  recoveryQueue: requestRecovery(context, {
                    deviceId: event.deviceId,
                    step: event.step,
                    reason: event.reason,
                  }),
                })),
                raise({ type: 'RECOVERY_CHECK' }),
              ],
            },
            'xstate.error.actor.*': { actions: 'restartCrashedChild' },
            'xstate.done.actor.*': { actions: 'restartFinishedChild' },
            STOP: { target: 'failed', actions: assign(({ event }) => ({ failure: event.reason })) },
          },
        },
        failed: {
          entry: 'enterFailed',
          invoke: { src: 'closeBus', input: ({ context }) => ({ busId: context.busId }) },
        },
      },
    },
    restarts: {
      initial: 'idle',
      states: {
        // Event-driven, not `always`: these regions sit in `idle` nearly all the time, and an eventless
        // transition there would be evaluated on every event the supervisor handles.
        idle: {
          on: {
            RESTARTS_CHANGED: { guard: and(['hasPendingRestarts', 'isRunning']), target: 'waiting' },
            RESUME: { guard: and(['hasPendingRestarts', 'isRunning']), target: 'waiting' },
          },
        },
        waiting: {
          always: { guard: not('isRunning'), target: 'idle' },
          after: { untilNextRestart: { target: 'idle', actions: 'startDueRestarts' } },
          // Re-entered, the timer is derived again from the `dueAt` of the pending restarts.
          on: {
            RESTARTS_CHANGED: { target: 'waiting', reenter: true },
            RESUME: { target: 'waiting', reenter: true },
          },
        },
      },
    },
    recovery: {
      initial: 'idle',
      states: {
        idle: {
          entry: raise({ type: 'RECOVERY_CHECK' }),
          on: {
            RECOVERY_CHECK: [
              { guard: 'recoveringStepChosen', target: 'running' },
              {
                guard: and(['hasRecoveryRequest', 'isRunning']),
                actions: ['chooseRecovery', raise({ type: 'RECOVERY_CHECK' })],
              },
            ],
            RESUME: { actions: raise({ type: 'RECOVERY_CHECK' }) },
          },
        },
        running: {
          always: { guard: not('isRunning'), target: 'idle' },
          // The step starts over with a fresh timeout: a restored snapshot holds no invoked step.
          on: { RESUME: { target: 'running', reenter: true } },
          invoke: {
            src: 'recoveryStep',
            input: ({ context }) => ({
              busId: context.busId,
              deviceId: context.recovering?.deviceId ?? '',
              step: context.recovering?.step ?? '',
            }),
            onDone: {
              target: 'idle',
              actions: { type: 'finishRecovery', params: { ok: true, detail: 'step completed' } },
            },
            onError: {
              target: 'idle',
              actions: {
                type: 'finishRecovery',
                params: ({ event }) => ({ ok: false, detail: errorText(event.error) }),
              },
            },
          },
          after: {
            recoveryTimeout: {
              target: 'idle',
              actions: {
                type: 'finishRecovery',
                params: ({ context }) => ({
                  ok: false,
                  detail: `step timed out after ${context.recoveryTimeoutMs} ms`,
                }),
              },
            },
          },
        },
      },
    },
    housekeeping: {
      initial: 'ticking',
      states: {
        ticking: {
          on: { RESUME: { target: 'ticking', reenter: true } },
          after: {
            housekeeping: {
              target: 'ticking',
              reenter: true,
              actions: ['runHousekeeping', raise({ type: 'RECOVERY_CHECK' })],
            },
          },
        },
      },
    },
  },
});

export type BusSupervisorMachine = typeof busSupervisorMachine;
