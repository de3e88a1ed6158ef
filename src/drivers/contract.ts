import type { z } from 'zod';
import type { InspectionEvent } from 'xstate';
import type { EntityDescriptor } from '../bridge/entities.js';
import type { DeviceConfig } from '../config/index.js';
import type { GatewayClock } from '../machines/clock.js';

// The contract between the generic machines (src/machines) and a driver's I/O. A driver is a factory of
// bus runtimes: one runtime per bus/adapter (a serial port, a HID adapter, a BlueZ adapter) holding the
// real transport, shared by the devices on it. Machines never touch a transport: their invoked actors
// call these methods, always with an AbortSignal that fires when the state that started the call is
// left, so a driver must stop waiting on abort (and may leave the transport for `disconnect` to clean).

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Something a driver noticed about one device without being asked, reported while it is connected. */
export type LinkEvent =
  /** The link to this device is gone (port closed, adapter unplugged): the device goes `reconnecting`. */
  | { type: 'lost'; error: string }
  /** A passive observation (a BLE advertisement, a meter's spontaneous frame) that counts as a success. */
  | { type: 'data'; operation: string; result: JsonValue }
  /** A passive failure (a garbled frame) that counts towards `degraded`. */
  | { type: 'failure'; error: string };

/** Something a bus runtime noticed, about the whole bus or one device on it. */
export type BusEvent =
  | { type: 'device'; deviceId: string; event: LinkEvent }
  /** Every device on the bus lost its link (the converter was unplugged). */
  | { type: 'lost'; error: string }
  /** The bus hardware is present again (hotplug): waiting devices should try at once. */
  | { type: 'present' }
  /**
   * A driver's own watchdog found the bus stuck (a BLE adapter that stopped advertising): the supervisor
   * runs the next step of the device's recovery ladder, with its rate limits, logging and notices.
   */
  | { type: 'recover'; deviceId: string; reason: string };

/** One rung of a driver's recovery ladder. `restart_actor` is run by the supervisor itself. */
export interface RecoveryStepSpec {
  name: string;
  /** Rate limit: at most this many runs per rolling hour, per device; absent means unlimited. */
  maxPerHour?: number;
}

export const RESTART_ACTOR_STEP = 'restart_actor';

export interface BusRuntime {
  readonly busId: string;
  /** Opens (or joins the already open) link to one device. Resolves when the device can be used. */
  connect(deviceId: string, signal: AbortSignal): Promise<void>;
  /** Releases the device's part of the link (it left `connected`, or stopped). Idempotent, never rejects. */
  disconnect(deviceId: string): Promise<void>;
  /** Runs one operation (a command or a poll) and resolves with its result; rejects with an Error. */
  execute(deviceId: string, operation: string, args: JsonValue, signal: AbortSignal): Promise<JsonValue>;
  /**
   * Watches the bus for the supervisor's lifetime: bus-wide events, and the events of each connected
   * device (one watcher per bus, not one per device, keeps an idle device actor small). Returns the
   * function that stops watching.
   */
  watchBus(onEvent: (event: BusEvent) => void): () => void;
  /** Runs one driver-specific recovery step (anything but `restart_actor`). */
  runRecoveryStep(step: string, deviceId: string, signal: AbortSignal): Promise<void>;
  /** Releases every resource of the bus (process shutdown or a supervisor restart). Never rejects. */
  close(): Promise<void>;
}

/** What a driver declares once, for all its buses. */
export interface DriverDefinition {
  readonly name: string;
  /** Ordered rungs, climbed one at a time; the last rung is repeated while the device stays down. */
  readonly recoverySteps: readonly RecoveryStepSpec[];
}

/** Resolves the runtime of a bus at the moment an actor needs it (runtimes are replaced on restart). */
export type BusRuntimeLookup = (busId: string) => BusRuntime;

// ---------------------------------------------------------------------------------------------------
// The driver module: everything fieldbridge knows about one driver, exported from the driver's own
// folder (src/drivers/<name>/index.ts) and listed once in src/drivers/registry.ts. The gateway, config,
// bridge, HTTP and CLI only iterate the registry; none of them names a driver.
// ---------------------------------------------------------------------------------------------------

/** Opens the runtime of one bus for the devices on it. */
/** Observes the actors of a system (the Stately inspector, tests); pass to every `createActor` root. */
export type ActorInspector = (event: InspectionEvent) => void;

/**
 * Opens the runtime of one bus. A runtime that runs actor systems of its own (a watchdog) creates them
 * with `inspect`, so `--inspect` sees them too.
 */
export type BusOpener = (
  busId: string,
  devices: readonly DeviceConfig[],
  clock: GatewayClock,
  inspect?: ActorInspector,
) => BusRuntime;

/** A device's last known state (what `<base>/<id>` says), from which some drivers derive entities. */
export type DeviceValues = Record<string, JsonValue>;

/** A manufacturer and model for Home Assistant's device registry. */
export interface DeviceModel {
  manufacturer: string;
  model: string;
}

export interface DriverModule {
  /** The `driver:` value of its devices. */
  readonly name: string;
  /** Ordered rungs, climbed one at a time; the last rung is repeated while the device stays down. */
  readonly definition: DriverDefinition;
  /** A device's own ladder when it differs from the driver's (an M-Bus line on a TCP converter). */
  recoveryStepsFor?(device: DeviceConfig): readonly RecoveryStepSpec[] | undefined;
  /** The transports a bus of this driver can be opened with, by `transport:` value. */
  readonly transports: Partial<Record<string, BusOpener>>;
  /** Manufacturer and model shown in Home Assistant's device registry. */
  readonly model: DeviceModel;
  /** A better registry entry from what the device reported about itself (a meter's header). */
  describe?(state: DeviceValues | undefined): DeviceModel | undefined;
  /**
   * The Home Assistant entities of a device of this driver. Drivers whose devices say what they
   * measure only when read (M-Bus meters) build them from the device's last state.
   */
  entities(device: DeviceConfig, state: DeviceValues | undefined): EntityDescriptor[];
  /**
   * Whether the last commanded state is applied again when a device becomes available or reports a
   * power failure (lamps forget their level; meters have nothing to restore).
   */
  readonly restoresState?: boolean;
  /** Seconds without a fresh state after which HA shows the device's entities unavailable. */
  expireAfterS?(device: DeviceConfig): number | undefined;
  /**
   * Checks the fields of a `set`/`get` command before it is queued, so an out-of-range value is an
   * error answer, never a clamp or a retry. Fields a driver does not list are refused.
   */
  readonly commands: Partial<Record<'set' | 'get', z.ZodType>>;
}
