import { z } from 'zod';
import {
  commonFields,
  identityFields,
  simulationNeedsSimulatedTransport,
} from '../../config/fields/deviceFields.js';
import { nonEmptyString, pollIntervalMs, whenFieldsValid, wholeNumber } from '../../config/fields/fields.js';
import type { DriverConfig, FieldReader } from '../contract.js';
import { daliAdapterEntries } from './adapterDevices.js';
import { type DaliLine, daliSection } from './lineConfig.js';

// DALI in the configuration file: lights and adapters under `devices:`, adapters under `dali:`, one bus
// per adapter.

export const daliDeviceSchema = z
  .strictObject({
    ...identityFields,
    driver: z.literal('dali'),
    transport: z.enum(['hid', 'simulated']).default('hid'),
    /** Picks one USB DALI adapter when several are plugged in. */
    adapter_serial: nonEmptyString().optional(),
    /**
     * A lamp's short address; or `group` for a DALI group (one frame switches all its lamps); neither:
     * every lamp on the line (broadcast).
     */
    address: wholeNumber(0, 63).optional(),
    group: wholeNumber(0, 15).optional(),
    /** `adapter`: the hasseb adapter itself (its connectivity; one query per bus per self-test). */
    role: z.enum(['light', 'adapter']).optional(),
    ...commonFields,
    /** The self-test: each light's status is queried this often, so a dead bus or a lamp that lost power is noticed. */
    poll_interval_ms: pollIntervalMs().default(60_000),
  })
  .superRefine(simulationNeedsSimulatedTransport, whenFieldsValid('transport', 'simulation'))
  .superRefine(
    (device, ctx) => {
      if (device.address !== undefined && device.group !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['group'],
          message: 'a DALI light is a lamp (address) or a group, not both',
        });
      }
      if (device.role === 'adapter' && (device.address !== undefined || device.group !== undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [device.address !== undefined ? 'address' : 'group'],
          message: 'belongs to a light, not to the adapter device (role: adapter)',
        });
      }
    },
    whenFieldsValid('address', 'group', 'role'),
  );

export type DaliDevice = z.output<typeof daliDeviceSchema>;

/** The bus of DALI lights and lines: one per adapter (`dali:A1`, `dali:default`), one for the simulated ones. */
export function daliBus(fields: FieldReader): string {
  if (fields('transport') === 'simulated') return 'dali:simulated';
  const serial = fields('adapter_serial');
  return `dali:${typeof serial === 'string' ? serial : 'default'}`;
}

export const daliConfig: DriverConfig<DaliDevice, DaliLine> = {
  device: daliDeviceSchema,
  defaultTransport: 'hid',
  busOf: daliBus,
  lines: { schema: daliSection, busOf: daliBus },
  impliedDevices: daliAdapterEntries,
};
