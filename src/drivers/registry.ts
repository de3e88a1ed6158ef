import { z } from 'zod';
import { type EntityDescriptor, simulatedEntities } from '../bridge/entities.js';
import { describeIssues } from '../bridge/requests.js';
import type { DeviceConfig, DriverName } from '../config/index.js';
import type { GatewayClock } from '../machines/clock.js';
import type { BusRuntime, DriverDefinition, JsonValue, RecoveryStepSpec } from './contract.js';
import { isTcpPort } from './mbus/portConfig.js';
import { bleEntities, bleExpireAfterS, bleModel } from './ble/entities.js';
import { openBleBus, openSimulatedBleBus } from './ble/openBus.js';
import { daliAdapterEntities, daliEntities, daliModel } from './dali/entities.js';
import { openDaliBus, openSimulatedDaliBus } from './dali/openBus.js';
import { mbusEntities, mbusModel } from './mbus/entities.js';
import { openMbusBus, openSimulatedMbusBus } from './mbus/openBus.js';
import { SimulatedBusRuntime } from './simulated/runtime.js';

// The driver catalogue: each driver's recovery ladder and the transports it can open a bus with.
// Every driver offers `simulated`, a protocol-level simulation of that driver in-process (M-Bus meters
// on the meter simulator, DALI lamps on a fake hasseb adapter, BLE sensors on a fake BlueZ), so the
// whole gateway runs without hardware; the `simulated` driver is the generic fault-injecting device
// (SimulatedBusRuntime).

type BusOpener = (busId: string, devices: readonly DeviceConfig[], clock: GatewayClock) => BusRuntime;

/** A device's last known state (what `<base>/<id>` says), from which some drivers derive entities. */
export type DeviceValues = Record<string, JsonValue>;

export interface DriverEntry {
  definition: DriverDefinition;
  transports: Partial<Record<string, BusOpener>>;
  /** Manufacturer and model shown in Home Assistant's device registry. */
  model: { manufacturer: string; model: string };
  /** A better registry entry from what the device reported about itself (a meter's header). */
  describe?(state: DeviceValues | undefined): { manufacturer: string; model: string } | undefined;
  /**
   * The Home Assistant entities of a device of this driver. Drivers whose devices say what they
   * measure only when read (M-Bus meters) build them from the device's last state.
   */
  entities(device: DeviceConfig, state: DeviceValues | undefined): EntityDescriptor[];
  /**
   * Whether the last commanded state is applied again when a device becomes available or reports a
   * power failure (lamps forget their level; meters have nothing to restore).
   */
  restoresState?: boolean;
  /** Seconds without a fresh state after which HA shows the device's entities unavailable. */
  expireAfterS?(device: DeviceConfig): number | undefined;
  /**
   * Checks the fields of a `set`/`get` command before it is queued, so an out-of-range value is an
   * error answer, never a clamp or a retry. Fields a driver does not list are refused.
   */
  commands: Partial<Record<'set' | 'get', z.ZodType>>;
}

const lightSet = z.strictObject({
  state: z.enum(['ON', 'OFF']).optional(),
  brightness: z.number().int('must be a whole number').min(0).max(254).optional(),
  /** Seconds. */
  transition: z.number().min(0).max(90).optional(),
  /**
   * Home Assistant's JSON light sends it when asked to flash: the flash time in seconds (its
   * flash_time_short/long, 2 and 10 by default); other bridges say short/long. Accepted, not acted on.
   */
  flash: z.union([z.number().min(0).max(3600), z.enum(['short', 'long'])]).optional(),
});
const lightGet = z.strictObject({ state: z.literal('').optional(), brightness: z.literal('').optional() });

/** Why a command's fields are refused, or undefined when the driver accepts them. */
export function invalidCommand(
  driver: DriverName,
  operation: 'set' | 'get',
  args: unknown,
): string | undefined {
  const schema = DRIVERS[driver].commands[operation];
  if (!schema) return `driver ${driver} has no "${operation}" command`;
  const result = schema.safeParse(args);
  return result.success ? undefined : describeIssues(result.error, 'field');
}

function openSimulatedBus(busId: string, devices: readonly DeviceConfig[], clock: GatewayClock): BusRuntime {
  const runtime = new SimulatedBusRuntime(busId, clock, hashSeed(busId));
  for (const device of devices) {
    const simulation = device.simulation;
    runtime.addDevice(
      device.id,
      simulation && {
        connectDelayMs: simulation.connect_delay_ms,
        operationDelayMs: simulation.operation_delay_ms,
        failureRate: simulation.failure_rate,
        hangRate: simulation.hang_rate,
        disconnectEveryMs: simulation.disconnect_every_ms,
      },
      // Only the generic simulated device is a lamp; a meter or sensor simulated this way is not.
      device.driver === 'simulated',
    );
  }
  return runtime;
}

/** A stable seed per bus, so a simulated bus injects the same faults on every run. */
function hashSeed(text: string): number {
  let hash = 2_166_136_261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16_777_619);
  return hash >>> 0;
}

const SERIAL_LADDER = [{ name: 'reopen' }, { name: 'reenumerate' }, { name: 'restart_actor' }];
/** An M-Bus line on an Ethernet converter: a new connection, then a fresh actor; no port to find again. */
const TCP_LADDER = [{ name: 'reconnect' }, { name: 'restart_actor' }];

/** The recovery ladder of a device's bus: its driver's, or the TCP one for `port: tcp://…` lines. */
export function recoveryStepsFor(device: DeviceConfig): readonly RecoveryStepSpec[] {
  if (device.driver === 'mbus' && device.transport === 'serial' && isTcpPort(device.port)) return TCP_LADDER;
  return DRIVERS[device.driver].definition.recoverySteps;
}

export const DRIVERS: Record<DriverName, DriverEntry> = {
  mbus: {
    definition: { name: 'mbus', recoverySteps: SERIAL_LADDER },
    transports: { serial: openMbusBus, simulated: openSimulatedMbusBus },
    model: { manufacturer: 'M-Bus', model: 'Meter' },
    describe: mbusModel,
    entities: (_device, state) => mbusEntities(state),
    expireAfterS: (device) =>
      device.driver === 'mbus' ? Math.ceil(device.offline_after_ms / 1000) : undefined,
    // A read on demand: `<base>/<meter>/get` with `{}` reads the meter now instead of at its next poll.
    commands: { get: z.strictObject({}) },
  },
  dali: {
    definition: { name: 'dali', recoverySteps: SERIAL_LADDER },
    transports: { hid: openDaliBus, simulated: openSimulatedDaliBus },
    model: { manufacturer: 'DALI', model: 'Control gear' },
    describe: daliModel,
    entities: (device, state) =>
      device.driver === 'dali' && device.role === 'adapter' ? daliAdapterEntities() : daliEntities(state),
    // A lamp forgets its level when the power goes; the adapter's replug or a restart forgets it too.
    restoresState: true,
    commands: { set: lightSet, get: lightGet },
  },
  ble: {
    definition: {
      name: 'ble',
      // Each stuck scan climbs from stop_discovery: the supervisor resets the ladder once the adapter
      // watchdog has verified a step (advertisements again). A power cycle is what a wedged controller
      // needs, hence its own limit; restart_actor is reset only by a stable period, as a fresh
      // connection always looks healthy at first.
      recoverySteps: [
        { name: 'stop_discovery' },
        { name: 'power_cycle_adapter', maxPerHour: 10 },
        { name: 'restart_actor' },
      ],
    },
    transports: {
      bluez: openBleBus,
      // The BLE runtime on an in-process fake BlueZ; without dbus-daemon, the generic simulated device.
      simulated: (busId, devices, clock) =>
        openSimulatedBleBus(busId, devices, clock) ?? openSimulatedBus(busId, devices, clock),
    },
    model: { manufacturer: 'BLE', model: 'Sensor' },
    describe: bleModel,
    entities: (device, state) => bleEntities(device, state),
    expireAfterS: bleExpireAfterS,
    // Sensors only advertise; the adapter device reports by itself (its watchdog).
    commands: {},
  },
  simulated: {
    definition: { name: 'simulated', recoverySteps: [{ name: 'reopen' }, { name: 'restart_actor' }] },
    transports: { simulated: openSimulatedBus },
    model: { manufacturer: 'fieldbridge', model: 'Simulated device' },
    entities: () => simulatedEntities(),
    commands: { set: lightSet, get: lightGet },
  },
};

/** Why a device cannot run in this build, or undefined when its driver and transport are available. */
export function unavailableTransport(device: DeviceConfig): string | undefined {
  const entry = DRIVERS[device.driver];
  if (entry.transports[device.transport]) return undefined;
  const available = Object.keys(entry.transports).join(', ');
  return `transport "${device.transport}" of driver ${device.driver} is not available in this version of fieldbridge (available: ${available})`;
}
