import { type AnyActorRef, and, assign, enqueueActions, fromPromise, not, setup, stateIn } from 'xstate';
import type { JsonValue } from '../actors/driver.js';
import { backoffDelay } from './backoff.js';
import { nowOf } from './clock.js';
import {
  type Command,
  type CommandQueue,
  enqueue,
  partitionExpired,
  releaseHead,
  removeCommand,
  scheduleRetry,
} from './commandQueue.js';
import type { CommandResult, DeviceNotice, DeviceNoticeDraft, DeviceStatus } from './notices.js';
import { deliver } from './outlet.js';
import type { DevicePolicy } from './policy.js';

// One machine definition serves every device of every driver. Two parallel regions:
// - `link`: disconnected → connecting → connected (healthy | degraded) → reconnecting → offline, with the
//   backoff, the health counters and the hand-off to the supervisor;
// - `work`: the command queue and the periodic poll, one operation at a time while the link is up.
// All I/O is in the two invoked actors (`connectLink`, `runOperation`), which a bus binds to its transport
// (src/actors/deviceActors.ts); link events arrive from the bus supervisor, and leaving `connected` asks it
// to release the link (`LINK_RELEASE`), so an idle connected device has no child actor at all. The
// definition itself is pure. Every timer is derived
// from a deadline kept in context, so a restored snapshot re-arms them on `RESUME`.

/** Bumped whenever a change makes older persisted snapshots unusable. */
export const CONNECTION_MACHINE_VERSION = 1;

export interface ConnectionInput {
  deviceId: string;
  busId: string;
  policy: DevicePolicy;
}

type CurrentOperation = { kind: 'command'; commandId: string } | { kind: 'poll' };

export interface ConnectionContext extends ConnectionInput {
  /** Reconnect attempts since the link was last up; reset by a successful connect or a `RETRY`. */
  attempts: number;
  consecutiveFailures: number;
  lastSuccessAt: number | null;
  lastError: string | null;
  /** Why the last transition of the link happened (logged and published with it). */
  reason: string;
  nextAttemptAt: number | null;
  pollDueAt: number | null;
  commands: CommandQueue;
  current: CurrentOperation | null;
}

export type ConnectionEvent =
  | { type: 'CONNECT' }
  | { type: 'DISCONNECT'; reason: string }
  /** Hotplug: the hardware reappeared; cut the backoff wait short. */
  | { type: 'DEVICE_PRESENT' }
  /** The supervisor's `reopen`: try again now with a fresh attempt budget. */
  | { type: 'RETRY'; reason: string }
  | { type: 'LINK_LOST'; error: string }
  | { type: 'LINK_DATA'; operation: string; result: JsonValue }
  | { type: 'LINK_FAILURE'; error: string }
  | { type: 'COMMAND'; id: string; operation: string; args: JsonValue }
  /** Sent once after a persisted snapshot is restored, to re-arm the timers of the current state. */
  | { type: 'RESUME' };

export interface LinkInput {
  deviceId: string;
  busId: string;
}

export interface OperationInput extends LinkInput {
  operation: string;
  args: JsonValue;
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : JSON.stringify(error);
}

function operationTimeout(policy: DevicePolicy, operation: string): number {
  return policy.timeouts[operation] ?? policy.timeouts.default;
}

/** The command being run, or undefined while the poll runs. */
function currentCommand(context: ConnectionContext): Command | undefined {
  const current = context.current;
  return current?.kind === 'command' ? context.commands.find((c) => c.id === current.commandId) : undefined;
}

function currentOperationName(context: ConnectionContext): string {
  return currentCommand(context)?.operation ?? 'poll';
}

/** The context change for going `reconnecting`: one more attempt and its deadline. */
function scheduleAttempt(
  context: ConnectionContext,
  now: number,
  reason: string,
  random: number,
): Partial<ConnectionContext> {
  const attempts = context.attempts + 1;
  const delay = backoffDelay(context.policy.reconnect, attempts, random);
  return {
    attempts,
    nextAttemptAt: now + delay,
    lastError: reason,
    reason: `${reason}; retry ${attempts} in ${delay} ms`,
  };
}

function statusNotice(status: DeviceStatus) {
  return ({ context }: { context: ConnectionContext }): DeviceNoticeDraft => ({
    type: 'device.status',
    deviceId: context.deviceId,
    busId: context.busId,
    status,
    reason: context.reason,
    attempts: context.attempts,
    consecutiveFailures: context.consecutiveFailures,
    lastError: context.lastError,
    lastSuccessAt: context.lastSuccessAt,
    nextAttemptAt: status === 'reconnecting' ? context.nextAttemptAt : null,
  });
}

function commandResult(
  context: ConnectionContext,
  command: Pick<Command, 'id' | 'operation'>,
  result: CommandResult,
): DeviceNoticeDraft {
  return {
    type: 'device.commandResult',
    deviceId: context.deviceId,
    commandId: command.id,
    operation: command.operation,
    result,
  };
}

/**
 * Sends a notice on its way: a status change to the supervisor (which acts on it and passes it on),
 * data and command results straight to the system's outlet, sparing the supervisor the hot path.
 */
function notify(
  queue: {
    sendParent: (event: DeviceNotice) => void;
    sendTo: (to: AnyActorRef, event: DeviceNotice) => void;
  },
  self: { _parent?: unknown; system: Parameters<typeof deliver>[1] },
  notice: DeviceNoticeDraft,
  at: number,
): void {
  const stamped = { ...notice, at } as DeviceNotice;
  if (stamped.type !== 'device.status') deliver(queue, self.system, stamped);
  else if (self._parent) queue.sendParent(stamped);
}

/** Fixed-rate polling: the next poll is due one interval after the last was due, not after it ended. */
function nextPollDue(context: ConnectionContext, now: number): number {
  const next = (context.pollDueAt ?? now) + context.policy.pollIntervalMs;
  return next > now ? next : now + context.policy.pollIntervalMs;
}

const unbound = (what: string) => () => {
  throw new Error(`connection machine used without a transport: ${what} is not bound (see deviceActors.ts)`);
};

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as ConnectionInput,
  },
  actors: {
    connectLink: fromPromise<void, LinkInput>(unbound('connectLink')),
    runOperation: fromPromise<JsonValue, OperationInput>(unbound('runOperation')),
  },
  delays: {
    connectTimeout: ({ context }) => context.policy.timeouts.connect,
    untilNextAttempt: ({ context, system }) => Math.max(0, (context.nextAttemptAt ?? 0) - nowOf(system)),
    untilHeadExpires: ({ context, system }) => {
      const now = nowOf(system);
      return Math.max(0, (context.commands[0]?.expiresAt ?? now) - now);
    },
    untilPollDue: ({ context, system }) => {
      const now = nowOf(system);
      return Math.max(0, (context.pollDueAt ?? now) - now);
    },
    untilHeadRetry: ({ context, system }) => {
      const now = nowOf(system);
      return Math.max(0, (context.commands[0]?.retryAt ?? now) - now);
    },
    operationTimeout: ({ context }) => operationTimeout(context.policy, currentOperationName(context)),
  },
  guards: {
    attemptsExhausted: ({ context }) => context.attempts >= context.policy.reconnect.maxAttempts,
    degradedThresholdReached: ({ context }) =>
      context.consecutiveFailures >= context.policy.health.failureThreshold,
    noFailures: ({ context }) => context.consecutiveFailures === 0,
    hasCommands: ({ context }) => context.commands.length > 0,
    queueFull: ({ context }) => context.commands.length >= context.policy.commands.queueSize,
    pollingEnabled: ({ context }) => context.policy.pollIntervalMs > 0,
    linkUp: stateIn({ link: 'connected' }),
    headWaitsForRetry: ({ context }) => (context.commands[0]?.retryAt ?? null) !== null,
  },
  actions: {
    /** Asks the bus supervisor to release this device's link (the bus's I/O actor does it). */
    releaseLink: enqueueActions(({ context, enqueue: queue, self }) => {
      if (self._parent) queue.sendParent({ type: 'LINK_RELEASE', deviceId: context.deviceId });
    }),
    /** Tells the supervisor, when there is one, and through it the rest of the gateway. */
    notify: enqueueActions(({ enqueue: queue, self, system }, notice: DeviceNoticeDraft) => {
      notify(queue, self, notice, nowOf(system));
    }),
    expireCommands: enqueueActions(({ context, system, self, enqueue: queue }) => {
      const now = nowOf(system);
      const { valid, expired } = partitionExpired(context.commands, now);
      for (const command of expired) {
        const waited = Math.round((now - command.enqueuedAt) / 1000);
        const error = `command expired after waiting ${waited} s (device ${context.deviceId} is not connected)`;
        notify(queue, self, commandResult(context, command, { ok: false, error }), now);
      }
      queue.assign({ commands: valid });
    }),
    answerAllCommands: enqueueActions(
      ({ context, system, self, enqueue: queue }, params: { error: string }) => {
        const now = nowOf(system);
        for (const command of context.commands) {
          notify(queue, self, commandResult(context, command, { ok: false, error: params.error }), now);
        }
        queue.assign({ commands: [], current: null });
      },
    ),
    operationSucceeded: enqueueActions(({ context, event, system, self, enqueue: queue }) => {
      const now = nowOf(system);
      const result = ('output' in event ? event.output : null) as JsonValue;
      const command = currentCommand(context);
      if (command) {
        notify(queue, self, commandResult(context, command, { ok: true, result }), now);
        queue.assign({ commands: removeCommand(context.commands, command.id) });
      } else {
        const data: DeviceNoticeDraft = {
          type: 'device.data',
          deviceId: context.deviceId,
          operation: 'poll',
          result,
        };
        notify(queue, self, data, now);
        queue.assign({ pollDueAt: nextPollDue(context, now) });
      }
      queue.assign({ consecutiveFailures: 0, lastSuccessAt: now });
    }),
    operationFailed: enqueueActions(
      ({ context, system, self, enqueue: queue }, params: { error: string }) => {
        const now = nowOf(system);
        const command = currentCommand(context);
        const retryDelays = context.policy.commands.retryDelaysMs;
        if (command && command.attempts < retryDelays.length) {
          const delay = retryDelays[command.attempts] ?? 0;
          queue.assign({ commands: scheduleRetry(context.commands, command.id, now + delay) });
        } else if (command) {
          const runs = command.attempts + 1;
          const error = `${command.operation} failed after ${runs} ${runs === 1 ? 'try' : 'tries'}: ${params.error}`;
          notify(queue, self, commandResult(context, command, { ok: false, error }), now);
          queue.assign({ commands: removeCommand(context.commands, command.id) });
        } else {
          queue.assign({ pollDueAt: nextPollDue(context, now) });
        }
        queue.assign({ consecutiveFailures: context.consecutiveFailures + 1, lastError: params.error });
      },
    ),
  },
}).createMachine({
  id: 'connection',
  type: 'parallel',
  context: ({ input }) => ({
    ...input,
    attempts: 0,
    consecutiveFailures: 0,
    lastSuccessAt: null,
    lastError: null,
    reason: 'created',
    nextAttemptAt: null,
    pollDueAt: null,
    commands: [],
    current: null,
  }),
  states: {
    link: {
      initial: 'disconnected',
      on: {
        DISCONNECT: {
          target: '.disconnected',
          actions: [
            assign({ reason: ({ event }) => event.reason }),
            { type: 'notify', params: statusNotice('disconnected') },
          ],
        },
      },
      states: {
        // No entry notice: a new device is known to be disconnected, and 10,000 of them starting at
        // once should not cost 10,000 messages (spawning is the expensive part of a large bus).
        disconnected: {
          on: {
            CONNECT: { target: 'connecting', actions: assign({ reason: 'start', attempts: 0 }) },
          },
        },
        connecting: {
          entry: { type: 'notify', params: statusNotice('connecting') },
          invoke: {
            id: 'connectLink',
            src: 'connectLink',
            input: ({ context }) => ({ deviceId: context.deviceId, busId: context.busId }),
            onDone: {
              target: 'connected',
              actions: assign(({ system }) => ({
                attempts: 0,
                nextAttemptAt: null,
                reason: 'connect succeeded',
                lastSuccessAt: nowOf(system),
                pollDueAt: nowOf(system),
              })),
            },
            onError: [
              {
                guard: 'attemptsExhausted',
                target: 'offline',
                actions: assign(({ event, context }) => ({
                  lastError: errorText(event.error),
                  reason: `gave up after ${context.attempts} attempts: ${errorText(event.error)}`,
                })),
              },
              {
                target: 'reconnecting',
                actions: assign(({ event, context, system }) =>
                  scheduleAttempt(
                    context,
                    nowOf(system),
                    `connect failed: ${errorText(event.error)}`,
                    Math.random(),
                  ),
                ),
              },
            ],
          },
          after: {
            connectTimeout: [
              {
                guard: 'attemptsExhausted',
                target: 'offline',
                actions: assign(({ context }) => ({
                  lastError: `connect timed out after ${context.policy.timeouts.connect} ms`,
                  reason: `gave up after ${context.attempts} attempts: connect timed out`,
                })),
              },
              {
                target: 'reconnecting',
                actions: assign(({ context, system }) =>
                  scheduleAttempt(
                    context,
                    nowOf(system),
                    `connect timed out after ${context.policy.timeouts.connect} ms`,
                    Math.random(),
                  ),
                ),
              },
            ],
          },
        },
        connected: {
          initial: 'healthy',
          exit: 'releaseLink',
          on: {
            LINK_LOST: {
              target: 'reconnecting',
              actions: assign(({ event, context, system }) =>
                scheduleAttempt(
                  { ...context, attempts: 0 },
                  nowOf(system),
                  `link lost: ${event.error}`,
                  Math.random(),
                ),
              ),
            },
            LINK_DATA: {
              actions: [
                assign(({ system }) => ({ consecutiveFailures: 0, lastSuccessAt: nowOf(system) })),
                {
                  type: 'notify',
                  params: ({ context, event }) => ({
                    type: 'device.data',
                    deviceId: context.deviceId,
                    operation: event.operation,
                    result: event.result,
                  }),
                },
              ],
            },
            LINK_FAILURE: {
              actions: assign(({ event, context }) => ({
                consecutiveFailures: context.consecutiveFailures + 1,
                lastError: event.error,
              })),
            },
          },
          states: {
            healthy: {
              entry: { type: 'notify', params: statusNotice('connected.healthy') },
              always: {
                guard: 'degradedThresholdReached',
                target: 'degraded',
                actions: assign(({ context }) => ({
                  reason: `${context.consecutiveFailures} consecutive failures, last: ${context.lastError}`,
                })),
              },
            },
            degraded: {
              entry: { type: 'notify', params: statusNotice('connected.degraded') },
              always: {
                guard: 'noFailures',
                target: 'healthy',
                actions: assign({ reason: 'operation succeeded' }),
              },
            },
          },
        },
        reconnecting: {
          entry: { type: 'notify', params: statusNotice('reconnecting') },
          after: { untilNextAttempt: { target: 'connecting' } },
          on: {
            DEVICE_PRESENT: { target: 'connecting', actions: assign({ reason: 'device present again' }) },
            RETRY: {
              target: 'connecting',
              actions: assign(({ event }) => ({ reason: event.reason, attempts: 0 })),
            },
            RESUME: { target: 'reconnecting', reenter: true },
          },
        },
        offline: {
          entry: { type: 'notify', params: statusNotice('offline') },
          on: {
            DEVICE_PRESENT: {
              target: 'connecting',
              actions: assign({ reason: 'device present again', attempts: 0 }),
            },
            RETRY: {
              target: 'connecting',
              actions: assign(({ event }) => ({ reason: event.reason, attempts: 0 })),
            },
          },
        },
      },
    },
    work: {
      initial: 'idle',
      on: {
        COMMAND: [
          {
            guard: 'queueFull',
            actions: {
              type: 'notify',
              params: ({ context, event }) =>
                commandResult(context, event, {
                  ok: false,
                  error: `command queue of ${context.deviceId} is full (${context.policy.commands.queueSize} waiting)`,
                }),
            },
          },
          {
            actions: [
              assign(({ context, event, system }) => ({
                commands: enqueue(context.commands, {
                  id: event.id,
                  operation: event.operation,
                  args: event.args,
                  now: nowOf(system),
                  ttlMs: context.policy.commands.ttlMs,
                }),
              })),
            ],
          },
        ],
        DISCONNECT: {
          target: '.idle',
          actions: {
            type: 'answerAllCommands',
            params: ({ context, event }) => ({
              error: `device ${context.deviceId} stopped: ${event.reason}`,
            }),
          },
        },
      },
      states: {
        // Decides what the work region waits for; it arms no timer itself, so an idle push-only
        // device (nothing queued, no polling) holds no scheduled event at all.
        idle: {
          // Cleared on entry, not on leaving `running`: the transition out of `running` needs it first.
          entry: assign({ current: null }),
          always: [
            { guard: and(['linkUp', 'hasCommands', not('headWaitsForRetry')]), target: 'running' },
            { guard: and(['linkUp', 'hasCommands', 'headWaitsForRetry']), target: 'retryWait' },
            { guard: 'hasCommands', target: 'queued' },
            { guard: and(['linkUp', 'pollingEnabled']), target: 'pollWait' },
          ],
        },
        /** Commands wait for the link; the oldest expires first (they share one time-to-live). */
        queued: {
          always: { guard: 'linkUp', target: 'idle' },
          after: { untilHeadExpires: { target: 'idle', actions: 'expireCommands' } },
          on: { RESUME: { target: 'queued', reenter: true } },
        },
        pollWait: {
          always: [
            { guard: not('linkUp'), target: 'idle' },
            { guard: 'hasCommands', target: 'idle' },
          ],
          after: { untilPollDue: { target: 'running' } },
          on: { RESUME: { target: 'pollWait', reenter: true } },
        },
        retryWait: {
          entry: assign({ current: null }),
          always: { guard: not('linkUp'), target: 'idle' },
          after: {
            untilHeadRetry: {
              target: 'running',
              actions: assign(({ context }) => ({ commands: releaseHead(context.commands) })),
            },
          },
          on: { RESUME: { target: 'retryWait', reenter: true } },
        },
        running: {
          entry: assign(({ context }) => {
            const head = context.commands[0];
            return {
              current:
                head && head.retryAt === null
                  ? { kind: 'command' as const, commandId: head.id }
                  : { kind: 'poll' as const },
            };
          }),
          // Leaving the link's `connected` state stops the invoked operation: its AbortSignal fires and
          // the command stays at the head of the queue for the next connection.
          always: { guard: not('linkUp'), target: 'idle' },
          invoke: {
            id: 'runOperation',
            src: 'runOperation',
            input: ({ context }) => {
              const command = currentCommand(context);
              return {
                deviceId: context.deviceId,
                busId: context.busId,
                operation: command?.operation ?? 'poll',
                args: command?.args ?? null,
              };
            },
            onDone: { target: 'idle', actions: 'operationSucceeded' },
            onError: {
              target: 'idle',
              actions: {
                type: 'operationFailed',
                params: ({ event }) => ({ error: errorText(event.error) }),
              },
            },
          },
          after: {
            operationTimeout: {
              target: 'idle',
              actions: {
                type: 'operationFailed',
                params: ({ context }) => {
                  const operation = currentOperationName(context);
                  return {
                    error: `${operation} timed out after ${operationTimeout(context.policy, operation)} ms`,
                  };
                },
              },
            },
          },
        },
      },
    },
  },
});

export type ConnectionMachine = typeof connectionMachine;

/** The device's state by the names logs and MQTT use (the `link` region; `work` is an implementation detail). */
export function deviceStatusOf(value: unknown): DeviceStatus {
  const link = (value as { link?: unknown }).link;
  if (typeof link === 'string') return link as DeviceStatus;
  const connected = (link as { connected?: string } | undefined)?.connected;
  return connected === 'degraded' ? 'connected.degraded' : 'connected.healthy';
}
