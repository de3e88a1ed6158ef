import { z } from 'zod';
import type { FieldbridgeConfig } from '../../config/index.js';
import {
  commonFields,
  identityFields,
  simulationNeedsSimulatedTransport,
} from '../../config/fields/deviceFields.js';
import { mbusAddress, offlineAfterMs, pollIntervalMs, whenFieldsValid } from '../../config/fields/fields.js';
import type { ConfigTree, DriverConfig, FieldReader } from '../contract.js';
import { type MbusLine, mbusSection } from './lineConfig.js';
import { MBUS_BAUD_RATES, MBUS_DEFAULT_BAUD, mbusPort } from './portConfig.js';

// M-Bus in the configuration file: meters under `devices:`, lines under `mbus:`, one bus per port.

export const mbusDeviceSchema = z
  .strictObject({
    ...identityFields,
    driver: z.literal('mbus'),
    transport: z.enum(['serial', 'simulated']).default('serial'),
    /** Serial port of the M-Bus level converter, e.g. /dev/ttyUSB0, or tcp://host:port. */
    port: mbusPort().optional(),
    baud: z.literal(MBUS_BAUD_RATES).default(MBUS_DEFAULT_BAUD),
    /** Primary (0-250) or secondary (16 hex digits) address; none = the only meter on the bus. */
    address: mbusAddress().optional(),
    ...commonFields,
    poll_interval_ms: pollIntervalMs().default(15_000),
    /** Home Assistant shows the meter's entities unavailable when it has not been read for this long. */
    offline_after_ms: offlineAfterMs().default(90_000),
  })
  .superRefine(simulationNeedsSimulatedTransport, whenFieldsValid('transport', 'simulation'))
  .superRefine(
    (device, ctx) => {
      if (device.transport === 'serial' && device.port === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['port'],
          message: 'is required with transport: serial (e.g. /dev/ttyUSB0)',
        });
      }
    },
    whenFieldsValid('transport', 'port'),
  );

export type MbusDevice = z.output<typeof mbusDeviceSchema>;

/**
 * The bus of M-Bus meters and lines: one per port (`mbus:/dev/ttyUSB0`, `mbus:tcp://host:10001`), one
 * for every simulated meter; undefined while the port is unknown.
 */
export function mbusBus(fields: FieldReader): string | undefined {
  if (fields('transport') === 'simulated') return 'mbus:simulated';
  const port = fields('port');
  return typeof port === 'string' ? `mbus:${port}` : undefined;
}

/** The same meter: same port and address (a secondary address in any case). */
function sameMeter(a: MbusDevice, b: MbusDevice): boolean {
  const address = (device: MbusDevice) =>
    typeof device.address === 'string' ? device.address.toUpperCase() : device.address;
  return a.port === b.port && address(a) === address(b);
}

/**
 * A found meter runs at its line's baud rate as configured now, not as it was when the scan found it:
 * one serial port has one speed (the config refuses two; a changed line must not bring them back).
 */
function atLineBaud<D extends MbusDevice>(config: FieldbridgeConfig, device: D): D {
  const line = config.mbus.find((candidate) => candidate.port === device.port);
  return line === undefined || line.baud === device.baud ? device : { ...device, baud: line.baud };
}

/** A serial port runs at one speed: M-Bus lines and meters that share a port must agree on `baud`. */
function checkOneBaudPerPort(tree: ConfigTree): void {
  const first = new Map<string, { baud: number; where: string }>();
  const visit = (path: PropertyKey[], where: string) => {
    const port = tree.value([...path, 'port']);
    const rawBaud = tree.raw([...path, 'baud']);
    const baud = rawBaud === undefined ? MBUS_DEFAULT_BAUD : tree.number([...path, 'baud']);
    if (typeof port !== 'string' || baud === undefined) return;
    const seen = first.get(port);
    if (seen === undefined) first.set(port, { baud, where });
    else if (seen.baud !== baud) {
      tree.report(
        [...path, 'baud'],
        `port ${port} already runs at ${seen.baud} Bd (${seen.where}); one port has one baud rate`,
      );
    }
  };
  for (const [index] of tree.entries(['mbus'])) visit(['mbus', index], `mbus[${index}]`);
  for (const [index] of tree.entries(['devices'])) {
    const device = ['devices', index];
    // An absent transport is the default, serial; an invalid one has its own problem.
    const transport =
      tree.raw([...device, 'transport']) === undefined ? 'serial' : tree.value([...device, 'transport']);
    const serial = transport === 'serial';
    if (tree.value([...device, 'driver']) === 'mbus' && serial) visit(device, `devices[${index}]`);
  }
}

export const mbusConfig: DriverConfig<MbusDevice, MbusLine> = {
  device: mbusDeviceSchema,
  defaultTransport: 'serial',
  // The schema requires `port` for serial M-Bus; the fallback only names the bus of a meter without one.
  busOf: (device) => mbusBus(device) ?? 'mbus:unknown',
  lines: { schema: mbusSection, busOf: mbusBus },
  sameDevice: sameMeter,
  updateFound: atLineBaud,
  rules: checkOneBaudPerPort,
};
