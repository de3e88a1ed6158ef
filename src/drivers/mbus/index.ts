import { type DriverModule, lazyOpener, type RecoveryStepSpec } from '../contract.js';
import { type MbusDevice, mbusConfig } from './config.js';
import type { MbusLine } from './lineConfig.js';
import { mbusCapabilities, mbusModel } from './capabilities.js';
import { isTcpPort } from './portConfig.js';
import { mbusScan } from './lineScan.js';
import { mbusDecoder } from './decode.js';
import { mbusSimulator } from './simulator/hook.js';
import { mbusDemo } from './demo.js';

// M-Bus meters on a serial level converter or an Ethernet converter's TCP port.

const SERIAL_LADDER: readonly RecoveryStepSpec[] = [
  { name: 'reopen' },
  { name: 'reenumerate' },
  { name: 'restart_actor' },
];
/** An M-Bus line on an Ethernet converter: a new connection, then a fresh actor; no port to find again. */
const TCP_LADDER: readonly RecoveryStepSpec[] = [{ name: 'reconnect' }, { name: 'restart_actor' }];

export const mbusDriver: DriverModule<MbusDevice, MbusLine> = {
  name: 'mbus',
  definition: { name: 'mbus', recoverySteps: SERIAL_LADDER },
  recoveryStepsFor: (device) =>
    device.driver === 'mbus' && device.transport === 'serial' && isTcpPort(device.port)
      ? TCP_LADDER
      : undefined,
  model: { manufacturer: 'M-Bus', model: 'Meter' },
  describe: mbusModel,
  expireAfterS: (device) =>
    device.driver === 'mbus' ? Math.ceil(device.offline_after_ms / 1000) : undefined,
  // --- config
  config: mbusConfig,
  // --- home assistant
  capabilities: (_device, state) => mbusCapabilities(state),
  // --- scans
  scan: mbusScan,
  // --- cli, demo, requests
  decode: mbusDecoder,
  simulate: mbusSimulator,
  demo: mbusDemo,
  // --- transports
  transports: {
    serial: lazyOpener(
      () => import('./openBus.js'),
      (loaded) => loaded.openMbusBus,
    ),
    simulated: lazyOpener(
      () => import('./simulatedBus.js'),
      (loaded) => loaded.openSimulatedMbusBus,
    ),
  },
};
