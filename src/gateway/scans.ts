import type { BusRegistry } from '../actors/busRegistry.js';
import { MbusBusRuntime } from '../actors/mbus/runtime.js';
import type { FoundMeter } from '../actors/mbus/scan.js';
import type { FieldbridgeConfig, MbusScanMode } from '../config/index.js';
import { getLogger } from '../logging/index.js';
import type { DiscoveredDevice } from '../persistence/index.js';
import { meterDeviceEntry } from './discovered.js';

// Bus scans (`<base>/bridge/request/scan`, and `mbus[].scan_on_start`): the scan runs on the line's
// running bus when meters on it are already polled (so the scan and the polls take turns on the wire),
// or on a port opened just for the scan. Meters it finds are stored and become devices at once.

export interface ScanRequest {
  driver: 'mbus' | 'dali' | 'ble';
  port?: string | undefined;
  mode?: MbusScanMode | undefined;
  from: number;
  to: number;
}

export type ScanOutcome = { ok: true; data: Record<string, unknown> } | { ok: false; error: string };

interface ScanDependencies {
  registry: BusRegistry;
  /** The devices running now (configured and found). */
  config: () => FieldbridgeConfig;
  /** Stores found devices and applies the config they extend; returns the ids added. */
  addDevices: (devices: DiscoveredDevice[]) => string[];
}

interface Line {
  port: string;
  baud: number;
  mode: MbusScanMode;
  pollIntervalMs: number;
}

/** The M-Bus lines the gateway knows: the `mbus` section's and every port a meter is configured on. */
function mbusLines(config: FieldbridgeConfig): Line[] {
  const lines = new Map<string, Line>(
    config.mbus.map((line) => [
      line.port,
      { port: line.port, baud: line.baud, mode: line.scan_mode, pollIntervalMs: line.poll_interval_ms },
    ]),
  );
  for (const device of config.devices) {
    if (device.driver !== 'mbus' || device.transport !== 'serial' || !device.port) continue;
    if (lines.has(device.port)) continue;
    lines.set(device.port, {
      port: device.port,
      baud: device.baud,
      mode: 'secondary',
      pollIntervalMs: device.poll_interval_ms,
    });
  }
  return [...lines.values()];
}

export class BusScanner {
  readonly #logger = getLogger('scan');
  readonly #running = new Set<string>();

  constructor(private readonly deps: ScanDependencies) {}

  async scan(request: ScanRequest, signal: AbortSignal): Promise<ScanOutcome> {
    if (request.driver !== 'mbus') {
      return {
        ok: false,
        error: `bus scans of driver ${request.driver} are not available yet; nothing was scanned`,
      };
    }
    const config = this.deps.config();
    const lines = mbusLines(config);
    const line =
      request.port === undefined
        ? lines.length === 1
          ? lines[0]
          : undefined
        : lines.find((l) => l.port === request.port);
    if (!line) {
      const known = lines.map((l) => l.port).join(', ') || 'none';
      return {
        ok: false,
        error:
          request.port === undefined
            ? `say which M-Bus port to scan ("port"): known ports are ${known}`
            : `port ${request.port} is not an M-Bus line of this gateway (known: ${known}; add it under mbus: in the config)`,
      };
    }
    if (request.from > request.to)
      return { ok: false, error: `from (${request.from}) is greater than to (${request.to})` };
    if (this.#running.has(line.port))
      return { ok: false, error: `a scan of ${line.port} is already running` };
    const mode = request.mode ?? line.mode;
    this.#running.add(line.port);
    const started = Date.now();
    this.#logger.info(`scanning ${line.port} (${mode} addresses)`);
    try {
      const found = await this.#scanLine(config, line, mode, request, signal);
      const devices = this.#toDevices(config, found, line);
      const added = this.deps.addDevices(devices);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      this.#logger.info(
        `scan of ${line.port} found ${found.length} meters in ${seconds} s, ${added.length} new`,
      );
      return {
        ok: true,
        data: {
          port: line.port,
          mode,
          duration_s: Number(seconds),
          found: found.map((meter, index) => ({
            id: devices[index]?.id,
            secondary_address: meter.secondary,
            ...('primary' in meter.target ? { primary_address: meter.target.primary } : {}),
            manufacturer: meter.manufacturer,
            medium: meter.medium,
          })),
          added,
        },
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.#logger.warn(`scan of ${line.port} failed: ${message}`);
      return { ok: false, error: `scan of ${line.port} failed: ${message}` };
    } finally {
      this.#running.delete(line.port);
    }
  }

  async #scanLine(
    config: FieldbridgeConfig,
    line: { port: string; baud: number },
    mode: MbusScanMode,
    request: ScanRequest,
    signal: AbortSignal,
  ): Promise<FoundMeter[]> {
    const kind =
      mode === 'primary'
        ? { kind: 'primary' as const, range: { from: request.from, to: request.to } }
        : { kind: 'secondary' as const };
    const progress = {
      found: (meter: FoundMeter) =>
        this.#logger.info(
          `found ${meter.manufacturer} ${meter.medium} meter ${meter.secondary} on ${line.port}`,
        ),
      problem: (message: string) => this.#logger.warn(`${line.port}: ${message}`),
    };
    const busId = config.devices.find((d) => d.driver === 'mbus' && d.port === line.port)?.bus;
    const running = busId === undefined ? undefined : this.deps.registry.find(busId);
    if (running instanceof MbusBusRuntime) return running.scan(kind, signal, progress);
    const standalone = new MbusBusRuntime(`scan:${line.port}`, {
      path: line.port,
      baud: line.baud,
      meters: [],
    });
    try {
      return await standalone.scan(kind, signal, progress);
    } finally {
      await standalone.close();
    }
  }

  #toDevices(config: FieldbridgeConfig, found: readonly FoundMeter[], line: Line): DiscoveredDevice[] {
    const taken = new Set(config.devices.map((device) => device.id));
    return found.map((meter) => {
      const entry = meterDeviceEntry(meter, line, taken);
      const id = String(entry.id);
      taken.add(id);
      return { id, config: entry, foundAt: Date.now() };
    });
  }
}
