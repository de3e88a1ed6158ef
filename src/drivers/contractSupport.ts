import type { z } from 'zod';
import type { DeviceConfig, FieldbridgeConfig } from '../config/index.js';
import type { CliIo, SimulateRuntime } from '../commandLine/io.js';
import type { ScanRequest } from './contractScans.js';
import type { OpenContext } from './contractTransports.js';

// The command line, demo, request and simulation parts of the driver contract (contract.ts).

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
