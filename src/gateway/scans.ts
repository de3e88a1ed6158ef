import type { BusRegistry } from '../hosting/busRegistry.js';
import type { FieldbridgeConfig } from '../config/index.js';
import type { ScanContext, ScanRequest } from '../drivers/contract.js';
import { DRIVER_MODULES, scanCapabilityOf, scannableDrivers } from '../drivers/registry.js';
import { getLogger } from '../logging/index.js';
import type { GatewayNotice } from '../machines/notices.js';
import type { DiscoveredDevice } from '../persistence/index.js';
import { errorText } from '../errorText.js';

// Bus scans (`<base>/bridge/request/scan`, `POST /trigger-scan`, a line's `scan_on_start`, a rescan on a
// notice): a scan runs on the line's running bus when devices on it are already in use (so the scan and
// their traffic take turns), or on a line opened just for the scan. What it finds is stored and becomes
// devices at once. Each driver says how its lines are named and scanned (its `scan` capability, see
// DriverModule in drivers/contract.ts); this file is what they share: one scan per line at a time,
// timing, logging and the answer.

export type { LineScan, ScanContext, ScanRequest } from '../drivers/contract.js';
// Kept here for the modules that take ids from it; the one definition is a shared driver helper.

export type ScanOutcome = { ok: true; data: Record<string, unknown> } | { ok: false; error: string };

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
    const capability = scanCapabilityOf(request.driver);
    if (!capability) {
      return {
        ok: false,
        error: `driver ${request.driver} cannot scan (drivers that can: ${scannableDrivers().join(', ')})`,
      };
    }
    const context: ScanContext = {
      config: this.deps.config(),
      registry: this.deps.registry,
      openContext: this.deps.registry.context,
      log: (message) => this.#logger.info(message),
      warn: (message) => this.#logger.warn(message),
    };
    const prepared = capability.prepare(context, request);
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

/** Scans the lines that ask for it at start (their `scan_on_start`), in the background. */
export function scanLinesAtStart(
  config: FieldbridgeConfig,
  scanner: Pick<BusScanner, 'scan'>,
  signal: AbortSignal,
): void {
  for (const driver of DRIVER_MODULES) {
    for (const request of driver.scan?.linesToScanAtStart?.(config) ?? []) void scanner.scan(request, signal);
  }
}

/**
 * The listener that hands every notice to the drivers that rescan a line on one (a DALI adapter back
 * after a replug); each driver's own listener keeps what it needs to tell, per gateway.
 */
export function rescanOnNotices(
  config: () => FieldbridgeConfig,
  scanner: Pick<BusScanner, 'scan'>,
  signal: AbortSignal,
): (notice: GatewayNotice) => void {
  const listeners = DRIVER_MODULES.flatMap(
    (driver) => driver.scan?.rescanOn?.(config, (request) => void scanner.scan(request, signal)) ?? [],
  );
  return (notice) => {
    for (const listener of listeners) listener(notice);
  };
}
