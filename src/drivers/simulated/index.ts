import type { DeviceConfig } from '../../config/index.js';
import type { GatewayClock } from '../../machines/clock.js';
import type { BusRuntime, DriverModule } from '../contract.js';
import { simulatedCapabilities } from './capabilities.js';
import { SimulatedBusRuntime } from './runtime.js';
import { type SimulatedDevice, simulatedConfig } from './config.js';

// The generic fault-injecting device that exists only in software (demo, tests, benchmarks).

export function openSimulatedBus(
  busId: string,
  devices: readonly DeviceConfig[],
  clock: GatewayClock,
): BusRuntime {
  const runtime = new SimulatedBusRuntime(busId, clock, hashSeed(busId));
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

export const simulatedDriver: DriverModule<SimulatedDevice, never> = {
  name: 'simulated',
  definition: { name: 'simulated', recoverySteps: [{ name: 'reopen' }, { name: 'restart_actor' }] },
  transports: { simulated: openSimulatedBus },
  model: { manufacturer: 'fieldbridge', model: 'Simulated device' },
  // --- config
  config: simulatedConfig,
  // --- home assistant
  capabilities: () => simulatedCapabilities(),
  // --- cli, demo, requests
  demo: {
    config: () => ({
      devices: ['{ id: demo_climate, name: Demo climate sensor and lamp, driver: simulated }'],
    }),
  },
};
