import { backoffDelay } from '../machines/backoff.js';
import type { LinkBackoffPolicy, MqttLinkTiming } from './settings.js';

// The data of the MQTT link machine (linkMachine.ts): its input, context, events, and the decisions on
// them as pure functions, so the machine only wires them to states.

export type LinkInput = Pick<
  MqttLinkTiming,
  'backoff' | 'connectTimeoutMs' | 'stuckClientMs' | 'stopTimeoutMs'
>;

export interface LinkContext extends LinkInput {
  /** Failed attempts since the link was last online; sets the backoff. */
  attempts: number;
  /** Why the last transition happened (logged with it, and shown by health). */
  reason: string;
  lastError: string | null;
  nextAttemptAt: number | null;
  onlineSince: number | null;
  /** When the current client counts as stuck and is replaced, and what it is stuck in. */
  watchdogAt: number | null;
  watchdogCause: string | null;
  /** Topic filters to hold at the broker; (re)subscribed every time the link comes online. */
  subscriptions: string[];
}

export type PublishRequest = {
  id: number;
  topic: string;
  payload: string | Buffer;
  qos: 0 | 1;
  retain: boolean;
};

/** What the client actor reports about its mqtt.js client. */
export type ClientReport =
  | { type: 'CONNECTED' }
  | { type: 'CLOSED'; reason: string }
  /** `goingDown`: after the error the client is tearing its connection down and should close soon. */
  | { type: 'ERROR'; message: string; goingDown: boolean }
  /** The broker announced it is closing the connection (MQTT 5 DISCONNECT). */
  | { type: 'DISCONNECTING'; reason: string }
  /** The graceful end requested by `END` completed. */
  | { type: 'ENDED' }
  | { type: 'PUBLISH_SETTLED'; id: number; error: string | null }
  | { type: 'MESSAGE'; topic: string; payload: Buffer; retain: boolean };

/** What the machine asks of the client actor. */
export type ClientCommand =
  | ({ type: 'PUBLISH' } & PublishRequest)
  | { type: 'SUBSCRIBE'; filters: string[] }
  | { type: 'UNSUBSCRIBE'; filters: string[] }
  /** Publish the bridge's offline state, then disconnect cleanly. */
  | { type: 'END' };

export type LinkEvent =
  | ClientReport
  | ({ type: 'PUBLISH' } & PublishRequest)
  | { type: 'SUBSCRIBE'; filter: string }
  | { type: 'UNSUBSCRIBE'; filter: string }
  | { type: 'STOP' }
  /** The watchdog's timer for the deadline `at`; ignored unless that is still the deadline in context. */
  | { type: 'WATCHDOG'; at: number };

/** What the machine tells the owner of the actor (MqttLink). */
export type LinkEmitted =
  | { type: 'publish.settled'; id: number; error: string | null }
  | { type: 'message'; topic: string; payload: Buffer; retain: boolean };

/** The link's state by the names logs, health and MqttLink use. */
export type LinkState = 'connecting' | 'online' | 'offline' | 'reconnecting' | 'stopping' | 'stopped';

export function linkStateOf(value: unknown): LinkState {
  if (typeof value === 'string') return value as LinkState;
  return (value as { client: LinkState }).client;
}

export function initialContext(input: LinkInput): LinkContext {
  return {
    ...input,
    attempts: 0,
    reason: 'started',
    lastError: null,
    nextAttemptAt: null,
    onlineSince: null,
    watchdogAt: null,
    watchdogCause: null,
    subscriptions: [],
  };
}

function delayFor(backoff: LinkBackoffPolicy, attempt: number, random: number): number {
  // backoffDelay takes a device's ReconnectPolicy; its maxAttempts plays no part in the delay.
  return backoffDelay({ ...backoff, maxAttempts: Number.POSITIVE_INFINITY }, attempt, random);
}

/** The context change for going `offline` after a failed attempt or a lost connection. */
export function scheduleAttempt(
  context: LinkContext,
  now: number,
  error: string,
  random: number,
): Partial<LinkContext> {
  const attempts = context.attempts + 1;
  const delay = delayFor(context.backoff, attempts, random);
  return {
    attempts,
    nextAttemptAt: now + delay,
    lastError: error,
    reason: `${error}; retry ${attempts} in ${delay} ms`,
    onlineSince: null,
    watchdogAt: null,
    watchdogCause: null,
  };
}

export function wentOnline(now: number): Partial<LinkContext> {
  return {
    attempts: 0,
    nextAttemptAt: null,
    onlineSince: now,
    reason: 'connected',
    watchdogAt: null,
    watchdogCause: null,
  };
}

/** Arms the watchdog for `cause`, unless it is already due sooner. */
export function armWatchdog(
  context: LinkContext,
  now: number,
  boundMs: number,
  cause: string,
): Pick<LinkContext, 'watchdogAt' | 'watchdogCause'> {
  const at = now + boundMs;
  if (context.watchdogAt !== null && context.watchdogAt <= at) {
    return { watchdogAt: context.watchdogAt, watchdogCause: context.watchdogCause };
  }
  return { watchdogAt: at, watchdogCause: cause };
}

export function watchdogError(context: LinkContext): string {
  return `client stuck (${context.watchdogCause ?? 'no progress'}): forcibly ended, a fresh client replaces it`;
}

export function withFilter(subscriptions: string[], filter: string): string[] {
  return subscriptions.includes(filter) ? subscriptions : [...subscriptions, filter];
}

export function withoutFilter(subscriptions: string[], filter: string): string[] {
  return subscriptions.filter((existing) => existing !== filter);
}

export function notConnectedError(context: LinkContext, state: LinkState): string {
  const why = context.lastError ?? context.reason;
  return `not connected to the MQTT broker (link ${state}: ${why})`;
}
