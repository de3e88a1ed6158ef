import { z } from 'zod';
import {
  commonFields,
  identityFields,
  simulationNeedsSimulatedTransport,
} from '../../config/fields/deviceFields.js';
import { pollIntervalMs, whenFieldsValid } from '../../config/fields/fields.js';
import type { DriverConfig } from '../contract.js';

/**
 * A device that exists only in software: readings (temperature, humidity, energy) every
 * `poll_interval_ms` (default 1 s) and a dimmable light, through the same machines, outbox and topics
 * as real hardware. For the demo and the tests.
 */
export const simulatedDeviceSchema = z
  .strictObject({
    ...identityFields,
    driver: z.literal('simulated'),
    transport: z.literal('simulated').default('simulated'),
    ...commonFields,
    poll_interval_ms: pollIntervalMs().default(1_000),
  })
  .superRefine(simulationNeedsSimulatedTransport, whenFieldsValid('transport', 'simulation'));

export type SimulatedDevice = z.output<typeof simulatedDeviceSchema>;

export const simulatedConfig: DriverConfig<SimulatedDevice, never> = {
  device: simulatedDeviceSchema,
  defaultTransport: 'simulated',
  // Software has no physical bus: every simulated device shares one.
  busOf: () => 'simulated',
};
