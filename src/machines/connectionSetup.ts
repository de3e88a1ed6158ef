import { and, enqueueActions, fromPromise, setup, stateIn } from 'xstate';
import { nowOf } from './clock.js';
import {
  type ConnectionContext,
  type ConnectionEvent,
  type ConnectionInput,
  currentOperationName,
  type LinkInput,
  notify,
  type OperationInput,
  type OperationOutput,
  operationTimeout,
  outcomeOfExpiry,
  outcomeOfFailure,
  outcomeOfStop,
  outcomeOfSuccess,
  settle,
} from './connectionModel.js';
import type { DeviceNoticeDraft } from './notices.js';

// The named parts the connection machine (connection.ts) is made of: its delays, guards and actions,
// each read from the context (deadlines, counters, the queue) through the model's pure functions, and
// its two actors, unbound here and bound to a transport per bus (src/hosting/deviceActors.ts).

const unbound = (what: string) => () => {
  throw new Error(`connection machine used without a transport: ${what} is not bound (see deviceActors.ts)`);
};

export const connectionSetup = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as ConnectionInput,
  },
  actors: {
    connectLink: fromPromise<void, LinkInput>(unbound('connectLink')),
    runOperation: fromPromise<OperationOutput, OperationInput>(unbound('runOperation')),
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
    confirmsStep: and([
      ({ context }) => Boolean(context.confirmAfterStep),
      stateIn({ link: { connected: 'healthy' } }),
    ]),
  },
  actions: {
    /** Asks the bus supervisor to release this device's link (the bus's I/O actor does it). */
    releaseLink: enqueueActions(({ context, enqueue: queue, self }) => {
      if (self._parent) queue.sendParent({ type: 'LINK_RELEASE', deviceId: context.deviceId });
    }),
    /** Tells the supervisor that a good operation followed the recovery step it waits to verify. */
    confirmStep: enqueueActions(({ context, enqueue: queue, self }) => {
      const operation = currentOperationName(context);
      if (self._parent) queue.sendParent({ type: 'STEP_CONFIRMED', deviceId: context.deviceId, operation });
      queue.assign({ confirmAfterStep: null });
    }),
    /** Tells the supervisor, when there is one, and through it the rest of the gateway. */
    notify: enqueueActions(({ enqueue: queue, self, system }, notice: DeviceNoticeDraft) => {
      notify(queue, self, notice, nowOf(system));
    }),
    expireCommands: enqueueActions(({ context, system, self, enqueue: queue }) => {
      const now = nowOf(system);
      settle(queue, self, outcomeOfExpiry(context, now), now);
    }),
    answerAllCommands: enqueueActions(
      ({ context, system, self, enqueue: queue }, params: { error: string }) => {
        settle(queue, self, outcomeOfStop(context, params.error), nowOf(system));
      },
    ),
    operationSucceeded: enqueueActions(({ context, event, system, self, enqueue: queue }) => {
      const now = nowOf(system);
      const output = ('output' in event ? event.output : { result: null, durationMs: 0 }) as OperationOutput;
      settle(queue, self, outcomeOfSuccess(context, now, output), now);
    }),
    operationFailed: enqueueActions(
      ({ context, system, self, enqueue: queue }, params: { error: string }) => {
        const now = nowOf(system);
        settle(queue, self, outcomeOfFailure(context, now, params.error), now);
      },
    ),
  },
});
