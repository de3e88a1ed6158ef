// Config (snake_case, partial overrides) → the camelCase policies the machines run on.

import type { LoggingOptions } from '../logging/index.js';
import type { DevicePolicy, SupervisorPolicy } from '../machines/policy.js';
import type { DeviceConfig, FieldbridgeConfig } from './schema.js';

/** `base` with every key that `override` actually sets (undefined means "not set", not "unset it"). */
function mergeDefined<T extends object>(base: T, override: Partial<T> | undefined): T {
  const merged = { ...base };
  for (const [key, value] of Object.entries(override ?? {})) {
    if (value !== undefined) Reflect.set(merged, key, value);
  }
  return merged;
}

export function devicePolicy(config: FieldbridgeConfig, device: DeviceConfig): DevicePolicy {
  const defaults = config.device_defaults;
  const reconnect = mergeDefined(defaults.reconnect, device.reconnect);
  const health = mergeDefined(defaults.health, device.health);
  const commands = mergeDefined(defaults.commands, device.commands);
  return {
    reconnect: {
      initialMs: reconnect.initial_ms,
      factor: reconnect.factor,
      maxMs: reconnect.max_ms,
      jitter: reconnect.jitter,
      maxAttempts: reconnect.max_attempts,
    },
    health: { failureThreshold: health.failure_threshold },
    commands: {
      queueSize: commands.queue_size,
      ttlMs: commands.ttl_ms,
      retryDelaysMs: [...commands.retry_delays_ms],
    },
    timeouts: mergeDefined(defaults.timeouts, device.timeouts),
    pollIntervalMs: device.poll_interval_ms ?? 0,
  };
}

/** The policy of the bus's sub-supervisor, or of the top-level supervisor when `busId` is undefined. */
export function supervisorPolicy(config: FieldbridgeConfig, busId: string | undefined): SupervisorPolicy {
  const { buses, ...topLevel } = config.supervisor;
  const override = busId === undefined ? undefined : buses[busId];
  const { restart_backoff: backoffOverride, ...scalarOverrides } = override ?? {};
  const supervisor = mergeDefined(topLevel, scalarOverrides);
  const backoff = mergeDefined(topLevel.restart_backoff, backoffOverride);
  return {
    strategy: supervisor.strategy,
    maxRestarts: supervisor.max_restarts,
    periodMs: supervisor.period_ms,
    restartBackoff: { minMs: backoff.min_ms, maxMs: backoff.max_ms, resetAfterMs: backoff.reset_after_ms },
    degradedAfterMs: supervisor.degraded_after_ms,
    ladderResetAfterMs: supervisor.ladder_reset_after_ms,
  };
}

/** The id of the sub-supervisor a device runs under (filled in at parse time, see devices.ts). */
export function deviceBus(device: DeviceConfig): string {
  return device.bus;
}

/** The logging section as the logging module takes it. */
export function loggingOptions(config: FieldbridgeConfig): LoggingOptions {
  const { level, namespaces, format, file, repeat_summary_ms } = config.logging;
  return {
    level,
    namespaces,
    format,
    repeatSummaryMs: repeat_summary_ms,
    ...(file ? { file: { path: file.path, maxSizeMb: file.max_size_mb, maxFiles: file.max_files } } : {}),
  };
}
