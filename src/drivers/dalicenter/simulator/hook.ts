import type { DriverSimulator } from '../../contract.js';
import { DALICENTER_SIMULATE_USAGE } from './usage.js';

// `fieldbridge simulate dalicenter`, for the driver module's `simulate` field (not registered yet); the
// simulator (and Aedes) loads only when it runs.

export const daliCenterSimulator: DriverSimulator = {
  bus: 'dalicenter',
  summary: 'a Sunricher DALI Center gateway (discovery, broker, DALI line)',
  medium: 'on this machine',
  example: 'fieldbridge simulate dalicenter --port 1883',
  usage: DALICENTER_SIMULATE_USAGE,
  run: async (args, io, runtime) => (await import('./cli.js')).runDaliCenterSimulate(args, io, runtime),
};
