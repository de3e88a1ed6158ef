// Schema of the supervisor section: restart limits for the whole tree plus per-bus overrides.

import { z } from 'zod';
import { DEFAULT_SUPERVISOR_POLICY } from '../machines/policy.js';
import { msAtLeast, nonEmptyString, whenFieldsValid, wholeNumber } from './fields/fields.js';

const defaults = DEFAULT_SUPERVISOR_POLICY;

const restartStrategy = () => z.enum(['one_for_one', 'rest_for_one']);

// 0 would restart in a tight loop (doubling 0 stays 0).
const restartBackoffFields = {
  min_ms: msAtLeast(100),
  max_ms: msAtLeast(100),
  reset_after_ms: msAtLeast(1_000),
};

/** Restart intensity's window: restarts are at least restart_backoff.min_ms apart, so shorter never trips. */
const periodMs = () => msAtLeast(1_000);
const degradedAfterMs = () => msAtLeast(1_000);
const ladderResetAfterMs = () => msAtLeast(100);

export const MAX_MS_BELOW_MIN_MS = 'must be >= min_ms';

const restartBackoff = z
  .strictObject({
    min_ms: restartBackoffFields.min_ms.default(defaults.restartBackoff.minMs),
    max_ms: restartBackoffFields.max_ms.default(defaults.restartBackoff.maxMs),
    reset_after_ms: restartBackoffFields.reset_after_ms.default(defaults.restartBackoff.resetAfterMs),
  })
  .superRefine(
    (backoff, ctx) => {
      if (backoff.max_ms < backoff.min_ms) {
        ctx.addIssue({ code: 'custom', path: ['max_ms'], message: MAX_MS_BELOW_MIN_MS });
      }
    },
    whenFieldsValid('min_ms', 'max_ms'),
  )
  .prefault({});

/**
 * What a bus may override. No defaults here: an absent key falls back to the top-level value, and
 * `max_ms >= min_ms` is checked on the merged result (./rules.ts). No nested `buses`.
 */
const busOverride = z.strictObject({
  strategy: restartStrategy().optional(),
  max_restarts: wholeNumber(0).optional(),
  period_ms: periodMs().optional(),
  restart_backoff: z.strictObject(restartBackoffFields).partial().optional(),
  degraded_after_ms: degradedAfterMs().optional(),
  ladder_reset_after_ms: ladderResetAfterMs().optional(),
});

export const supervisorSection = z
  .strictObject({
    strategy: restartStrategy().default(defaults.strategy),
    max_restarts: wholeNumber(0).default(defaults.maxRestarts),
    period_ms: periodMs().default(defaults.periodMs),
    restart_backoff: restartBackoff,
    degraded_after_ms: degradedAfterMs().default(defaults.degradedAfterMs),
    ladder_reset_after_ms: ladderResetAfterMs().default(defaults.ladderResetAfterMs),
    /** Bus id (see deviceBus) → overrides for that bus's sub-supervisor. */
    buses: z.record(nonEmptyString(), busOverride).default(() => ({})),
  })
  .prefault({});
