import { z } from 'zod';
import type { MbusBusRuntime } from './runtime.js';
import type { FoundMeter } from './scan.js';
import { MBUS_SCAN_MODES, type MbusScanMode } from './lineConfig.js';
import type { FieldbridgeConfig } from '../../config/index.js';
import { meterDeviceEntry } from './meterEntry.js';
import { type LineScan, type ScanContext, scanCapability } from '../contract.js';

// M-Bus lines: the `mbus` section's ports and every port a meter is configured on; scanned by primary
// address range or by secondary-address search.

declare module '../contract.js' {
  interface BusCapabilities {
    /** A running M-Bus bus lends its line to a scan, one probe at a time between the meters' polls. */
    mbusLineScan: Pick<MbusBusRuntime, 'scan'>;
  }
}

const mbusScanRequest = z.strictObject({
  driver: z.literal('mbus'),
  /** Which line (needed when more than one is configured). */
  port: z.string().min(1).optional(),
  mode: z.enum(MBUS_SCAN_MODES).optional(),
  /** Primary scans: the address range. */
  from: z.number().int().min(0).max(250).default(0),
  to: z.number().int().min(0).max(250).default(250),
});

type MbusScanRequest = z.output<typeof mbusScanRequest>;

interface Line {
  port: string;
  baud: number;
  mode: MbusScanMode;
  pollIntervalMs: number;
}

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

function sameAddress(address: number | string | undefined, meter: FoundMeter): boolean {
  if ('primary' in meter.target) return address === meter.target.primary;
  return typeof address === 'string' && address.toUpperCase() === meter.target.secondary.toUpperCase();
}

export function mbusLineScan(context: ScanContext, request: MbusScanRequest): LineScan | { error: string } {
  const lines = mbusLines(context.config);
  const line =
    request.port === undefined
      ? lines.length === 1
        ? lines[0]
        : undefined
      : lines.find((candidate) => candidate.port === request.port);
  if (!line) {
    const known = lines.map((candidate) => candidate.port).join(', ') || 'none';
    return {
      error:
        request.port === undefined
          ? `say which M-Bus port to scan ("port"): known ports are ${known}`
          : `port ${request.port} is not an M-Bus line of this gateway (known: ${known}; add it under mbus: in the config)`,
    };
  }
  if (request.from > request.to)
    return { error: `from (${request.from}) is greater than to (${request.to})` };
  const mode = request.mode ?? line.mode;
  const kind =
    mode === 'primary'
      ? { kind: 'primary' as const, range: { from: request.from, to: request.to } }
      : { kind: 'secondary' as const };
  return {
    line: line.port,
    describe: `${mode} addresses`,
    async run(signal, taken) {
      const progress = {
        found: (meter: FoundMeter) =>
          context.log(`found ${meter.manufacturer} ${meter.medium} meter ${meter.secondary} on ${line.port}`),
        problem: (message: string) => context.warn(`${line.port}: ${message}`),
      };
      const busId = context.config.devices.find((d) => d.driver === 'mbus' && d.port === line.port)?.bus;
      const running = busId === undefined ? undefined : context.registry.find(busId);
      const lent = running?.capabilities?.mbusLineScan;
      let meters: FoundMeter[];
      if (lent) {
        meters = await lent.scan(kind, signal, progress);
      } else {
        // Loaded on first use, so the scan module does not pull the serial transport in by itself.
        const { MbusBusRuntime } = await import('./runtime.js');
        const standalone = new MbusBusRuntime(`scan:${line.port}`, {
          path: line.port,
          baud: line.baud,
          meters: [],
        });
        try {
          meters = await standalone.scan(kind, signal, progress);
        } finally {
          await standalone.close();
        }
      }
      const devices = meters.map((meter) => {
        // A meter that is already a device keeps its id (a rescan must not duplicate it).
        const known = context.config.devices.find(
          (device) =>
            device.driver === 'mbus' && device.port === line.port && sameAddress(device.address, meter),
        );
        const config = meterDeviceEntry(meter, line, taken, known?.id);
        return { id: String(config.id), config, foundAt: Date.now() };
      });
      const found = meters.map((meter, index) => ({
        id: devices[index]?.id,
        secondary_address: meter.secondary,
        ...('primary' in meter.target ? { primary_address: meter.target.primary } : {}),
        manufacturer: meter.manufacturer,
        medium: meter.medium,
      }));
      return { found, devices };
    },
  };
}

/** Scans the `mbus:` lines that ask for it at start (`scan_on_start`): `auto` when no meter on it is known. */
function mbusLinesToScanAtStart(config: FieldbridgeConfig): MbusScanRequest[] {
  return config.mbus
    .filter((line) => {
      const known = config.devices.some((device) => device.driver === 'mbus' && device.port === line.port);
      return line.scan_on_start === 'always' || (line.scan_on_start === 'auto' && !known);
    })
    .map((line) => ({ driver: 'mbus', port: line.port, mode: line.scan_mode, from: 0, to: 250 }));
}

export const mbusScan = scanCapability(mbusScanRequest, {
  linesToScanAtStart: mbusLinesToScanAtStart,
  prepare: mbusLineScan,
});
