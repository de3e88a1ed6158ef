// `mbus:` — M-Bus lines to look after even before any meter on them is known: a port (and its baud),
// scanned at start so that two lines of config are enough to get every meter on a converter into Home
// Assistant. Meters found by a scan become devices (stored in the database, see DiscoveredDeviceStore).

import { z } from 'zod';
import { pollIntervalMs } from '../../config/fields/fields.js';
import { MBUS_BAUD_RATES, MBUS_DEFAULT_BAUD, mbusPort } from './portConfig.js';

export const MBUS_SCAN_MODES = ['secondary', 'primary'] as const;
export type MbusScanMode = (typeof MBUS_SCAN_MODES)[number];

const mbusLine = z.strictObject({
  /**
   * Serial port of the level converter, e.g. /dev/ttyUSB0 or a /dev/serial/by-id/… link; or an
   * Ethernet converter's transparent TCP port, tcp://host:port (e.g. tcp://192.168.1.50:10001).
   */
  port: mbusPort(),
  baud: z.literal(MBUS_BAUD_RATES).default(MBUS_DEFAULT_BAUD),
  /**
   * `auto`: scan at start when no meter on this port is configured or was found before; `always`:
   * scan at every start; `never`: only on request (`<base>/bridge/request/scan`).
   */
  scan_on_start: z.enum(['auto', 'always', 'never']).default('auto'),
  /** Secondary scans find meters that share a primary address (often all 0); primary scans are simpler. */
  scan_mode: z.enum(MBUS_SCAN_MODES).default('secondary'),
  /** How often the meters a scan finds on this line are read. */
  poll_interval_ms: pollIntervalMs().default(15_000),
});

export type MbusLine = z.output<typeof mbusLine>;

export const mbusSection = z.array(mbusLine).default(() => []);
