// `dali:` — hasseb DALI adapters to look after even before any lamp on them is known: scanned at start
// so that two lines of config are enough to get every lamp (and every group) into Home Assistant.
// Lights found by a scan become devices (stored in the database, see DiscoveredDeviceStore).

import { z } from 'zod';
import { nonEmptyString, pollIntervalMs } from '../../config/fields/fields.js';

const daliLine = z.strictObject({
  /** Picks one adapter when several are plugged in; leave it out when there is one. */
  adapter_serial: nonEmptyString().optional(),
  /** `simulated`: a fake hasseb adapter with a virtual bus of lamps (demo, tests). */
  transport: z.enum(['hid', 'simulated']).default('hid'),
  /** `auto`: scan at start when no light on this adapter is known; `always`; `never` (on request only). */
  scan_on_start: z.enum(['auto', 'always', 'never']).default('auto'),
  /** The self-test of the lights a scan finds: each one's status is queried this often. */
  self_test_interval_ms: pollIntervalMs().default(60_000),
});

export type DaliLine = z.output<typeof daliLine>;

export const daliSection = z.array(daliLine).default(() => []);
