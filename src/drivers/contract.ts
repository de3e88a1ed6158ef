import type { z } from 'zod';
import type { EntityDescriptor } from '../bridge/entities.js';
import type { DeviceConfig, FieldbridgeConfig } from '../config/index.js';
import type { GatewayClock } from '../machines/clock.js';
import type { CliIo, SimulateRuntime } from '../commandLine/io.js';

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
export type BusOpener = (busId: string, devices: readonly DeviceConfig[], clock: GatewayClock) => BusRuntime;

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

  // --- cli, demo, requests
  /** `fieldbridge decode <protocol>`: the frames of this driver, decoded without a bus. */
  readonly decode?: DriverDecoder;
  /** `fieldbridge simulate <bus>`: the other end of this driver's bus, in its own process. */
  readonly simulate?: DriverSimulator;
  /** The driver's part of the demo (`fieldbridge start` without a config file). */
  readonly demo?: DriverDemo;
  /** `bridge/request/simulation/fault` with `driver: <name>`: faults for this driver's simulated buses. */
  readonly simulationFaults?: DriverSimulationFaults;
  /** Bridge requests (`<base>/bridge/request/<name>`) that only this driver answers, by name. */
  readonly requests?: Readonly<Record<string, DriverRequest>>;
  /**
   * What a found device removed on request leaves behind, so it is not found again (a BLE sensor's
   * MAC, kept from auto_add); the field joins the answer. `found` is its stored config.
   */
  forgetKey?(found: Readonly<Record<string, unknown>>): ForgetKey | undefined;
}

// --- cli, demo, requests: supporting types

/** A command-line option of `fieldbridge decode` that some protocols take (`--key`). */
export interface DecodeOption {
  /** The long name (`key` is `--key`), also the key of DecodeOptions. */
  readonly name: string;
  readonly short: string;
  /** Its line in the Options list, after the option (`--key KEY`). */
  readonly help: string;
  /** The value's placeholder (KEY). */
  readonly value: string;
  /** The protocols that take it; any other refuses it. */
  readonly protocols: readonly string[];
}

export interface DriverDecoder {
  /** `fieldbridge decode <protocol>` names, in the order the usage lists them. */
  readonly protocols: readonly string[];
  /** What the command's one-line summary calls them (`M-Bus`, `BTHome`). */
  readonly titles: readonly string[];
  /** Its part of the usage text: a synopsis line and what it prints. */
  readonly usage: string;
  readonly options?: readonly DecodeOption[];
  /** The frame in `hex` (pairs, spaces optional) as JSON, or why it cannot be decoded. */
  decode(
    protocol: string,
    hex: string,
    options: Readonly<Record<string, string | undefined>>,
  ): { json: unknown } | { error: string };
}

export interface DriverSimulator {
  /** `fieldbridge simulate <bus>` (`bluez` for BLE: it plays BlueZ, not a sensor). */
  readonly bus: string;
  /** What it simulates, for the one-line summary (`M-Bus meters on a pty pair (socat)`). */
  readonly summary: string;
  /** Where it runs, after the bus name in "only "mbus" is supported on a pty". */
  readonly medium: string;
  /** The shortest command line that runs it (`fieldbridge simulate mbus --link PATH`). */
  readonly example: string;
  /** The usage text; kept apart from the simulator, which is loaded only by `run`. */
  readonly usage: string;
  /** Runs until SIGINT/SIGTERM and resolves with the exit code; throws UsageError for a wrong line. */
  run(args: string[], io: CliIo, runtime: SimulateRuntime): Promise<number>;
}

export interface DriverDemo {
  /**
   * Whether this machine offers what a fuller demo of the driver needs (BLE: dbus-daemon on PATH for
   * a simulated BlueZ). Asked once by the CLI; the answer is part of the demo's environment.
   */
  available?(env: Readonly<Record<string, string | undefined>>): boolean;
  /** Its YAML: entries of the `devices:` list, then top-level sections (`<driver>:` lines). */
  config(available: boolean): { devices: readonly string[]; sections?: readonly string[] };
  /** Lines of the demo's banner beyond its devices (the sensors a line will add). */
  banner?(config: FieldbridgeConfig): readonly string[];
}

export type RequestOutcome = { data: unknown } | { error: string };

/** What a driver's request or fault may act on: the running devices and the root supervisor. */
export interface DriverRequestContext {
  readonly devices: ReadonlyMap<string, DeviceConfig>;
  /** Runs a recovery step of a device now (the supervisor applies its rate limits and notices). */
  recover(deviceId: string, step: string, reason: string): void;
}

export interface DriverRequest {
  /** The request's fields (a strict object; `transaction` is added by the bridge). */
  readonly schema: z.ZodObject;
  run(fields: Record<string, unknown>, context: DriverRequestContext): RequestOutcome;
}

export interface DriverSimulationFaults {
  /** The fields besides `driver` and `transaction` (a strict object's shape). */
  readonly fields: z.ZodRawShape;
  inject(fields: Record<string, unknown>, context: DriverRequestContext): RequestOutcome;
}

export interface ForgetKey {
  /** The answer's field (`mac`). */
  field: string;
  value: string;
}
