import { freeId } from '../shared/freeId.js';
import type { FoundMeter } from './scan.js';

/** A meter's device entry, as a user would write it in the config file. */
export function meterDeviceEntry(
  meter: FoundMeter,
  line: { port: string; baud: number; pollIntervalMs: number },
  takenIds: Set<string>,
  knownId?: string,
): Record<string, unknown> {
  const serial = meter.secondary.slice(0, 8);
  const id = knownId ?? freeId(`mbus_${serial}`, takenIds);
  const address = 'secondary' in meter.target ? meter.target.secondary : meter.target.primary;
  const what = [meter.manufacturer, meter.medium].filter(Boolean).join(' ') || 'M-Bus meter';
  return {
    id,
    name: `${what} ${serial}`,
    driver: 'mbus',
    port: line.port,
    baud: line.baud,
    address,
    poll_interval_ms: line.pollIntervalMs,
  };
}
