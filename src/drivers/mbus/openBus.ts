import type { DeviceConfig } from '../../config/index.js';
import { getLogger } from '../../logging/index.js';
import type { GatewayClock } from '../../machines/clock.js';
import { ADDRESS, parseSecondaryAddress } from './codec/master.js';
import type { MeterTarget } from './master.js';
import { MbusBusRuntime } from './runtime.js';
import { SimulatedLineLink } from './simulator/lineLink.js';
import { defaultMeter, type MeterSpec, meterMatching } from './simulator/meters.js';
import { MbusBus } from './simulator/slave.js';

// The driver catalogue's openers: `transport: serial` runs one MbusBusRuntime per port, with the meters
// configured (or found by a scan) on it; `transport: simulated` runs the same runtime, master and
// decoding on the meter simulator's segment in-process (SimulatedLineLink): the meters speak M-Bus and
// publish meter records, with no serial port, pty or socat.

type MbusDevice = Extract<DeviceConfig, { driver: 'mbus' }>;

/**
 * How a configured meter is addressed: a number is its primary address, a 16-digit string its
 * secondary address; no address means the only meter on the bus, reached through the broadcast address
 * every meter answers (0xFE), the way a single meter on a converter is usually read.
 */
export function meterTarget(address: number | string | undefined): MeterTarget {
  if (address === undefined) return { primary: ADDRESS.BROADCAST_REPLY };
  return typeof address === 'number' ? { primary: address } : { secondary: address.toUpperCase() };
}

function mbusDevices(devices: readonly DeviceConfig[]): MbusDevice[] {
  return devices.flatMap((device) => (device.driver === 'mbus' ? [device] : []));
}

function openOn(
  busId: string,
  meters: readonly MbusDevice[],
  path: string,
  options: Pick<ConstructorParameters<typeof MbusBusRuntime>[1], 'openLink' | 'deviceNode' | 'clock'>,
): MbusBusRuntime {
  const logger = getLogger(`mbus:${path}`);
  return new MbusBusRuntime(busId, {
    path,
    baud: meters[0]?.baud ?? 2400,
    meters: meters.map((device) => ({ deviceId: device.id, target: meterTarget(device.address) })),
    log: (message) => logger.info(message),
    ...options,
  });
}

export function openMbusBus(
  busId: string,
  devices: readonly DeviceConfig[],
  clock?: GatewayClock,
): MbusBusRuntime {
  const meters = mbusDevices(devices);
  const port = meters[0]?.port;
  if (!port) throw new Error(`bus ${busId} has no M-Bus meter with a serial port`);
  return openOn(busId, meters, port, { clock });
}

/**
 * The simulated segment of each simulated bus, kept across bus restarts (a meter a test killed stays
 * dead, as on a real line). Tests reach them for faults: `segment.findMeter(1).alive = false`.
 */
export const simulatedMbusSegments = new Map<string, MbusBus>();

/**
 * When the simulated counters started: a fixed date, so a meter's counters keep growing across
 * gateway restarts (Home Assistant's energy statistics see no meter reset).
 */
const SIMULATED_SINCE = Date.UTC(2024, 0, 1);

/**
 * The meters on a simulated line: one at each configured primary address (the meter `fieldbridge
 * simulate mbus` has there: 1 heat, 2 water, 3 electricity, …), one matching each configured secondary
 * address (at primary address 0), and for a device without an address the line's only meter (at 1).
 * A secondary address naming a medium the simulator does not play matches no meter: a dead meter.
 */
export function simulatedMeters(devices: readonly MbusDevice[]): MeterSpec[] {
  return devices.map((device) => {
    if (typeof device.address === 'number') return defaultMeter(device.address);
    if (typeof device.address === 'string') return meterMatching(parseSecondaryAddress(device.address), 0);
    return defaultMeter(1);
  });
}

export function openSimulatedMbusBus(busId: string, devices: readonly DeviceConfig[]): MbusBusRuntime {
  const meters = mbusDevices(devices);
  const slowMs = Math.max(0, ...meters.map((device) => device.simulation?.operation_delay_ms ?? 0));
  let segment = simulatedMbusSegments.get(busId);
  if (segment === undefined) {
    segment = new MbusBus({ meters: [], startedAt: SIMULATED_SINCE, fast: true });
    simulatedMbusSegments.set(busId, segment);
  }
  // The operation delay slows every answer on the line (the slowest device's). M-Bus has no
  // connection to drop: a failed or hung operation is a reply that never comes, which the master's
  // timeout and retries handle.
  segment.setFaults({ slowMs });
  segment.setMeters(
    simulatedMeters(meters).map((spec, index) => {
      const simulation = meters[index]?.simulation;
      return {
        ...spec,
        lossRate: Math.min(1, (simulation?.failure_rate ?? 0) + (simulation?.hang_rate ?? 0)),
      };
    }),
  );
  const path = `(simulated ${busId})`;
  const line = segment;
  return openOn(busId, meters, path, {
    deviceNode: false,
    openLink: () => Promise.resolve(new SimulatedLineLink(line, { path })),
  });
}
