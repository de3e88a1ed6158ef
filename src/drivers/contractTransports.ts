import type { DeviceConfig, FieldbridgeConfig } from '../config/index.js';
import type { GatewayClock } from '../machines/clock.js';
import type { DiscoveredDevice } from '../persistence/index.js';
import type { ActorInspector, BusRuntime, JsonValue } from './contract.js';

// The transport side of the driver contract (contract.ts): what a bus opener receives and may report
// back.

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
