import type { InspectionEvent } from 'xstate';
import type { DeviceConfig } from '../config/index.js';
import type { Capability } from './shared/capabilities.js';
import type { DeviceBase, DriverConfig } from './contractConfig.js';
import type { ScanCapability } from './contractScans.js';
import type {
  DriverDecoder,
  DriverDemo,
  DriverRequest,
  DriverSimulationFaults,
  DriverSimulator,
  ForgetKey,
} from './contractSupport.js';
import type { AutoAdd, AutoAddDependencies, BusOpener, TransportCallMetric } from './contractTransports.js';

// The contract between the generic machines (src/machines) and a driver's I/O. A driver is a factory of
// bus runtimes: one runtime per bus/adapter (a serial port, a HID adapter, a BlueZ adapter) holding the
// real transport, shared by the devices on it. Machines never touch a transport: their invoked actors
// call these methods, always with an AbortSignal that fires when the state that started the call is
// left, so a driver must stop waiting on abort (and may leave the transport for `disconnect` to clean).

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Something a driver noticed about one device without being asked, reported while it is connected. */
export type LinkEvent =
  /**
   * The link to this device is gone (port closed, adapter unplugged): the device goes `reconnecting`.
   * `logged`: it went with the bus's shared link, which the runtime logged (see BusLinkDown).
   */
  | { type: 'lost'; error: string; logged?: true }
  /** A passive observation (a BLE advertisement, a meter's spontaneous frame) that counts as a success. */
  | { type: 'data'; operation: string; result: JsonValue }
  /** A passive failure (a garbled frame) that counts towards `degraded`. */
  | { type: 'failure'; error: string };

/** Something a bus runtime noticed, about the whole bus or one device on it. */
export type BusEvent =
  | { type: 'device'; deviceId: string; event: LinkEvent }
  /**
   * Every device on the bus lost its link (the converter was unplugged). `logged`: the runtime said so
   * itself, one line for the bus (a gateway's link); the devices' transitions it causes are then not
   * logged once more each (see BusLinkDown).
   */
  | { type: 'lost'; error: string; logged?: true }
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

/**
 * What `connect` rejects with when the bus's shared link (a network gateway) is down and the runtime
 * has logged that itself, once for the bus: one outage of a gateway with fifty devices is one line and
 * its summaries, not fifty. The devices' transitions it causes are logged at debug (gateway/noticeLog.ts).
 */
export class BusLinkDown extends Error {
  override readonly name: string = 'BusLinkDown';
}

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
  /**
   * What this runtime lends beyond device operations, by name (the scan of its line). A driver declares
   * its entries in `BusCapabilities` (see there); a runtime that offers none leaves this out.
   */
  readonly capabilities?: Partial<BusCapabilities>;
}

/**
 * The services a running bus may lend, one entry per driver capability; each driver adds its own entry
 * from its folder (`declare module '../contract.js' { interface BusCapabilities { … } }`).
 *
 * Why a typed, optional member rather than `instanceof` or a runtime typed by the registry: the bus of a
 * line is not always run by the driver's own runtime class (a `simulated` transport may fall back to the
 * generic simulated runtime; a future network gateway of the same driver is another class), so whether
 * the running bus can scan must be asked at run time, of the runtime itself. An optional member answers
 * that without a cast: absent means "open the line just for the scan", and its type comes from the
 * driver that declared it, so the gateway never learns it and the driver never narrows by class.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by each driver's folder
export interface BusCapabilities {}

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

/** Observes the actors of a system (the Stately inspector, tests); pass to every `createActor` root. */
export type ActorInspector = (event: InspectionEvent) => void;

/** A device's last known state (what `<base>/<id>` says), from which some drivers derive entities. */
export type DeviceValues = Record<string, JsonValue>;

/** A manufacturer and model for Home Assistant's device registry. */
export interface DeviceModel {
  manufacturer: string;
  model: string;
}

export interface DriverModule<Device extends DeviceBase = DeviceBase, Line = unknown> {
  /** The `driver:` value of its devices. */
  readonly name: Device['driver'];
  /** Ordered rungs, climbed one at a time; the last rung is repeated while the device stays down. */
  readonly definition: DriverDefinition;
  /** A device's own ladder when it differs from the driver's (an M-Bus line on a TCP converter). */
  recoveryStepsFor?(device: DeviceConfig): readonly RecoveryStepSpec[] | undefined;
  /** Manufacturer and model shown in Home Assistant's device registry. */
  readonly model: DeviceModel;
  /**
   * A better registry entry from what the device reported about itself (a meter's header), or from its
   * config (a DALI Center device's type code).
   */
  describe?(state: DeviceValues | undefined, device?: DeviceConfig): DeviceModel | undefined;
  /**
   * Whether the last commanded state is applied again when a device becomes available or reports a
   * power failure (lamps forget their level; meters have nothing to restore).
   */
  readonly restoresState?: boolean;
  /** Seconds without a fresh state after which HA shows the device's entities unavailable. */
  expireAfterS?(device: DeviceConfig): number | undefined;
  // --- home assistant
  /**
   * What a device offers Home Assistant (src/drivers/shared/capabilities.ts), the one declaration from
   * which both its entities and its `set`/`get` schemas derive (registry: entitiesOf, invalidCommand).
   * Drivers whose devices say what they measure only when read (M-Bus meters) build the values from
   * the device's last state; what can be commanded must not depend on it (a command is checked
   * against the capabilities of a device not heard from yet: `state` undefined).
   */
  capabilities(device: DeviceConfig, state: DeviceValues | undefined): readonly Capability[];
  // --- config
  /** The driver's part of the configuration file: its devices, its `<name>:` lines, their buses. */
  readonly config: DriverConfig<Device, Line>;
  // --- scans
  /**
   * How this driver's lines are scanned for devices (`bridge/request/scan`, `POST /trigger-scan`,
   * `scan_on_start`, a rescan on a notice); absent when its devices cannot be found by a scan.
   */
  readonly scan?: ScanCapability;

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
  // --- transports
  /**
   * The transports a bus of this driver can be opened with, by `transport:` value. Each opener imports
   * its transport's code on first use (`import()`), so a gateway loads only the drivers and transports
   * its config uses: no dbus-next without BLE, no node-hid without DALI, no simulator in production.
   */
  readonly transports: Partial<Record<string, BusOpener>>;
  /** Where `/metrics` puts the calls its runtimes report (OpenContext.recordCall), when not the generic series. */
  readonly transportCallMetric?: TransportCallMetric;
  // --- devices heard
  /**
   * Takes devices its buses heard that nobody configured (OpenContext.heard), by the driver's own rules
   * (BLE's auto_add): the gateway creates one per run and hands it every heard device.
   */
  readonly autoAdd?: (dependencies: AutoAddDependencies) => AutoAdd;
}

// The other sides of the contract, each in a file of its own; everything is imported from here.
export * from './contractConfig.js';
export * from './contractScans.js';
export * from './contractSupport.js';
export * from './contractTransports.js';
