import type { BusRegistry } from '../hosting/busRegistry.js';
import type { FieldbridgeConfig, MbusScanMode } from '../config/index.js';
import { getLogger } from '../logging/index.js';
import type { DiscoveredDevice } from '../persistence/index.js';
import { bleLineScan } from '../drivers/ble/lineScan.js';
import { daliLineScan } from '../drivers/dali/lineScan.js';
import { mbusLineScan } from '../drivers/mbus/lineScan.js';
import { errorText } from '../errorText.js';

// Bus scans (`<base>/bridge/request/scan`, and `scan_on_start` of the `mbus`/`dali` lines): a scan runs
// on the line's running bus when lights or meters on it are already in use (so the scan and their
// traffic take turns), or on a port opened just for the scan. What it finds is stored and becomes
// devices at once. Each driver says how its lines are named and scanned (drivers/mbus/lineScan.ts, drivers/dali/lineScan.ts);
// this file is what they share: one scan per line at a time, timing, logging and the answer.

export interface ScanRequest {
  driver: 'mbus' | 'dali' | 'ble';
  port?: string | undefined;
  adapter_serial?: string | undefined;
  mode?: MbusScanMode | undefined;
  from: number;
  to: number;
  /** BLE: which adapter (needed when more than one line is configured). */
  adapter?: string | undefined;
  /** BLE: how long to listen. */
  duration_s?: number | undefined;
  /** BLE: add sensors heard at least this strong (dBm), in place of the line's auto_add_min_rssi. */
  min_rssi?: number | undefined;
}

export type ScanOutcome = { ok: true; data: Record<string, unknown> } | { ok: false; error: string };

export interface ScanContext {
  config: FieldbridgeConfig;
  registry: BusRegistry;
  log: (message: string) => void;
  warn: (message: string) => void;
}

/** One driver's scan of one line, ready to run. */
export interface LineScan {
  /** The line, as people name it (a port, an adapter). */
  line: string;
  describe: string;
  /** Runs the scan: what was found (for the answer) and the devices it makes (ids not yet checked). */
  run(
    signal: AbortSignal,
    takenIds: Set<string>,
  ): Promise<{ found: Record<string, unknown>[]; devices: DiscoveredDevice[] }>;
}

interface ScanDependencies {
  registry: BusRegistry;
  /** The devices running now (configured and found). */
  config: () => FieldbridgeConfig;
  /** Stores found devices and applies the config they extend; returns the ids added. */
  addDevices: (devices: DiscoveredDevice[]) => string[];
}

export class BusScanner {
  readonly #logger = getLogger('scan');
  readonly #running = new Set<string>();

  constructor(private readonly deps: ScanDependencies) {}

  async scan(request: ScanRequest, signal: AbortSignal): Promise<ScanOutcome> {
    const context: ScanContext = {
      config: this.deps.config(),
      registry: this.deps.registry,
      log: (message) => this.#logger.info(message),
      warn: (message) => this.#logger.warn(message),
    };
    const prepared =
      request.driver === 'mbus'
        ? mbusLineScan(context, request)
        : request.driver === 'dali'
          ? daliLineScan(context, request)
          : bleLineScan(context, request);
    if ('error' in prepared) return { ok: false, error: prepared.error };
    const { line } = prepared;
    if (this.#running.has(line)) return { ok: false, error: `a scan of ${line} is already running` };
    this.#running.add(line);
    const started = Date.now();
    this.#logger.info(`scanning ${line} (${prepared.describe})`);
    try {
      const taken = new Set(context.config.devices.map((device) => device.id));
      const { found, devices } = await prepared.run(signal, taken);
      const added = this.deps.addDevices(devices);
      const seconds = Number(((Date.now() - started) / 1000).toFixed(1));
      this.#logger.info(`scan of ${line} found ${found.length} in ${seconds} s, ${added.length} new`);
      return { ok: true, data: { driver: request.driver, line, duration_s: seconds, found, added } };
    } catch (error) {
      const message = errorText(error);
      this.#logger.warn(`scan of ${line} failed: ${message}`);
      return { ok: false, error: `scan of ${line} failed: ${message}` };
    } finally {
      this.#running.delete(line);
    }
  }
}

/** A device id not yet taken: `base`, else `base_2`, `base_3`, … */
export function freeId(base: string, taken: Set<string>): string {
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}_${n}`;
  taken.add(id);
  return id;
}

/** Scans the `mbus` and `dali` lines that ask for it at start (`scan_on_start`), in the background. */
export function scanLinesAtStart(config: FieldbridgeConfig, scanner: BusScanner, signal: AbortSignal): void {
  const wanted = (setting: 'auto' | 'always' | 'never', known: boolean) =>
    setting === 'always' || (setting === 'auto' && !known);
  for (const line of config.mbus) {
    const known = config.devices.some((device) => device.driver === 'mbus' && device.port === line.port);
    if (wanted(line.scan_on_start, known)) {
      void scanner.scan({ driver: 'mbus', port: line.port, mode: line.scan_mode, from: 0, to: 250 }, signal);
    }
  }
  for (const line of config.dali) {
    const known = config.devices.some(
      (device) =>
        device.driver === 'dali' &&
        device.role !== 'adapter' &&
        device.transport === line.transport &&
        device.adapter_serial === line.adapter_serial,
    );
    if (wanted(line.scan_on_start, known)) {
      void scanner.scan({ driver: 'dali', adapter_serial: line.adapter_serial, from: 0, to: 250 }, signal);
    }
  }
}
