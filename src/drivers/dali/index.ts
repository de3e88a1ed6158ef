import { type DriverModule, lazyOpener } from '../contract.js';
import { lightGet, lightSet } from '../shared/lightCommands.js';
import { daliAdapterEntities, daliEntities, daliModel } from './entities.js';

// DALI lamps and groups behind a hasseb USB DALI master.

export const daliDriver: DriverModule = {
  name: 'dali',
  definition: {
    name: 'dali',
    recoverySteps: [{ name: 'reopen' }, { name: 'reenumerate' }, { name: 'restart_actor' }],
  },
  model: { manufacturer: 'DALI', model: 'Control gear' },
  describe: daliModel,
  entities: (device, state) =>
    device.driver === 'dali' && device.role === 'adapter' ? daliAdapterEntities() : daliEntities(state),
  // A lamp forgets its level when the power goes; the adapter's replug or a restart forgets it too.
  restoresState: true,
  commands: { set: lightSet, get: lightGet },
  // --- transports
  transports: {
    hid: lazyOpener(
      () => import('./openBus.js'),
      (loaded) => loaded.openDaliBus,
    ),
    simulated: lazyOpener(
      () => import('./simulatedBus.js'),
      (loaded) => loaded.openSimulatedDaliBus,
    ),
  },
};
