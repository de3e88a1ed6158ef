import type { JsonValue } from '../drivers/contract.js';

// The per-device command queue as plain data in the machine's context, so it is persisted with the
// snapshot and survives a restart of the gateway. Pure functions only: the machine decides when.

export interface Command {
  id: string;
  operation: string;
  args: JsonValue;
  enqueuedAt: number;
  /** After this the command is answered with an "expired" error instead of being run. */
  expiresAt: number;
  /** Failed runs so far. */
  attempts: number;
  /** Set while the command waits for its next retry (after a failed run). */
  retryAt: number | null;
}

export type CommandQueue = readonly Command[];

export function enqueue(
  queue: CommandQueue,
  command: { id: string; operation: string; args: JsonValue; now: number; ttlMs: number },
): CommandQueue {
  return [
    ...queue,
    {
      id: command.id,
      operation: command.operation,
      args: command.args,
      enqueuedAt: command.now,
      expiresAt: command.now + command.ttlMs,
      attempts: 0,
      retryAt: null,
    },
  ];
}

/** Splits the queue into the commands still valid at `now` and those whose time-to-live ran out. */
export function partitionExpired(
  queue: CommandQueue,
  now: number,
): { valid: CommandQueue; expired: CommandQueue } {
  const valid: Command[] = [];
  const expired: Command[] = [];
  for (const command of queue) (command.expiresAt <= now ? expired : valid).push(command);
  return { valid, expired };
}

export function removeCommand(queue: CommandQueue, id: string): CommandQueue {
  return queue.filter((command) => command.id !== id);
}

/** Records a failed run of command `id` and when it may run again. */
export function scheduleRetry(queue: CommandQueue, id: string, retryAt: number): CommandQueue {
  return queue.map((command) =>
    command.id === id ? { ...command, attempts: command.attempts + 1, retryAt } : command,
  );
}

/** Clears the retry wait of the head command so it runs next. */
export function releaseHead(queue: CommandQueue): CommandQueue {
  const [head, ...rest] = queue;
  return head ? [{ ...head, retryAt: null }, ...rest] : queue;
}
