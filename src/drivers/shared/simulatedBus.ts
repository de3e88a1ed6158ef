import type { DeviceConfig } from '../../config/index.js';
import { type BusRuntime, type OpenContext, RESTART_ACTOR_STEP, type RecoveryStepSpec } from '../contract.js';
import { SimulatedBusRuntime } from './simulatedRuntime.js';

// A bus of generic simulated devices: the `simulated` driver's, and the fallback of a driver's simulated
// transport that cannot run here (BLE without dbus-daemon). Loaded by lazy openers: production configs
// never load the simulation.

export function openSimulatedBus(
  busId: string,
  devices: readonly DeviceConfig[],
  context: OpenContext,
  /** Whether its devices are dimmable lamps (the generic device is; a meter or sensor standing in is not). */
  lamps: boolean,
  /** The recovery ladder of the driver it stands for; restart_actor is the supervisor's own. */
  ladder: readonly RecoveryStepSpec[],
): BusRuntime {
  const steps = ladder.map((step) => step.name).filter((name) => name !== RESTART_ACTOR_STEP);
  const runtime = new SimulatedBusRuntime(busId, context.clock, hashSeed(busId), steps);
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
      lamps,
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
