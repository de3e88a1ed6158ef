// Schema of one `devices[]` entry, discriminated on `driver`. Every device gets its effective `bus`
// filled in, and simulated ones their complete `simulation` block, so consumers never re-derive them.

import { z } from 'zod';
import { bleWatchdogSchema, dbusAddress } from '../drivers/ble/lineConfig.js';
import { deviceTuningOverrides } from './device-defaults.js';
import {
  bindKey,
  deviceId,
  disconnectEveryMs,
  durationMs,
  fraction,
  macAddress,
  mbusAddress,
  nonEmptyString,
  offlineAfterMs,
  pollIntervalMs,
  whenFieldsValid,
  wholeNumber,
} from './fields.js';
import { listAlternatives } from './suggest.js';
import { mbusPort } from '../drivers/mbus/portConfig.js';

export const DRIVER_NAMES = ['mbus', 'dali', 'ble', 'simulated'] as const;
export type DriverName = (typeof DRIVER_NAMES)[number];

export const MBUS_BAUD_RATES = [300, 600, 1200, 2400, 4800, 9600, 19200, 38400] as const;
export const MBUS_DEFAULT_BAUD = 2400;

/** Behaviour of the simulated transport, used to exercise the self-healing without hardware. */
export const DEFAULT_SIMULATION = {
  connect_delay_ms: 50,
  failure_rate: 0,
  hang_rate: 0,
  disconnect_every_ms: 0,
  operation_delay_ms: 5,
};

const simulation = z.strictObject({
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
const identityFields = {
  id: deviceId(),
  name: nonEmptyString().optional(),
};

const commonFields = {
  /** Sub-supervisor the device runs under; defaults to one per physical bus (see defaultBus). */
  bus: nonEmptyString().optional(),
  enabled: z.boolean().default(true),
  restart: z.enum(['permanent', 'transient', 'temporary']).default('permanent'),
  /** 0 = do not poll. */
  poll_interval_ms: pollIntervalMs().optional(),
  simulation: simulation.optional(),
  ...deviceTuningOverrides,
};

function simulationNeedsSimulatedTransport(
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

const mbusDevice = z
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

const daliDevice = z
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

const bleDevice = z
  .strictObject({
    ...identityFields,
    driver: z.literal('ble'),
    transport: z.enum(['bluez', 'simulated']).default('bluez'),
    adapter: nonEmptyString().default('hci0'),
    /** `adapter`: the adapter itself (brought up, watched, recovered); absent or `sensor`: a sensor. */
    role: z.enum(['sensor', 'adapter']).optional(),
    mac: macAddress().optional(),
    bind_key: bindKey().optional(),
    /** Sensors: not heard for this long and the device is unavailable (default 10 minutes; 0: never). */
    offline_after_ms: offlineAfterMs().optional(),
    /** Adapter devices: another D-Bus than the system bus. */
    bus_address: dbusAddress().optional(),
    /** Adapter devices: the watchdog's timing. */
    watchdog: bleWatchdogSchema.optional(),
    ...commonFields,
  })
  .superRefine(simulationNeedsSimulatedTransport, whenFieldsValid('transport', 'simulation'))
  .superRefine(
    (device, ctx) => {
      const adapter = device.role === 'adapter';
      const wrong = adapter
        ? (['mac', 'bind_key', 'offline_after_ms'] as const).filter((key) => device[key] !== undefined)
        : (['bus_address', 'watchdog'] as const).filter((key) => device[key] !== undefined);
      for (const key of wrong) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: adapter
            ? 'belongs to a sensor, not to an adapter device (role: adapter)'
            : 'belongs to the adapter device (role: adapter, or a line under ble:), not to a sensor',
        });
      }
    },
    whenFieldsValid('role', 'mac', 'bind_key', 'offline_after_ms', 'bus_address', 'watchdog'),
  );

/**
 * A device that exists only in software: readings (temperature, humidity, energy) every
 * `poll_interval_ms` (default 1 s) and a dimmable light, through the same machines, outbox and topics
 * as real hardware. For the demo and the tests.
 */
const simulatedDevice = z
  .strictObject({
    ...identityFields,
    driver: z.literal('simulated'),
    transport: z.literal('simulated').default('simulated'),
    ...commonFields,
    poll_interval_ms: pollIntervalMs().default(1_000),
  })
  .superRefine(simulationNeedsSimulatedTransport, whenFieldsValid('transport', 'simulation'));

type ParsedDevice =
  | z.output<typeof mbusDevice>
  | z.output<typeof daliDevice>
  | z.output<typeof bleDevice>
  | z.output<typeof simulatedDevice>;

/** The bus a device runs on when it does not name one: one sub-supervisor per physical bus. */
export function defaultBus(device: ParsedDevice): string {
  if (device.driver === 'simulated') return 'simulated';
  if (device.transport === 'simulated') return `${device.driver}:simulated`;
  switch (device.driver) {
    case 'mbus':
      // The schema requires `port` for serial M-Bus; the fallback only keeps the type honest.
      return `mbus:${device.port ?? 'unknown'}`;
    case 'dali':
      return `dali:${device.adapter_serial ?? 'default'}`;
    case 'ble':
      return `ble:${device.adapter}`;
  }
}

function completeDevice(device: ParsedDevice): ParsedDevice & { bus: string } {
  const bus = device.bus ?? defaultBus(device);
  if (device.transport === 'simulated' && device.simulation === undefined) {
    return { ...device, bus, simulation: simulation.parse({}) };
  }
  return { ...device, bus };
}

const expectedDrivers = `expected ${listAlternatives([...DRIVER_NAMES])}`;

function unknownDriverMessage(device: unknown): string {
  const driver = typeof device === 'object' && device !== null ? Reflect.get(device, 'driver') : undefined;
  if (driver === undefined) return `is required (${expectedDrivers})`;
  return `unknown driver ${JSON.stringify(driver)} (${expectedDrivers})`;
}

export const deviceSchema = z
  .discriminatedUnion('driver', [mbusDevice, daliDevice, bleDevice, simulatedDevice], {
    error: (issue) => (issue.code === 'invalid_union' ? unknownDriverMessage(issue.input) : undefined),
  })
  .transform(completeDevice);
