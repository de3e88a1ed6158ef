import { simulatedEntities } from '../../bridge/entities.js';
import { type DriverModule, lazyOpener } from '../contract.js';
import { lightGet, lightSet } from '../shared/lightCommands.js';

// The generic fault-injecting device that exists only in software (demo, tests, benchmarks).

export const simulatedDriver: DriverModule = {
  name: 'simulated',
  definition: { name: 'simulated', recoverySteps: [{ name: 'reopen' }, { name: 'restart_actor' }] },
  model: { manufacturer: 'fieldbridge', model: 'Simulated device' },
  entities: () => simulatedEntities(),
  commands: { set: lightSet, get: lightGet },
  // --- transports
  transports: {
    simulated: lazyOpener(
      () => import('./openBus.js'),
      (loaded) => loaded.openSimulatedBus,
    ),
  },
};
