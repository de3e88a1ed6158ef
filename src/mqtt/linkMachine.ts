import { assign, emit, enqueueActions, fromCallback, sendTo, setup } from 'xstate';
import { nowOf } from '../machines/clock.js';
import {
  armWatchdog,
  type ClientCommand,
  initialContext,
  type LinkContext,
  type LinkEmitted,
  type LinkEvent,
  type LinkInput,
  linkStateOf,
  notConnectedError,
  scheduleAttempt,
  watchdogError,
  wentOnline,
  withFilter,
  withoutFilter,
} from './linkModel.js';

// The MQTT link to the broker. Pure: the mqtt.js client lives in the invoked `client` actor
// (clientActor.ts), which MqttLink (link.ts) binds; this machine decides when a client exists, when it
// is replaced, and what may be sent through it. Every timer is derived from a deadline in context.
// MqttLink itself publishes straight through the connected client while the machine is `online`
// (link.ts: an event per publish cost more than the publish); the PUBLISH event stays the machine's
// own way to publish, with the same rules.
//
// States, as logs and health name them:
// - `connecting`: the first attempt after start; a client exists and waits for CONNACK.
// - `online`: connected; publishes go through, subscriptions are (re)made on entry.
// - `offline`: no client at all, waiting out the backoff before the next attempt. This is the state
//   while the broker is unreachable; the link never gives up, so it always leaves it again.
// - `reconnecting`: an attempt after a failure or a lost connection, with a fresh client.
// - `stopping` / `stopped`: after stop(): the offline message and a clean DISCONNECT, then nothing.
// `connecting`, `reconnecting`, `online` and `stopping` share the parent `client`, which invokes the
// client actor: leaving it stops the actor, whose cleanup ends its mqtt.js client by force. So a client
// is never reused and never waited for; mqtt.js's own reconnect is off.
//
// The watchdog: a client that neither connects nor fails within connectTimeoutMs, or that said it is
// going down (an error, a broker DISCONNECT) but has not closed within stuckClientMs, is stuck (mqtt.js
// can hang in "disconnecting" when its stream never closes). The link then drops it, which ends it by
// force, and goes `offline`, so a fresh client follows after the backoff.

const unbound = () => {
  throw new Error('MQTT link machine used without a client actor (see MqttLink in link.ts)');
};

const WATCHDOG_ID = 'watchdog';

const connectWatchdog = ({ context }: { context: LinkContext }) => ({
  boundMs: context.connectTimeoutMs,
  cause: `no CONNACK within ${context.connectTimeoutMs} ms`,
});

export const linkMachine = setup({
  types: {
    context: {} as LinkContext,
    events: {} as LinkEvent,
    input: {} as LinkInput,
    emitted: {} as LinkEmitted,
  },
  actors: {
    client: fromCallback<ClientCommand>(unbound),
  },
  delays: {
    untilNextAttempt: ({ context, system }) => Math.max(0, (context.nextAttemptAt ?? 0) - nowOf(system)),
    stopTimeout: ({ context }) => context.stopTimeoutMs,
  },
  guards: {
    // A WATCHDOG for an earlier deadline (re-armed or disarmed since) is stale.
    watchdogDue: ({ context, event }) => event.type === 'WATCHDOG' && event.at === context.watchdogAt,
    isNewFilter: ({ context, event }) =>
      event.type === 'SUBSCRIBE' && !context.subscriptions.includes(event.filter),
    clientGoingDown: ({ event }) => event.type === 'ERROR' && event.goingDown,
  },
  actions: {
    armWatchdog: enqueueActions(
      ({ context, system, enqueue }, params: { boundMs: number; cause: string }) => {
        const now = nowOf(system);
        const update = armWatchdog(context, now, params.boundMs, params.cause);
        if (update.watchdogAt === context.watchdogAt) return;
        enqueue.assign(update);
        enqueue.cancel(WATCHDOG_ID);
        const at = update.watchdogAt ?? now;
        enqueue.raise({ type: 'WATCHDOG', at }, { id: WATCHDOG_ID, delay: at - now });
      },
    ),
    disarmWatchdog: enqueueActions(({ enqueue }) => {
      enqueue.cancel(WATCHDOG_ID);
      enqueue.assign({ watchdogAt: null, watchdogCause: null });
    }),
    recordError: assign({ lastError: ({ event }) => (event.type === 'ERROR' ? event.message : null) }),
    rejectPublish: emit(({ context, event, self }) => ({
      type: 'publish.settled' as const,
      id: event.type === 'PUBLISH' ? event.id : -1,
      error: notConnectedError(context, linkStateOf(self.getSnapshot().value)),
    })),
    addSubscription: assign(({ context, event }) => ({
      subscriptions:
        event.type === 'SUBSCRIBE' ? withFilter(context.subscriptions, event.filter) : context.subscriptions,
    })),
    removeSubscription: assign(({ context, event }) => ({
      subscriptions:
        event.type === 'UNSUBSCRIBE'
          ? withoutFilter(context.subscriptions, event.filter)
          : context.subscriptions,
    })),
    restoreSubscriptions: enqueueActions(({ context, enqueue }) => {
      if (context.subscriptions.length === 0) return;
      enqueue.sendTo('client', { type: 'SUBSCRIBE', filters: context.subscriptions } as ClientCommand);
    }),
    retryLater: assign(({ context, system }, params: { error: string }) =>
      scheduleAttempt(context, nowOf(system), params.error, Math.random()),
    ),
  },
}).createMachine({
  id: 'link',
  context: ({ input }) => initialContext(input),
  initial: 'client',
  on: {
    PUBLISH: { actions: 'rejectPublish' },
    SUBSCRIBE: { actions: 'addSubscription' },
    UNSUBSCRIBE: { actions: 'removeSubscription' },
    PUBLISH_SETTLED: {
      actions: emit(({ event }) => ({ type: 'publish.settled' as const, id: event.id, error: event.error })),
    },
    MESSAGE: {
      actions: emit(({ event }) => ({ ...event, type: 'message' as const })),
    },
    STOP: { target: '.stopped', actions: assign({ reason: 'stopped' }) },
  },
  states: {
    client: {
      initial: 'connecting',
      invoke: { id: 'client', src: 'client' },
      exit: enqueueActions(({ enqueue }) => enqueue.cancel(WATCHDOG_ID)),
      on: {
        ERROR: [
          {
            guard: 'clientGoingDown',
            actions: [
              'recordError',
              {
                type: 'armWatchdog',
                params: ({ context, event }) => ({
                  boundMs: context.stuckClientMs,
                  cause: `still not closed ${context.stuckClientMs} ms after "${event.message}"`,
                }),
              },
            ],
          },
          { actions: 'recordError' },
        ],
        WATCHDOG: {
          guard: 'watchdogDue',
          target: 'offline',
          actions: { type: 'retryLater', params: ({ context }) => ({ error: watchdogError(context) }) },
        },
        // An attempt that fails; `online` and `stopping` handle CLOSED their own way.
        CLOSED: {
          target: 'offline',
          actions: {
            type: 'retryLater',
            params: ({ event }) => ({ error: `connect failed: ${event.reason}` }),
          },
        },
      },
      states: {
        connecting: {
          entry: { type: 'armWatchdog', params: connectWatchdog },
          on: { CONNECTED: 'online' },
        },
        reconnecting: {
          entry: { type: 'armWatchdog', params: connectWatchdog },
          on: { CONNECTED: 'online' },
        },
        online: {
          entry: [
            'disarmWatchdog',
            assign(({ system }) => wentOnline(nowOf(system))),
            'restoreSubscriptions',
          ],
          on: {
            PUBLISH: { actions: sendTo('client', ({ event }) => event) },
            SUBSCRIBE: {
              guard: 'isNewFilter',
              actions: [
                'addSubscription',
                sendTo('client', ({ event }) => ({ type: 'SUBSCRIBE' as const, filters: [event.filter] })),
              ],
            },
            UNSUBSCRIBE: {
              actions: [
                'removeSubscription',
                sendTo('client', ({ event }) => ({ type: 'UNSUBSCRIBE' as const, filters: [event.filter] })),
              ],
            },
            DISCONNECTING: {
              actions: {
                type: 'armWatchdog',
                params: ({ context, event }) => ({
                  boundMs: context.stuckClientMs,
                  cause: `still not closed ${context.stuckClientMs} ms after ${event.reason}`,
                }),
              },
            },
            CLOSED: {
              target: '#link.offline',
              actions: [
                assign({ attempts: 0 }),
                {
                  type: 'retryLater',
                  params: ({ event }) => ({ error: `connection lost: ${event.reason}` }),
                },
              ],
            },
            STOP: { target: 'stopping', actions: assign({ reason: 'stop requested' }) },
          },
        },
        stopping: {
          entry: ['disarmWatchdog', sendTo('client', { type: 'END' })],
          on: {
            ENDED: { target: '#link.stopped', actions: assign({ reason: 'disconnected cleanly' }) },
            CLOSED: { target: '#link.stopped', actions: assign({ reason: 'disconnected cleanly' }) },
            // Only the stop timeout decides here: no second STOP, no watchdog sending us `offline`.
            STOP: {},
            ERROR: { actions: 'recordError' },
            WATCHDOG: {},
          },
          after: {
            stopTimeout: {
              target: '#link.stopped',
              actions: assign(({ context }) => ({
                reason: `clean disconnect took over ${context.stopTimeoutMs} ms: client ended by force`,
              })),
            },
          },
        },
      },
    },
    offline: {
      after: {
        untilNextAttempt: {
          target: 'client.reconnecting',
          actions: assign(({ context }) => ({ reason: `attempt ${context.attempts + 1}` })),
        },
      },
    },
    stopped: { type: 'final', entry: assign({ onlineSince: null, nextAttemptAt: null }) },
  },
});
