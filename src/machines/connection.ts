import { and, assign, not } from 'xstate';
import { nowOf } from './clock.js';
import { enqueue, releaseHead } from './commandQueue.js';
import {
  connectTimeoutError,
  giveUp,
  isBusLinkDown,
  nextOperation,
  operationInput,
  operationTimeoutError,
  queueFullRefusal,
  scheduleAttempt,
  statusNotice,
} from './connectionModel.js';
import { errorText } from '../errorText.js';
import { connectionSetup } from './connectionSetup.js';

// One machine definition serves every device of every driver. Two parallel regions:
// - `link`: disconnected → connecting → connected (healthy | degraded) → reconnecting → offline, with the
//   backoff, the health counters and the hand-off to the supervisor;
// - `work`: the command queue and the periodic poll, one operation at a time while the link is up.
// All I/O is in the two invoked actors (`connectLink`, `runOperation`), which a bus binds to its transport
// (src/hosting/deviceActors.ts); link events arrive from the bus supervisor, and leaving `connected` asks it
// to release the link (`LINK_RELEASE`), so an idle connected device has no child actor at all. The
// definition itself is pure; its data and decisions are in connectionModel.ts, its named delays, guards
// and actions in connectionSetup.ts. Every timer is derived from a deadline kept in context, so a
// restored snapshot (XState persists no timers) re-arms them on `RESUME`; a device restored as
// `connected` opens its link again then, the old transport being gone.

/** Bumped whenever a change makes older persisted snapshots unusable. */
export const CONNECTION_MACHINE_VERSION = 1;

export const connectionMachine = connectionSetup.createMachine({
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
    confirmAfterStep: null,
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
                busLinkDown: false,
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
                  ...giveUp(context, errorText(event.error)),
                  busLinkDown: isBusLinkDown(event.error),
                })),
              },
              {
                target: 'reconnecting',
                actions: assign(({ event, context, system }) => ({
                  ...scheduleAttempt(
                    context,
                    nowOf(system),
                    `connect failed: ${errorText(event.error)}`,
                    Math.random(),
                  ),
                  busLinkDown: isBusLinkDown(event.error),
                })),
              },
            ],
          },
          after: {
            connectTimeout: [
              {
                guard: 'attemptsExhausted',
                target: 'offline',
                actions: assign(({ context }) =>
                  giveUp(context, connectTimeoutError(context), 'connect timed out'),
                ),
              },
              {
                target: 'reconnecting',
                actions: assign(({ context, system }) =>
                  scheduleAttempt(context, nowOf(system), connectTimeoutError(context), Math.random()),
                ),
              },
            ],
          },
          // Restored: the attempt starts over, once (see src/hosting/snapshotPort.ts), with a fresh timeout.
          on: { RESUME: { target: 'connecting', reenter: true } },
        },
        connected: {
          initial: 'healthy',
          exit: 'releaseLink',
          on: {
            // Not `reconnecting`: nothing failed, so the link is opened at once, without a backoff wait.
            RESUME: {
              target: 'connecting',
              actions: assign({ reason: 'restored after a restart', attempts: 0 }),
            },
            LINK_LOST: {
              target: 'reconnecting',
              actions: assign(({ event, context, system }) => ({
                ...scheduleAttempt(
                  { ...context, attempts: 0 },
                  nowOf(system),
                  `link lost: ${event.error}`,
                  Math.random(),
                ),
                busLinkDown: event.busLinkDown === true,
              })),
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
            // A recovery step ended with the link up: nothing to reopen; the next good operation verifies it.
            RETRY: { actions: assign(({ event }) => ({ confirmAfterStep: event.reason })) },
          },
          states: {
            healthy: {
              // Becoming healthy is itself what verifies a waiting step (the supervisor sees the status).
              entry: [
                { type: 'notify', params: statusNotice('connected.healthy') },
                assign({ confirmAfterStep: null }),
              ],
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
              params: ({ context, event }) => queueFullRefusal(context, event),
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
            // The poll keeps its period while a command waits out its retry delay.
            untilPollDue: { guard: 'pollingEnabled', target: 'running' },
          },
          on: { RESUME: { target: 'retryWait', reenter: true } },
        },
        running: {
          entry: assign(({ context, system }) => ({ current: nextOperation(context, nowOf(system)) })),
          // Leaving the link's `connected` state stops the invoked operation: its AbortSignal fires and
          // the command stays at the head of the queue for the next connection.
          always: { guard: not('linkUp'), target: 'idle' },
          invoke: {
            id: 'runOperation',
            src: 'runOperation',
            input: ({ context }) => operationInput(context),
            onDone: [
              { guard: 'confirmsStep', target: 'idle', actions: ['confirmStep', 'operationSucceeded'] },
              { target: 'idle', actions: 'operationSucceeded' },
            ],
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
                params: ({ context }) => ({ error: operationTimeoutError(context) }),
              },
            },
          },
        },
      },
    },
  },
});
