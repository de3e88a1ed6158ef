import { restartDelay } from './backoff.js';
import type { SupervisorPolicy } from './policy.js';

// OTP-style restart bookkeeping for one supervisor, as plain data: the restart intensity window
// (more than maxRestarts within periodMs means give up and escalate) and the restart backoff
// (restarts themselves back off, and the backoff resets after a stable period).

export interface RestartBook {
  /** When each restart within the intensity window happened. */
  recent: number[];
  /** Restarts since the supervisor was last stable, for the backoff. */
  consecutive: number;
  lastRestartAt: number | null;
}

export const EMPTY_RESTART_BOOK: RestartBook = { recent: [], consecutive: 0, lastRestartAt: null };

export type RestartDecision =
  | { kind: 'restart'; delayMs: number; book: RestartBook }
  | { kind: 'escalate'; reason: string; book: RestartBook };

export function decideRestart(
  policy: Pick<SupervisorPolicy, 'maxRestarts' | 'periodMs' | 'restartBackoff'>,
  book: RestartBook,
  now: number,
): RestartDecision {
  const recent = [...book.recent.filter((at) => now - at < policy.periodMs), now];
  const stable =
    book.lastRestartAt === null || now - book.lastRestartAt >= policy.restartBackoff.resetAfterMs;
  const consecutive = stable ? 1 : book.consecutive + 1;
  const next: RestartBook = { recent, consecutive, lastRestartAt: now };
  if (recent.length > policy.maxRestarts) {
    const seconds = Math.round(policy.periodMs / 1000);
    return {
      kind: 'escalate',
      reason: `restart intensity exceeded: ${recent.length} restarts within ${seconds} s (max ${policy.maxRestarts})`,
      book: next,
    };
  }
  return { kind: 'restart', delayMs: restartDelay(policy.restartBackoff, consecutive), book: next };
}
