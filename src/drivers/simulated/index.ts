import { type DriverModule, lazyOpener } from '../contract.js';
import { simulatedCapabilities } from '../shared/simulatedCapabilities.js';
import { type SimulatedDevice, simulatedConfig } from './config.js';

// The generic fault-injecting device that exists only in software (demo, tests, benchmarks).

export const simulatedDriver: DriverModule<SimulatedDevice, never> = {
  name: 'simulated',
  definition: { name: 'simulated', recoverySteps: [{ name: 'reopen' }, { name: 'restart_actor' }] },
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
  // --- transports
  transports: {
    simulated: lazyOpener(
      () => import('../shared/simulatedBus.js'),
      // Every generic simulated device is a climate sensor with a dimmable lamp.
      (loaded) => (busId, devices, context) =>
        loaded.openSimulatedBus(busId, devices, context, true, simulatedDriver.definition.recoverySteps),
    ),
  },
};
