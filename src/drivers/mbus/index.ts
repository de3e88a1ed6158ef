import { z } from 'zod';
import { type DriverModule, lazyOpener, type RecoveryStepSpec } from '../contract.js';
import { mbusEntities, mbusModel } from './entities.js';
import { isTcpPort } from './portConfig.js';

// M-Bus meters on a serial level converter or an Ethernet converter's TCP port.

const SERIAL_LADDER: readonly RecoveryStepSpec[] = [
  { name: 'reopen' },
  { name: 'reenumerate' },
  { name: 'restart_actor' },
];
/** An M-Bus line on an Ethernet converter: a new connection, then a fresh actor; no port to find again. */
const TCP_LADDER: readonly RecoveryStepSpec[] = [{ name: 'reconnect' }, { name: 'restart_actor' }];

export const mbusDriver: DriverModule = {
  name: 'mbus',
  definition: { name: 'mbus', recoverySteps: SERIAL_LADDER },
  recoveryStepsFor: (device) =>
    device.driver === 'mbus' && device.transport === 'serial' && isTcpPort(device.port)
      ? TCP_LADDER
      : undefined,
  model: { manufacturer: 'M-Bus', model: 'Meter' },
  describe: mbusModel,
  entities: (_device, state) => mbusEntities(state),
  expireAfterS: (device) =>
    device.driver === 'mbus' ? Math.ceil(device.offline_after_ms / 1000) : undefined,
  // A read on demand: `<base>/<meter>/get` with `{}` reads the meter now instead of at its next poll.
  commands: { get: z.strictObject({}) },
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
