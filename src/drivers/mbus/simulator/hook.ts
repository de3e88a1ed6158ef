import type { DriverSimulator } from '../../contract.js';
import { MBUS_SIMULATE_USAGE } from './usage.js';

// `fieldbridge simulate mbus`; the simulator (and serialport) loads only when it runs.

export const mbusSimulator: DriverSimulator = {
  bus: 'mbus',
  summary: 'M-Bus meters on a pty pair (socat)',
  medium: 'on a pty',
  example: 'fieldbridge simulate mbus --link PATH',
  usage: MBUS_SIMULATE_USAGE,
  run: async (args, io, runtime) => (await import('./cli.js')).runMbusSimulate(args, io, runtime),
};
