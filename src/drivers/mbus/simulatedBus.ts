import type { DeviceConfig } from '../../config/index.js';
import type { OpenContext } from '../contract.js';
import { perGateway } from '../shared/perGateway.js';
import { parseSecondaryAddress } from './codec/master.js';
import { type MbusDevice, mbusDevices, openOn } from './openBus.js';
import type { MbusBusRuntime } from './runtime.js';
import { SimulatedLineLink } from './simulator/lineLink.js';
import { defaultMeter, type MeterSpec, meterMatching } from './simulator/meters.js';
import { MbusBus } from './simulator/slave.js';

// `transport: simulated`: the serial transport's runtime, master and decoding on the meter simulator's
// segment in-process (SimulatedLineLink): the meters speak M-Bus and publish meter records, with no
// serial port, pty or socat. Loaded only when a config has a simulated M-Bus line.

/**
 * The simulated segments of one gateway (its OpenContext), kept across bus restarts (a meter a test
 * killed stays dead, as on a real line) and dropped with the gateway: two gateways in one process
 * (tests) never share a segment.
 */
/**
 * The simulated segment of each simulated M-Bus bus of this context, by bus id. Tests reach them for
 * faults: `simulatedMbusSegmentsOf(context).get(busId)?.findMeter(1).alive = false`.
 */
export const simulatedMbusSegmentsOf: (context: OpenContext) => Map<string, MbusBus> = perGateway<MbusBus>();

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

export function openSimulatedMbusBus(
  busId: string,
  devices: readonly DeviceConfig[],
  context: OpenContext,
): MbusBusRuntime {
  const meters = mbusDevices(devices);
  const slowMs = Math.max(0, ...meters.map((device) => device.simulation?.operation_delay_ms ?? 0));
  const segments = simulatedMbusSegmentsOf(context);
  let segment = segments.get(busId);
  if (segment === undefined) {
    segment = new MbusBus({ meters: [], startedAt: SIMULATED_SINCE, fast: true });
    segments.set(busId, segment);
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
