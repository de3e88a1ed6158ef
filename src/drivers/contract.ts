import type { z } from 'zod';
import type { InspectionEvent } from 'xstate';
import type { DeviceConfig, FieldbridgeConfig } from '../config/index.js';
import type { GatewayClock } from '../machines/clock.js';
import type { Capability } from './shared/capabilities.js';
import type { GatewayNotice } from '../machines/notices.js';
import type { DiscoveredDevice } from '../persistence/index.js';
import type { CliIo, SimulateRuntime } from '../commandLine/io.js';

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

// --- config: the types of DriverModule.config

/** What every device entry has, whatever its driver (see src/config/deviceFields.ts). */
export interface DeviceBase {
  id: string;
  driver: string;
  transport: string;
  bus?: string | undefined;
  simulation?: unknown;
}

/**
 * Reads one field of a device or line entry: undefined when absent, or (on the half-validated tree the
 * cross-section rules read) when invalid. One reader serves parsed entries and that tree alike, so a
 * driver writes its bus-id rule once.
 */
export type FieldReader = (key: string) => unknown;

/** The reader of an entry's own fields. */
export function fieldsOf(entry: object): FieldReader {
  return (key) => Reflect.get(entry, key);
}

/** A device schema: a zod object whose `driver` is the driver's name as a literal. */
export type DeviceSchema<Device> = z.ZodType<Device> & z.core.$ZodTypeDiscriminable;

/** The driver's `<name>:` section: the lines (ports, adapters) looked after even before a device on them is known. */
export interface LineSection<Line> {
  /** The section's schema (a list of lines, `[]` by default). */
  readonly schema: z.ZodType<Line[]>;
  /** The bus of a line's devices; undefined when the line's fields do not tell (e.g. no valid port). */
  busOf(line: FieldReader): string | undefined;
}

/** The configuration tree while it is validated; values that failed their own validation read as undefined. */
export interface ConfigTree {
  value(path: PropertyKey[]): unknown;
  number(path: PropertyKey[]): number | undefined;
  /** The value whether or not it is valid; only for looking at its shape. */
  raw(path: PropertyKey[]): unknown;
  /** The items of a list or the entries of a mapping at `path` (none for anything else). */
  entries(path: PropertyKey[]): [string | number, unknown][];
  report(path: PropertyKey[], message: string): void;
}

export interface DriverConfig<Device extends DeviceBase, Line> {
  /** The schema of one `devices[]` entry of this driver. */
  readonly device: DeviceSchema<Device>;
  /** The `transport:` of a device that names none. */
  readonly defaultTransport: string;
  /**
   * The bus a device runs on when it names none: one sub-supervisor per physical bus (a port, an
   * adapter). The one rule for this driver's bus ids; `lines.busOf` and scans use it too.
   */
  busOf(device: FieldReader): string;
  /** Its `<name>:` section (the section's key is the driver's name), if it has one. */
  readonly lines?: LineSection<Line>;
  /**
   * The devices its lines imply (an adapter device per line), as entries a user would write under
   * `devices:`; they run before the configured devices on their bus. `takeId` turns a wanted id into one
   * no other device has (`ble_hci0`, else `ble_hci0_2`, …).
   */
  impliedDevices?(config: FieldbridgeConfig, takeId: (wanted: string) => string): Record<string, unknown>[];
  /** Device keys whose values are secret (masked in check-config's output and error messages). */
  readonly secretKeys?: readonly string[];
  /** Whether a device a scan found is this configured device (same meter, same MAC): the configured one wins. */
  sameDevice?(found: Device, configured: Device): boolean;
  /** A device a scan found, brought in line with the config as it is now (a meter at its line's baud). */
  updateFound?<D extends Device>(config: FieldbridgeConfig, found: D): D;
  /** Rules across sections for this driver's devices and lines (one baud rate per serial port). */
  rules?(tree: ConfigTree): void;
}

// --- scans: a driver's scan capability (the shared part is src/gateway/scans.ts)

/** A checked scan request: `driver` names the driver, the other fields are that driver's (its schema). */
export interface ScanRequest {
  readonly driver: string;
}

/**
 * A driver's scan request fields: a strict object whose `driver` is `z.literal(<name>)`, so the `scan`
 * request is a union discriminated on `driver` and one driver's field is refused in another's scan.
 */
export type ScanRequestSchema = z.ZodObject<{ driver: z.ZodLiteral<string> }, z.core.$strict>;

/** What a scan is given to find its line and the bus running it. */
export interface ScanContext {
  /** The devices running now (configured and found) and the line sections. */
  config: FieldbridgeConfig;
  /** The running buses; a scan uses the bus of its line when it runs, so both take turns. */
  registry: { find(busId: string): BusRuntime | undefined };
  /** What the gateway hands its bus openers; a line opened just for the scan is opened with it. */
  openContext: OpenContext;
  log: (message: string) => void;
  warn: (message: string) => void;
}

/** One driver's scan of one line, ready to run. */
export interface LineScan {
  /** The line, as people name it (a port, an adapter); one scan per line runs at a time. */
  line: string;
  describe: string;
  /** Runs the scan: what was found (for the answer) and the devices it makes (ids not yet checked). */
  run(
    signal: AbortSignal,
    takenIds: Set<string>,
  ): Promise<{ found: Record<string, unknown>[]; devices: DiscoveredDevice[] }>;
}

/** A driver's scan, typed by its own request (`scanCapability()` makes it a `ScanCapability`). */
export interface DriverScan<Request extends ScanRequest> {
  /** The lines to scan when the gateway starts (their `scan_on_start`), as requests. */
  linesToScanAtStart?(config: FieldbridgeConfig): Request[];
  /** Finds the line the request names and prepares its scan, or says why it cannot. */
  prepare(context: ScanContext, request: Request): LineScan | { error: string };
  /**
   * A listener, one per gateway, that asks for a scan when a notice says the line may have changed
   * (a DALI adapter back after a replug). The gateway feeds it every notice without knowing why.
   */
  rescanOn?(
    config: () => FieldbridgeConfig,
    rescan: (request: Request) => void,
  ): (notice: GatewayNotice) => void;
}

export interface ScanCapability extends DriverScan<ScanRequest> {
  /** The request's fields for this driver. */
  readonly request: ScanRequestSchema;
}

/**
 * A driver's scan as the gateway sees it: a request from outside is checked against the driver's own
 * schema before its `prepare` sees it, so `prepare` is typed by that schema without a cast.
 */
export function scanCapability<Request extends ScanRequest>(
  request: ScanRequestSchema & z.ZodType<Request>,
  scan: DriverScan<Request>,
): ScanCapability {
  return {
    request,
    ...(scan.linesToScanAtStart && { linesToScanAtStart: scan.linesToScanAtStart }),
    ...(scan.rescanOn && { rescanOn: scan.rescanOn }),
    prepare: (context, asked) => {
      const checked = request.safeParse(asked);
      return checked.success
        ? scan.prepare(context, checked.data)
        : {
            error: checked.error.issues.map((issue) => [...issue.path, issue.message].join(': ')).join('; '),
          };
    },
  };
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
  /**
   * What the gateway hands its bus openers: what a driver keeps per gateway (a simulated bus's fake
   * hardware, which a simulation fault acts on) is reached through it, never through a module's global.
   */
  readonly openContext: OpenContext;
  /**
   * Runs a scan through the gateway's scanner (which stores what it found and applies it), answering
   * when it is over: a request that finds devices (DALI Center pairing) goes through it.
   */
  scan?(request: ScanRequest): Promise<{ ok: true; data: unknown } | { ok: false; error: string }>;
}

export interface DriverRequest {
  /** The request's fields (a strict object; `transaction` is added by the bridge). */
  readonly schema: z.ZodObject;
  /** Answers at once, or when its work is over (a request that scans). */
  run(
    fields: Record<string, unknown>,
    context: DriverRequestContext,
  ): RequestOutcome | Promise<RequestOutcome>;
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

// --- transports: what an opener receives and may report back --------------------------------------

/** Opens the runtime of one bus for the devices on it (importing the transport's code the first time). */
export interface BusOpener {
  (busId: string, devices: readonly DeviceConfig[], context: OpenContext): Promise<BusRuntime>;
  /**
   * Imports the transport's code now: the gateway does it before it starts its buses, so that a bus is
   * open as soon as the gateway says it started (a scan right after the start finds it running).
   */
  load?(): Promise<void>;
}

/** A device a bus heard that no configured device claims yet (a BLE sensor in range): auto_add's input. */
export interface HeardDevice {
  readonly busId: string;
}

/** One finished call to the service behind a transport (a BlueZ D-Bus method), for `/metrics`. */
export interface TransportCall {
  /** The driver whose runtime made it: the call goes to that driver's series (its transportCallMetric). */
  driver: string;
  operation: string;
  seconds: number;
  outcome: TransportCallOutcome;
}

export type TransportCallOutcome = 'ok' | 'error' | 'timeout';

/**
 * The Prometheus histogram (labels `operation`, `outcome`) a driver's transport calls are observed in,
 * for a driver whose series has a name its users know (BLE's `fieldbridge_dbus_call_duration_seconds`,
 * kept so that dashboards and alerts go on working); without it, the generic
 * `fieldbridge_transport_call_duration_seconds{driver,operation,outcome}`.
 */
export interface TransportCallMetric {
  readonly name: string;
  readonly help: string;
  /** Bucket upper bounds, in seconds. */
  readonly buckets: readonly number[];
}

/**
 * What the gateway hands every opener: its clock and the sinks a runtime reports to (instead of
 * process-wide hubs, so two gateways in one process, or a test, each hear only their own buses).
 */
export interface OpenContext {
  readonly clock: GatewayClock;
  /**
   * Passed to every actor system a runtime creates of its own (a watchdog), so `--inspect` sees it too.
   */
  readonly inspect?: ActorInspector | undefined;
  /** The first time each unclaimed device is heard. */
  heard(device: HeardDevice): void;
  /** Every call a runtime made to the service behind its transport. */
  recordCall(call: TransportCall): void;
  /**
   * Runs `stop` when the gateway stops (after every bus is closed): for what an opener keeps across
   * restarts of its bus, such as a simulated BlueZ whose sensors must stay the same.
   */
  onClose(stop: () => Promise<void>): void;
  /**
   * Changes fields of a device stored by a scan or a pairing (a network gateway's new address, found by
   * rediscovery), for the next start; the running bus already uses them, so nothing restarts. False when
   * the device is not a stored one (configured by hand: its config file is the user's).
   */
  updateFound?(deviceId: string, fields: Record<string, JsonValue>): boolean;
}

/** Loads a transport's opener on first use: `lazyOpener(() => import('./openBus.js'), (m) => m.open)`. */
export function lazyOpener<M>(
  load: () => Promise<M>,
  pick: (loaded: M) => (...args: Parameters<BusOpener>) => BusRuntime | Promise<BusRuntime>,
): BusOpener {
  const opener: BusOpener = async (busId, devices, context) => pick(await load())(busId, devices, context);
  opener.load = async () => void (await load());
  return opener;
}

// --- devices heard: what DriverModule.autoAdd gets and gives

export interface AutoAddDependencies {
  /** The devices running now (configured and found). */
  config: () => FieldbridgeConfig;
  /** Stores found devices and applies the config they extend; returns the ids added. */
  addDevices: (devices: DiscoveredDevice[]) => string[];
  /** What devices removed on request left behind (DriverModule.forgetKey), which auto-adding leaves alone. */
  forgotten?: () => ReadonlySet<string>;
  /** A device heard and not added (once per device and run), as a `bridge/event` of this type. */
  offer?: (type: string, data: Record<string, unknown>) => void;
  log: (message: string) => void;
}

export interface AutoAdd {
  /** A device heard on any bus; one that is not this driver's is ignored. */
  handle(device: HeardDevice): void;
  stop(): void;
}
