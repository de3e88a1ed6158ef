import { type DriverModule, lazyOpener } from '../contract.js';
import { type DaliDevice, daliConfig } from './config.js';
import type { DaliLine } from './lineConfig.js';
import { daliAdapterCapabilities, daliCapabilities, daliModel } from './capabilities.js';
import { daliScan } from './lineScan.js';
import { daliDecoder } from './decode.js';
import { daliDemo } from './demo.js';
import { daliSimulationFaults } from './simulationFaults.js';

// DALI lamps and groups behind a hasseb USB DALI master.

export const daliDriver: DriverModule<DaliDevice, DaliLine> = {
  name: 'dali',
  definition: {
    name: 'dali',
    recoverySteps: [{ name: 'reopen' }, { name: 'reenumerate' }, { name: 'restart_actor' }],
  },
  model: { manufacturer: 'DALI', model: 'Control gear' },
  describe: daliModel,
  // A lamp forgets its level when the power goes; the adapter's replug or a restart forgets it too.
  restoresState: true,
  // --- config
  config: daliConfig,
  // --- home assistant
  capabilities: (device, state) =>
    device.driver === 'dali' && device.role === 'adapter'
      ? daliAdapterCapabilities()
      : daliCapabilities(state),
  // --- scans
  scan: daliScan,
  // --- cli, demo, requests
  decode: daliDecoder,
  demo: daliDemo,
  simulationFaults: daliSimulationFaults,
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
