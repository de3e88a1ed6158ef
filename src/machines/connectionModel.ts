import type { AnyActorRef } from 'xstate';
import { BusLinkDown, type JsonValue } from '../drivers/contract.js';
import { backoffDelay } from './backoff.js';
import {
  type Command,
  type CommandQueue,
  partitionExpired,
  removeCommand,
  scheduleRetry,
} from './commandQueue.js';
import type {
  CommandRefusal,
  CommandResult,
  DeviceNotice,
  DeviceNoticeDraft,
  DeviceStatus,
} from './notices.js';
import { deliver } from './outlet.js';
import type { DevicePolicy } from './policy.js';

// The data of a device connection: its input, context and events, and the decisions on them as pure
// functions (plus `notify` and `settle`, which put their results on an action queue). The machine
// itself (connection.ts) only wires these to states and actors.

export interface ConnectionInput {
  deviceId: string;
  busId: string;
  policy: DevicePolicy;
}

export type CurrentOperation = { kind: 'command'; commandId: string } | { kind: 'poll' };

export interface ConnectionContext extends ConnectionInput {
  /** Reconnect attempts since the link was last up; reset by a successful connect or a `RETRY`. */
  attempts: number;
  consecutiveFailures: number;
  lastSuccessAt: number | null;
  lastError: string | null;
  /** Why the last transition of the link happened (logged and published with it). */
  reason: string;
  /**
   * The device is down because its bus's shared link is (BusLinkDown, or a bus-wide loss its runtime
   * logged): its transitions say so, and the log does not repeat the bus's line for each device.
   * Absent in snapshots of older versions: false.
   */
  busLinkDown?: boolean;
  nextAttemptAt: number | null;
  pollDueAt: number | null;
  commands: CommandQueue;
  current: CurrentOperation | null;
  /**
   * A recovery step ended while the device was connected (its RETRY had nothing to reopen): its next
   * good operation tells the supervisor, which otherwise sees no status change to verify the step by.
   * Absent in snapshots persisted before it existed.
   */
  confirmAfterStep?: string | null;
}

export type ConnectionEvent =
  | { type: 'CONNECT' }
  | { type: 'DISCONNECT'; reason: string }
  /** Hotplug: the hardware reappeared; cut the backoff wait short. */
  | { type: 'DEVICE_PRESENT' }
  /** The supervisor's `reopen`: try again now with a fresh attempt budget. */
  | { type: 'RETRY'; reason: string }
  /** `busLinkDown`: the bus's shared link went, and its runtime logged it (see BusLinkDown). */
  | { type: 'LINK_LOST'; error: string; busLinkDown?: boolean }
  | { type: 'LINK_DATA'; operation: string; result: JsonValue }
  | { type: 'LINK_FAILURE'; error: string }
  | { type: 'COMMAND'; id: string; operation: string; args: JsonValue }
  /**
   * Sent once after a persisted snapshot is restored: re-arms the timers of the current state, starts a
   * connect attempt over, and makes a device restored as `connected` open its link again.
   */
  | { type: 'RESUME' };

export interface LinkInput {
  deviceId: string;
  busId: string;
}

export interface OperationInput extends LinkInput {
  operation: string;
  args: JsonValue;
}

/** What a finished operation gives the machine: the driver's result and how long the I/O took. */
export interface OperationOutput {
  result: JsonValue;
  durationMs: number;
}

export function operationTimeout(policy: DevicePolicy, operation: string): number {
  return policy.timeouts[operation] ?? policy.timeouts.default;
}

/** The command being run, or undefined while the poll runs. */
function currentCommand(context: ConnectionContext): Command | undefined {
  const current = context.current;
  return current?.kind === 'command' ? context.commands.find((c) => c.id === current.commandId) : undefined;
}

export function currentOperationName(context: ConnectionContext): string {
  return currentCommand(context)?.operation ?? 'poll';
}

/** The context change for going `reconnecting`: one more attempt and its deadline. */
export function scheduleAttempt(
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

/** The context change for going `offline`: the attempt budget is spent. */
export function giveUp(
  context: ConnectionContext,
  lastError: string,
  cause: string = lastError,
): Partial<ConnectionContext> {
  return { lastError, reason: `gave up after ${context.attempts} attempts: ${cause}` };
}

export function connectTimeoutError(context: ConnectionContext): string {
  return `connect timed out after ${context.policy.timeouts.connect} ms`;
}

export function statusNotice(status: DeviceStatus) {
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
    ...(context.busLinkDown ? { busLinkDown: true } : {}),
  });
}

/** Whether a failed connect failed because the bus's shared link is down (see BusLinkDown). */
export function isBusLinkDown(error: unknown): boolean {
  return error instanceof BusLinkDown;
}

export function commandResult(
  context: ConnectionContext,
  command: Pick<Command, 'id' | 'operation'>,
  result: CommandResult,
  refused?: CommandRefusal,
): DeviceNoticeDraft {
  return {
    type: 'device.commandResult',
    deviceId: context.deviceId,
    commandId: command.id,
    operation: command.operation,
    result,
    ...(refused ? { refused } : {}),
  };
}

/** The answer to a command that finds the queue full: refused, so none already queued is dropped. */
export function queueFullRefusal(
  context: ConnectionContext,
  command: Pick<Command, 'id' | 'operation'>,
): DeviceNoticeDraft {
  const error = `command queue of ${context.deviceId} is full (${context.policy.commands.queueSize} waiting)`;
  return commandResult(context, command, { ok: false, error }, 'queue_full');
}

/** The parts of an `enqueueActions` queue that notices go out through. */
export interface NoticeQueue {
  sendParent: (event: DeviceNotice) => void;
  sendTo: (to: AnyActorRef, event: DeviceNotice) => void;
}

/** The parts of the sending actor that decide where a notice goes. */
export interface NoticeSender {
  _parent?: unknown;
  system: Parameters<typeof deliver>[1];
}

/**
 * Sends a notice on its way: a status change to the supervisor (which acts on it and passes it on),
 * data and command results straight to the system's outlet, sparing the supervisor the hot path.
 */
export function notify(queue: NoticeQueue, self: NoticeSender, notice: DeviceNoticeDraft, at: number): void {
  const stamped = { ...notice, at } as DeviceNotice;
  if (stamped.type !== 'device.status') deliver(queue, self.system, stamped);
  else if (self._parent) queue.sendParent(stamped);
}

/** Fixed-rate polling: the next poll is due one interval after the last was due, not after it ended. */
function nextPollDue(context: ConnectionContext, now: number): number {
  const next = (context.pollDueAt ?? now) + context.policy.pollIntervalMs;
  return next > now ? next : now + context.policy.pollIntervalMs;
}

/**
 * What runs next: a poll that is due goes first, so a flood of commands cannot starve the device's
 * own readings (each poll waits at most for the operation that is running); otherwise the first
 * command, unless that waits for a retry.
 */
export function nextOperation(context: ConnectionContext, now: number): CurrentOperation {
  const pollDue = context.policy.pollIntervalMs > 0 && context.pollDueAt !== null && context.pollDueAt <= now;
  const head = context.commands[0];
  return head && head.retryAt === null && !pollDue
    ? { kind: 'command', commandId: head.id }
    : { kind: 'poll' };
}

export function operationInput(context: ConnectionContext): OperationInput {
  const command = currentCommand(context);
  return {
    deviceId: context.deviceId,
    busId: context.busId,
    operation: command?.operation ?? 'poll',
    args: command?.args ?? null,
  };
}

export function operationTimeoutError(context: ConnectionContext): string {
  const operation = currentOperationName(context);
  return `${operation} timed out after ${operationTimeout(context.policy, operation)} ms`;
}

/**
 * What a step of the work region does, as data: the notices it sends, then one change to the context.
 * Keeping the decisions here keeps the machine's actions thin and the decisions testable on their own.
 */
export interface WorkOutcome {
  notices: DeviceNoticeDraft[];
  update: Partial<ConnectionContext>;
}

/** Sends an outcome's notices, then applies its context change. */
export function settle(
  queue: NoticeQueue & { assign: (update: Partial<ConnectionContext>) => void },
  self: NoticeSender,
  outcome: WorkOutcome,
  now: number,
): void {
  for (const notice of outcome.notices) notify(queue, self, notice, now);
  queue.assign(outcome.update);
}

/** Answers the commands whose time-to-live ran out while they waited for the link. */
export function outcomeOfExpiry(context: ConnectionContext, now: number): WorkOutcome {
  const { valid, expired } = partitionExpired(context.commands, now);
  const notices = expired.map((command) => {
    const waited = Math.round((now - command.enqueuedAt) / 1000);
    const error = `command expired after waiting ${waited} s (device ${context.deviceId} is not connected)`;
    return commandResult(context, command, { ok: false, error });
  });
  return { notices, update: { commands: valid } };
}

/** Answers every queued command with `error`, so none is lost silently when the device stops. */
export function outcomeOfStop(context: ConnectionContext, error: string): WorkOutcome {
  return {
    notices: context.commands.map((command) => commandResult(context, command, { ok: false, error })),
    update: { commands: [], current: null },
  };
}

export function outcomeOfSuccess(
  context: ConnectionContext,
  now: number,
  { result, durationMs }: OperationOutput,
): WorkOutcome {
  const command = currentCommand(context);
  const succeeded = { consecutiveFailures: 0, lastSuccessAt: now };
  if (command) {
    return {
      notices: [commandResult(context, command, { ok: true, result })],
      update: { ...succeeded, commands: removeCommand(context.commands, command.id) },
    };
  }
  return {
    notices: [{ type: 'device.data', deviceId: context.deviceId, operation: 'poll', result, durationMs }],
    update: { ...succeeded, pollDueAt: nextPollDue(context, now) },
  };
}

/** A failed command is retried while it has retry delays left, then answered; a failed poll waits. */
export function outcomeOfFailure(context: ConnectionContext, now: number, error: string): WorkOutcome {
  const command = currentCommand(context);
  const failed = { consecutiveFailures: context.consecutiveFailures + 1, lastError: error };
  const retryDelays = context.policy.commands.retryDelaysMs;
  if (command && command.attempts < retryDelays.length) {
    const retryAt = now + (retryDelays[command.attempts] ?? 0);
    return {
      notices: [],
      update: { ...failed, commands: scheduleRetry(context.commands, command.id, retryAt) },
    };
  }
  if (command) {
    const runs = command.attempts + 1;
    const answer = `${command.operation} failed after ${runs} ${runs === 1 ? 'try' : 'tries'}: ${error}`;
    return {
      notices: [commandResult(context, command, { ok: false, error: answer })],
      update: { ...failed, commands: removeCommand(context.commands, command.id) },
    };
  }
  return { notices: [], update: { ...failed, pollDueAt: nextPollDue(context, now) } };
}

/**
 * What a restored device depends on, as values to compare with `Object.is`: its link state, its queue,
 * its reconnect schedule and its health. Readings and polls change only the rest (lastSuccessAt,
 * pollDueAt, the work region between two polls, none of which a restore uses: a restored link opens
 * again and polls from then on), so a device is not saved again for each of them.
 */
export function restoreFacts(snapshot: { value: unknown; context: ConnectionContext }): readonly unknown[] {
  const { context } = snapshot;
  return [
    deviceStatusOf(snapshot.value),
    context.commands,
    context.attempts,
    context.nextAttemptAt,
    context.consecutiveFailures,
    context.reason,
  ];
}

/** The device's state by the names logs and MQTT use (the `link` region; `work` is an implementation detail). */
export function deviceStatusOf(value: unknown): DeviceStatus {
  const link = (value as { link?: unknown }).link;
  if (typeof link === 'string') return link as DeviceStatus;
  const connected = (link as { connected?: string } | undefined)?.connected;
  return connected === 'degraded' ? 'connected.degraded' : 'connected.healthy';
}
