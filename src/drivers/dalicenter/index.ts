import { type DriverModule, lazyOpener } from '../contract.js';
import { daliCenterCapabilities, daliCenterModel } from './capabilities.js';
import { type DaliCenterDevice, daliCenterConfig } from './config.js';
import { daliCenterDemo } from './demo.js';
import { daliCenterScan } from './lineScan.js';
import { pairRequest } from './pairRequest.js';
import { daliCenterSimulationFaults } from './simulationFaults.js';
import { daliCenterSimulator } from './simulator/hook.js';

// Sunricher DALI Center network gateways (SR-GW-EDA): lights, groups, scenes, sensors and panels behind
// the gateway's own MQTT broker.

export const daliCenterDriver: DriverModule<DaliCenterDevice, never> = {
  name: 'dalicenter',
  definition: {
    name: 'dalicenter',
    recoverySteps: [{ name: 'reconnect' }, { name: 'rediscover' }, { name: 'restart_actor' }],
  },
  model: { manufacturer: 'Sunricher', model: 'DALI Center' },
  describe: daliCenterModel,
  // A rebooted gateway brings its lights back at their power-on level: the last commanded state is sent again.
  restoresState: true,
  // --- config
  config: daliCenterConfig,
  // --- home assistant
  capabilities: (device) => daliCenterCapabilities(device),
  // --- scans
  scan: daliCenterScan,
  // --- cli, demo, requests
  simulate: daliCenterSimulator,
  demo: daliCenterDemo,
  simulationFaults: daliCenterSimulationFaults,
  requests: { 'dalicenter/pair': pairRequest },
  // --- transports
  transports: {
    mqtt: lazyOpener(
      () => import('./openBus.js'),
      (loaded) => loaded.openDaliCenterBus,
    ),
    simulated: lazyOpener(
      () => import('./simulatedBus.js'),
      (loaded) => loaded.openSimulatedDaliCenterBus,
    ),
  },
};
