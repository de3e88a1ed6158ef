import type { z } from 'zod';
import type { FieldbridgeConfig } from '../config/index.js';
import type { GatewayNotice } from '../machines/notices.js';
import type { DiscoveredDevice } from '../persistence/index.js';
import type { BusRuntime } from './contract.js';
import type { OpenContext } from './contractTransports.js';

// The scan side of the driver contract (contract.ts): a driver's scan capability; the shared part is
// src/gateway/scans.ts.

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
