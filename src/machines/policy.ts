// Policies are the plain, already-validated numbers the machines run on. The config module turns the
// user's YAML (snake_case, partial, with defaults) into these; the machines never see raw config.

/** Exponential backoff between connection attempts. */
export interface ReconnectPolicy {
  initialMs: number;
  factor: number;
  maxMs: number;
  /** Fraction, 0.2 means every delay is drawn from ±20 % around its nominal value. */
  jitter: number;
  /** Attempts before the device is declared `offline` and its supervisor is told. */
  maxAttempts: number;
}

export interface HealthPolicy {
  /** Consecutive failed operations that move a connected device from `healthy` to `degraded`. */
  failureThreshold: number;
}

export interface CommandPolicy {
  /** Commands waiting (while disconnected or behind another command) before new ones are refused. */
  queueSize: number;
  /** How long a command may wait before it is answered with an "expired" error. */
  ttlMs: number;
  /** Delays before each retry of a failed command; its length is the number of retries. */
  retryDelaysMs: number[];
}

/**
 * Hard timeout per operation kind, in milliseconds. `connect` bounds opening the transport,
 * `default` every operation kind that has no entry of its own.
 */
export interface OperationTimeouts {
  connect: number;
  default: number;
  [operation: string]: number;
}

export interface DevicePolicy {
  reconnect: ReconnectPolicy;
  health: HealthPolicy;
  commands: CommandPolicy;
  timeouts: OperationTimeouts;
  /** Period of the driver's `poll` operation while connected; 0 when the driver is push-only. */
  pollIntervalMs: number;
}

export type RestartStrategy = 'one_for_one' | 'rest_for_one';

/** OTP restart types: permanent always restarts, transient only after a failure, temporary never. */
export type RestartType = 'permanent' | 'transient' | 'temporary';

export interface SupervisorPolicy {
  strategy: RestartStrategy;
  /** More than `maxRestarts` restarts within `periodMs` and the supervisor gives up and escalates. */
  maxRestarts: number;
  periodMs: number;
  restartBackoff: { minMs: number; maxMs: number; resetAfterMs: number };
  /** A device that stays `degraded` this long makes the supervisor climb its recovery ladder. */
  degradedAfterMs: number;
  /** A device that has been healthy this long gets its recovery ladder reset to the first step. */
  ladderResetAfterMs: number;
}

export const DEFAULT_RECONNECT: ReconnectPolicy = {
  initialMs: 2_000,
  factor: 2,
  maxMs: 30_000,
  jitter: 0.2,
  maxAttempts: 5,
};

export const DEFAULT_HEALTH: HealthPolicy = { failureThreshold: 3 };

export const DEFAULT_COMMANDS: CommandPolicy = {
  queueSize: 100,
  ttlMs: 60_000,
  retryDelaysMs: [500, 1_000, 1_500],
};

export const DEFAULT_TIMEOUTS: OperationTimeouts = { connect: 10_000, default: 5_000 };

export const DEFAULT_DEVICE_POLICY: DevicePolicy = {
  reconnect: DEFAULT_RECONNECT,
  health: DEFAULT_HEALTH,
  commands: DEFAULT_COMMANDS,
  timeouts: DEFAULT_TIMEOUTS,
  pollIntervalMs: 0,
};

export const DEFAULT_SUPERVISOR_POLICY: SupervisorPolicy = {
  strategy: 'one_for_one',
  maxRestarts: 5,
  periodMs: 60_000,
  restartBackoff: { minMs: 1_000, maxMs: 30_000, resetAfterMs: 60_000 },
  degradedAfterMs: 300_000,
  ladderResetAfterMs: 600_000,
};
