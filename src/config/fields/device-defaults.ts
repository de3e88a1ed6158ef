// Schemas of the per-device tuning (reconnect, health, commands, timeouts): complete with defaults in
// `device_defaults`, and as partial overrides inside each device that are merged over those defaults.

import { z } from 'zod';
import {
  DEFAULT_COMMANDS,
  DEFAULT_HEALTH,
  DEFAULT_RECONNECT,
  DEFAULT_TIMEOUTS,
} from '../../machines/policy.js';
import { durationMs, msAtLeast, whenFieldsValid, wholeNumber } from './fields.js';

/** No bus answers faster; a smaller hard timeout would fail every operation. */
const timeoutMs = () => msAtLeast(100);

export const MAX_MS_BELOW_INITIAL_MS = 'must be >= initial_ms';

const reconnectFields = {
  // Reconnecting every few ms is a tight loop against a device that is not there.
  initial_ms: msAtLeast(50),
  factor: z.number().min(1),
  max_ms: msAtLeast(50),
  // 1 would allow a delay of zero, i.e. reconnecting in a tight loop.
  jitter: z.number().min(0).lt(1),
  max_attempts: wholeNumber(1),
};

const healthFields = {
  failure_threshold: wholeNumber(1),
};

const commandFields = {
  queue_size: wholeNumber(1),
  ttl_ms: msAtLeast(100),
  /** One entry per retry; empty means failed commands are not retried. 0 retries at once (the count bounds it). */
  retry_delays_ms: z.array(durationMs()),
};

/** Operation name → hard timeout. `connect` and `default` always exist; other keys are free-form. */
const timeoutOverrides = z.record(z.string().min(1), timeoutMs());

const reconnectDefaults = z
  .strictObject({
    initial_ms: reconnectFields.initial_ms.default(DEFAULT_RECONNECT.initialMs),
    factor: reconnectFields.factor.default(DEFAULT_RECONNECT.factor),
    max_ms: reconnectFields.max_ms.default(DEFAULT_RECONNECT.maxMs),
    jitter: reconnectFields.jitter.default(DEFAULT_RECONNECT.jitter),
    max_attempts: reconnectFields.max_attempts.default(DEFAULT_RECONNECT.maxAttempts),
  })
  .superRefine(
    (reconnect, ctx) => {
      if (reconnect.max_ms < reconnect.initial_ms) {
        ctx.addIssue({ code: 'custom', path: ['max_ms'], message: MAX_MS_BELOW_INITIAL_MS });
      }
    },
    whenFieldsValid('initial_ms', 'max_ms'),
  )
  .prefault({});

export const deviceDefaultsSection = z
  .strictObject({
    reconnect: reconnectDefaults,
    health: z
      .strictObject({
        failure_threshold: healthFields.failure_threshold.default(DEFAULT_HEALTH.failureThreshold),
      })
      .prefault({}),
    commands: z
      .strictObject({
        queue_size: commandFields.queue_size.default(DEFAULT_COMMANDS.queueSize),
        ttl_ms: commandFields.ttl_ms.default(DEFAULT_COMMANDS.ttlMs),
        retry_delays_ms: commandFields.retry_delays_ms.default(() => [...DEFAULT_COMMANDS.retryDelaysMs]),
      })
      .prefault({}),
    timeouts: z
      .object({
        connect: timeoutMs().default(DEFAULT_TIMEOUTS.connect),
        default: timeoutMs().default(DEFAULT_TIMEOUTS.default),
      })
      .catchall(timeoutMs())
      .prefault({}),
  })
  .prefault({});

/**
 * The tuning keys a device may override. No defaults here, so an absent key means "use device_defaults";
 * `max_ms >= initial_ms` is checked on the merged result (./rules.ts).
 */
export const deviceTuningOverrides = {
  reconnect: z.strictObject(reconnectFields).partial().optional(),
  health: z.strictObject(healthFields).partial().optional(),
  commands: z.strictObject(commandFields).partial().optional(),
  timeouts: timeoutOverrides.optional(),
};
