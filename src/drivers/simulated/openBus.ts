import type { DeviceConfig } from '../../config/index.js';
import type { BusRuntime, OpenContext } from '../contract.js';
import { SimulatedBusRuntime } from './runtime.js';

// The generic simulated device's bus (also the fallback of a driver's simulated transport that cannot
// run here). Loaded by the lazy opener: production configs never load the simulation.

export function openSimulatedBus(
  busId: string,
  devices: readonly DeviceConfig[],
  context: OpenContext,
): BusRuntime {
  const runtime = new SimulatedBusRuntime(busId, context.clock, hashSeed(busId));
  for (const device of devices) {
    const simulation = device.simulation;
    runtime.addDevice(
      device.id,
      simulation && {
        connectDelayMs: simulation.connect_delay_ms,
        operationDelayMs: simulation.operation_delay_ms,
        failureRate: simulation.failure_rate,
        hangRate: simulation.hang_rate,
        disconnectEveryMs: simulation.disconnect_every_ms,
      },
      // Only the generic simulated device is a lamp; a meter or sensor simulated this way is not.
      device.driver === 'simulated',
    );
  }
  return runtime;
}

/** A stable seed per bus, so a simulated bus injects the same faults on every run. */
function hashSeed(text: string): number {
  let hash = 2_166_136_261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16_777_619);
  return hash >>> 0;
}
