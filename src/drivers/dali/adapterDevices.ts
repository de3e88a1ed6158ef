import type { FieldbridgeConfig } from '../../config/index.js';
import type { GatewayNotice } from '../../machines/notices.js';
import type { DaliLine } from './lineConfig.js';

// Each `dali:` line's adapter is a device of its own: Home Assistant shows its connectivity, and its
// poll is the bus self-test (one query per bus, so a silently dead bus is noticed even when nobody
// switches a light). When it comes back after being unplugged, the line is scanned again: lamps may
// have been added or readdressed meanwhile.

function adapterId(line: DaliLine): string {
  return line.adapter_serial
    ? `dali_adapter_${line.adapter_serial.replace(/[^A-Za-z0-9_-]/g, '_')}`
    : 'dali_adapter';
}

/**
 * The adapter devices of the `dali:` lines that do not have one yet, as device entries; they go first on
 * their bus. `takeId` turns a wanted id into a free one.
 */
export function daliAdapterEntries(
  config: FieldbridgeConfig,
  takeId: (wanted: string) => string,
): Record<string, unknown>[] {
  const has = (line: DaliLine) =>
    config.devices.some(
      (device) =>
        device.driver === 'dali' &&
        device.role === 'adapter' &&
        device.transport === line.transport &&
        device.adapter_serial === line.adapter_serial,
    );
  return config.dali
    .filter((line) => !has(line))
    .map((line) => ({
      id: takeId(adapterId(line)),
      name: `DALI adapter${line.adapter_serial ? ` ${line.adapter_serial}` : ''}${line.transport === 'simulated' ? ' (simulated)' : ''}`,
      driver: 'dali',
      transport: line.transport,
      ...(line.adapter_serial ? { adapter_serial: line.adapter_serial } : {}),
      role: 'adapter',
      poll_interval_ms: line.self_test_interval_ms,
    }));
}

/** Rescans a DALI line when its adapter device is back after being down (a replug). */
export class DaliReplugRescan {
  readonly #down = new Set<string>();

  constructor(
    private readonly config: () => FieldbridgeConfig,
    private readonly rescan: (line: DaliLine) => void,
  ) {}

  readonly handle = (notice: GatewayNotice): void => {
    if (notice.type !== 'device.status') return;
    const device = this.config().devices.find((candidate) => candidate.id === notice.deviceId);
    if (device?.driver !== 'dali' || device.role !== 'adapter') return;
    if (notice.status === 'reconnecting' || notice.status === 'offline') {
      this.#down.add(device.id);
      return;
    }
    if (notice.status !== 'connected.healthy' || !this.#down.delete(device.id)) return;
    const line = this.config().dali.find(
      (candidate) =>
        candidate.transport === device.transport && candidate.adapter_serial === device.adapter_serial,
    );
    if (line && line.scan_on_start !== 'never') this.rescan(line);
  };
}
