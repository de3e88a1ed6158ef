// The fields every `devices[]` entry has, whatever its driver. Each driver's device schema
// (src/drivers/<name>/config.ts) spreads them around its own keys. A leaf: drivers import it without
// reaching the registry (which src/config/devices.ts imports).

import { z } from 'zod';
import { deviceTuningOverrides } from './device-defaults.js';
import {
  deviceId,
  disconnectEveryMs,
  durationMs,
  fraction,
  nonEmptyString,
  pollIntervalMs,
} from './fields.js';

/** Behaviour of the simulated transport, used to exercise the self-healing without hardware. */
export const DEFAULT_SIMULATION = {
  connect_delay_ms: 50,
  failure_rate: 0,
  hang_rate: 0,
  disconnect_every_ms: 0,
  operation_delay_ms: 5,
};

export const simulationSchema = z.strictObject({
  connect_delay_ms: durationMs().default(DEFAULT_SIMULATION.connect_delay_ms),
  /** Probability that an operation fails. */
  failure_rate: fraction().default(DEFAULT_SIMULATION.failure_rate),
  /** Probability that an operation never answers (only its timeout ends it). */
  hang_rate: fraction().default(DEFAULT_SIMULATION.hang_rate),
  /** Drop the connection this often; 0 = never. */
  disconnect_every_ms: disconnectEveryMs().default(DEFAULT_SIMULATION.disconnect_every_ms),
  operation_delay_ms: durationMs().default(DEFAULT_SIMULATION.operation_delay_ms),
});

// Split in two only so the effective config prints id, name, driver, transport, driver keys, rest.
export const identityFields = {
  id: deviceId(),
  name: nonEmptyString().optional(),
};

export const commonFields = {
  /** Sub-supervisor the device runs under; defaults to one per physical bus (the driver's busOf). */
  bus: nonEmptyString().optional(),
  enabled: z.boolean().default(true),
  restart: z.enum(['permanent', 'transient', 'temporary']).default('permanent'),
  /** 0 = do not poll. */
  poll_interval_ms: pollIntervalMs().optional(),
  simulation: simulationSchema.optional(),
  ...deviceTuningOverrides,
};

export function simulationNeedsSimulatedTransport(
  device: { transport: string; simulation?: unknown },
  ctx: z.core.$RefinementCtx,
): void {
  if (device.simulation !== undefined && device.transport !== 'simulated') {
    ctx.addIssue({
      code: 'custom',
      path: ['simulation'],
      message: `is only used with transport: simulated (this device uses transport: ${device.transport})`,
    });
  }
}
