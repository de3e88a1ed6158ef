import type { ReconnectPolicy } from './policy.js';

/**
 * Delay before reconnect attempt `attempt` (1-based): initial × factor^(attempt-1), jittered by
 * ±jitter and then capped, so the cap really is the longest a user ever waits. `random` is in [0, 1).
 */
export function backoffDelay(policy: ReconnectPolicy, attempt: number, random: number): number {
  const nominal = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempt - 1));
  const jittered = nominal * (1 + policy.jitter * (2 * random - 1));
  return Math.round(Math.min(policy.maxMs, Math.max(0, jittered)));
}

/** Nominal (unjittered) delay, for logs and tests that check a schedule. */
export function nominalBackoffDelay(policy: ReconnectPolicy, attempt: number): number {
  return Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempt - 1));
}

/** Doubling delay between `minMs` and `maxMs` for the `n`-th consecutive restart (1-based), no jitter. */
export function restartDelay(backoff: { minMs: number; maxMs: number }, n: number): number {
  return Math.min(backoff.maxMs, backoff.minMs * 2 ** Math.max(0, n - 1));
}
