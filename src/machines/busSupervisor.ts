import {
  type AnyActorRef,
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
import { RESTART_ACTOR_STEP } from '../actors/driver.js';
import {
  type BusSupervisorContext,
  type BusSupervisorEvent,
  type BusSupervisorInput,
  freshWatch,
  housekeeping,
  initialContext,
  type RecoveryRequest,
  requestRecovery,
  restartGroup,
  specOf,
} from './busSupervisorModel.js';
import { nowOf } from './clock.js';
import { type ConnectionInput, connectionMachine, errorText } from './connection.js';
import { climb, resetLadder } from './ladder.js';
import type { CommandResultNotice, DeviceNotice, GatewayNotice } from './notices.js';
import { deliver, OUTLET_SYSTEM_ID } from './outlet.js';
import { decideRestart } from './restarts.js';

// One supervisor per bus/adapter, each the root of an actor system of its own: XState's spawning is
// O(N²) per parent and its scheduler scans every timer of a system whenever an actor stops, so one
// system for thousands of devices slows down quadratically (measured: bench/actorTree.ts). It runs the bus's devices as children with OTP semantics: a crashed child is restarted
// alone (one_for_one) or with the children started after it (rest_for_one), restarts back off, and
// more than `maxRestarts` within `periodMs` makes it stop everything and escalate to the root. It also
// climbs each device's recovery ladder when the device goes offline or stays degraded, one step at a
// time per bus. I/O (opening the bus, watching it, recovery steps) is in invoked actors bound by
// src/actors/supervisorActors.ts; notices leave through the system's outlet (outlet.ts).

const ERROR_PREFIX = 'xstate.error.actor.';
const DONE_PREFIX = 'xstate.done.actor.';

interface BusInput {
  busId: string;
}

interface RecoveryInput extends BusInput {
  deviceId: string;
  step: string;
}

type ChildRef = { getSnapshot(): { context?: { commands?: readonly { id: string; operation: string }[] } } };

/** Answers the commands still queued in a child that is about to be stopped, so none is lost silently. */
function commandsOfStoppedChild(
  child: ChildRef | undefined,
  deviceId: string,
  error: string,
  at: number,
): CommandResultNotice[] {
  const commands = child?.getSnapshot().context?.commands ?? [];
  return commands.map((command) => ({
    type: 'device.commandResult',
    deviceId,
    commandId: command.id,
    operation: command.operation,
    result: { ok: false, error },
    at,
  }));
}

/** What the bus watcher (the bus's I/O actor) is sent: release the link of a device. */
export interface ReleaseLink {
  type: 'RELEASE';
  deviceId: string;
}

const BUS_WATCH_ID = 'busWatch';

interface ChildControl {
  spawnChild(src: 'device', options: { id: string; input: ConnectionInput }): void;
  stopChild(id: string): void;
  sendTo(to: AnyActorRef | string, event: { type: string } & Record<string, unknown>): void;
  assign(update: (args: { context: BusSupervisorContext }) => Partial<BusSupervisorContext>): void;
}

type SystemLike = Parameters<typeof deliver>[1] & Parameters<typeof nowOf>[0];

/** Spawns devices as children and tells them to connect. */
function spawnDevices(
  enqueue: ChildControl,
  context: BusSupervisorContext,
  deviceIds: readonly string[],
  now: number,
) {
  for (const deviceId of deviceIds) {
    const spec = specOf(context, deviceId);
    if (!spec) continue;
    enqueue.spawnChild('device', {
      id: deviceId,
      input: { deviceId, busId: context.busId, policy: spec.policy },
    });
    enqueue.sendTo(deviceId, { type: 'CONNECT' });
  }
  enqueue.assign(({ context: current }) => ({
    running: [...new Set([...current.running, ...deviceIds])],
    watches: {
      ...current.watches,
      ...Object.fromEntries(
        deviceIds.map((id) => [
          id,
          { ...(current.watches[id] ?? freshWatch(now)), status: 'disconnected' as const, since: now },
        ]),
      ),
    },
  }));
}

/** Stops children, answering the commands still queued in them first so none is lost silently. */
function stopDevices(
  enqueue: ChildControl,
  self: { getSnapshot(): { children: unknown } },
  system: SystemLike,
  deviceIds: readonly string[],
  reason: string,
) {
  const now = nowOf(system);
  const children = self.getSnapshot().children as Record<string, ChildRef | undefined>;
  for (const deviceId of deviceIds) {
    const error = `device ${deviceId} was restarted (${reason}) before the command ran`;
    for (const notice of commandsOfStoppedChild(children[deviceId], deviceId, error, now)) {
      deliver(enqueue, system, notice);
    }
    enqueue.stopChild(deviceId);
    // A stopped actor runs no exit actions, so its link is released here.
    enqueue.sendTo(BUS_WATCH_ID, { type: 'RELEASE', deviceId } satisfies ReleaseLink);
  }
  enqueue.assign(({ context }) => ({ running: context.running.filter((id) => !deviceIds.includes(id)) }));
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
    /** Restarts a child (with its rest_for_one group) as its restart type says, or escalates. */
    restartChild: enqueueActions(({ context, event, enqueue, self, system }) => {
      if (event.type !== 'RESTART_CHILD') return;
      const now = nowOf(system);
      const spec = specOf(context, event.deviceId);
      if (!spec) return;
      const group = restartGroup(context, event.deviceId);
      stopDevices(enqueue, self, system, group, event.reason);
      const restarts = spec.restart === 'permanent' || (spec.restart === 'transient' && event.crashed);
      const toRestart = restarts ? group : group.filter((id) => id !== event.deviceId);
      if (!restarts) {
        deliver(enqueue, system, {
          type: 'supervisor.child_stopped',
          busId: context.busId,
          actorId: event.deviceId,
          reason: `${event.reason}; not restarted (restart: ${spec.restart})`,
          at: now,
        });
      }
      if (toRestart.length === 0) return;
      const decision = decideRestart(context.policy, context.restartBook, now);
      enqueue.assign({ restartBook: decision.book });
      if (decision.kind === 'escalate') {
        enqueue.raise({ type: 'STOP', reason: decision.reason });
        return;
      }
      for (const deviceId of toRestart) {
        deliver(enqueue, system, {
          type: 'supervisor.restart',
          busId: context.busId,
          actorId: deviceId,
          reason:
            deviceId === event.deviceId ? event.reason : `restarted with ${event.deviceId} (rest_for_one)`,
          delayMs: decision.delayMs,
          at: now,
        });
      }
      enqueue.assign(({ context: current }) => ({
        pendingRestarts: [
          ...current.pendingRestarts.filter((r) => !toRestart.includes(r.deviceId)),
          ...toRestart.map((deviceId) => ({ deviceId, dueAt: now + decision.delayMs, reason: event.reason })),
        ],
        watches: Object.fromEntries(
          Object.entries(current.watches).map(([id, watch]) =>
            toRestart.includes(id) ? [id, { ...watch, restarts: watch.restarts + 1 }] : [id, watch],
          ),
        ),
      }));
      enqueue.raise({ type: 'RESTARTS_CHANGED' });
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
    chooseRecovery: enqueueActions(({ context, enqueue, system }) => {
      const [request, ...rest] = context.recoveryQueue as [RecoveryRequest, ...RecoveryRequest[]];
      enqueue.assign({ recoveryQueue: rest });
      const watch = context.watches[request.deviceId];
      if (!watch || !context.running.includes(request.deviceId)) return;
      const now = nowOf(system);
      const named = request.step !== null;
      const steps = named
        ? context.recoverySteps.filter((s) => s.name === request.step)
        : context.recoverySteps;
      const decision = climb(steps, named ? { rung: 0, history: watch.ladder.history } : watch.ladder, now);
      const report = (step: string, outcome: 'started' | 'rate_limited' | 'failed', detail: string) =>
        deliver(enqueue, system, {
          type: 'supervisor.recovery',
          busId: context.busId,
          deviceId: request.deviceId,
          step,
          outcome,
          detail,
          at: now,
        });
      if (decision.kind === 'no_steps') {
        const known = context.recoverySteps.map((s) => s.name).join(', ');
        report(
          request.step ?? 'none',
          'failed',
          `driver ${context.driver} has no recovery step "${request.step}" (known: ${known})`,
        );
        return;
      }
      if (decision.kind === 'rate_limited') {
        const waitS = Math.ceil((decision.retryAt - now) / 1000);
        report(
          decision.step,
          'rate_limited',
          `rate limit reached, waiting ${waitS} s instead of trying again now`,
        );
        enqueue.assign({
          watches: { ...context.watches, [request.deviceId]: { ...watch, waitUntil: decision.retryAt } },
        });
        return;
      }
      enqueue.assign({
        watches: {
          ...context.watches,
          [request.deviceId]: {
            ...watch,
            ladder: named ? { ...watch.ladder, history: decision.ladder.history } : decision.ladder,
            waitUntil: null,
            lastDegradedClimbAt: watch.status === 'connected.degraded' ? now : watch.lastDegradedClimbAt,
            lastRecovery: { step: decision.step, outcome: 'started', at: now },
          },
        },
      });
      report(decision.step, 'started', request.reason);
      if (decision.step === RESTART_ACTOR_STEP) {
        enqueue.raise({
          type: 'RESTART_CHILD',
          deviceId: request.deviceId,
          reason: `recovery step ${RESTART_ACTOR_STEP}`,
          crashed: true,
        });
        return;
      }
      enqueue.assign({ recovering: { ...request, step: decision.step } });
    }),
    finishRecovery: enqueueActions(
      ({ context, enqueue, system }, params: { ok: boolean; detail: string }) => {
        const recovering = context.recovering;
        if (!recovering) return;
        const now = nowOf(system);
        const outcome = params.ok ? 'succeeded' : 'failed';
        deliver(enqueue, system, {
          type: 'supervisor.recovery',
          busId: context.busId,
          deviceId: recovering.deviceId,
          step: recovering.step,
          outcome,
          detail: params.detail,
          at: now,
        });
        const watch = context.watches[recovering.deviceId];
        if (watch) {
          enqueue.assign({
            watches: {
              ...context.watches,
              [recovering.deviceId]: { ...watch, lastRecovery: { step: recovering.step, outcome, at: now } },
            },
          });
        }
        // The step is verified by the device itself: a fresh connection attempt now. If the device ends
        // up offline again (or stays degraded), the next climb takes the next rung.
        if (context.running.includes(recovering.deviceId)) {
          enqueue.sendTo(recovering.deviceId, {
            type: 'RETRY',
            reason: `after recovery step ${recovering.step}`,
          });
        }
        enqueue.assign({ recovering: null });
      },
    ),
    runHousekeeping: assign(({ context, system }) => {
      const { climb: requests, resetLadders } = housekeeping(context, nowOf(system));
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
      const restarting = context.pendingRestarts.some((r) => r.deviceId === event.deviceId);
      const notice: DeviceNotice = {
        type: 'device.commandResult',
        deviceId: event.deviceId,
        commandId: event.id,
        operation: event.operation,
        result: {
          ok: false,
          error: restarting
            ? `device ${event.deviceId} is restarting, try again shortly`
            : `device ${event.deviceId} is not running on ${context.busId}`,
        },
        at: nowOf(system),
      };
      deliver(enqueue, system, notice);
    }),
    forwardDeviceEvent: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'DEVICE_EVENT' && context.running.includes(event.deviceId)) {
        enqueue.sendTo(event.deviceId, event.event);
      }
    }),
    broadcast: enqueueActions(({ context, event, enqueue }) => {
      const message =
        event.type === 'BUS_LOST'
          ? { type: 'LINK_LOST' as const, error: event.error }
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
      stopDevices(enqueue, self, system, context.running, reason);
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
            LINK_RELEASE: {
              actions: sendTo(
                BUS_WATCH_ID,
                ({ event }): ReleaseLink => ({ type: 'RELEASE', deviceId: event.deviceId }),
              ),
            },
            BUS_LOST: { actions: 'broadcast' },
            BUS_PRESENT: { actions: 'broadcast' },
            RESTART_DEVICE: {
              actions: enqueueActions(({ event, enqueue }) => {
                enqueue.raise({
                  type: 'RESTART_CHILD',
                  deviceId: event.deviceId,
                  reason: event.reason,
                  crashed: true,
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
          on: { RESTARTS_CHANGED: { guard: and(['hasPendingRestarts', 'isRunning']), target: 'waiting' } },
        },
        waiting: {
          always: { guard: not('isRunning'), target: 'idle' },
          after: { untilNextRestart: { target: 'idle', actions: 'startDueRestarts' } },
          on: { RESTARTS_CHANGED: { target: 'waiting', reenter: true } },
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
          },
        },
        running: {
          always: { guard: not('isRunning'), target: 'idle' },
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
