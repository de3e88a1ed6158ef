import type { RecoveryStepSpec } from '../drivers/contract.js';

// The recovery ladder of one device as plain data: which rung comes next and when each rung last ran,
// for the rate limits. Pure functions; the bus supervisor decides when to climb.

const HOUR_MS = 3_600_000;

export interface LadderState {
  /** Index of the rung the next climb runs. The last rung is repeated once reached. */
  rung: number;
  /** When each step ran within the last hour, for its rate limit. */
  history: Record<string, number[]>;
}

export const FRESH_LADDER: LadderState = { rung: 0, history: {} };

export type ClimbDecision =
  | { kind: 'run'; step: string; rung: number; ladder: LadderState }
  | { kind: 'rate_limited'; step: string; retryAt: number; ladder: LadderState }
  | { kind: 'no_steps' };

function recentRuns(ladder: LadderState, step: string, now: number): number[] {
  return (ladder.history[step] ?? []).filter((at) => now - at < HOUR_MS);
}

/**
 * Decides the next climb. A step over its rate limit is not skipped: the ladder waits on that rung
 * until the oldest run leaves the hour, so a flapping device cannot storm the adapter.
 */
export function climb(steps: readonly RecoveryStepSpec[], ladder: LadderState, now: number): ClimbDecision {
  if (steps.length === 0) return { kind: 'no_steps' };
  const rung = Math.min(ladder.rung, steps.length - 1);
  const spec = steps[rung] as RecoveryStepSpec;
  const runs = recentRuns(ladder, spec.name, now);
  if (spec.maxPerHour !== undefined && runs.length >= spec.maxPerHour) {
    const oldest = Math.min(...runs);
    return { kind: 'rate_limited', step: spec.name, retryAt: oldest + HOUR_MS, ladder };
  }
  return {
    kind: 'run',
    step: spec.name,
    rung,
    ladder: {
      rung: Math.min(rung + 1, steps.length - 1),
      history: { ...ladder.history, [spec.name]: [...runs, now] },
    },
  };
}

/**
 * Once a step is verified, or after a stable period, the next trouble starts again from the first rung;
 * rate-limit history stays.
 */
export function resetLadder(ladder: LadderState): LadderState {
  return ladder.rung === 0 ? ladder : { rung: 0, history: ladder.history };
}
