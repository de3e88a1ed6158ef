import type { DriverSimulator } from '../../contract.js';
import { BLUEZ_USAGE } from './usage.js';

// `fieldbridge simulate bluez` (it plays BlueZ, the BLE driver's other end); the simulator and dbus-next
// load only when it runs.

export const bleSimulator: DriverSimulator = {
  bus: 'bluez',
  summary: 'BlueZ with BLE sensors on a private D-Bus',
  medium: 'on D-Bus',
  example: 'fieldbridge simulate bluez',
  usage: BLUEZ_USAGE,
  run: async (args, io, runtime) => (await import('./cli.js')).runBluezSimulate(args, io, runtime),
};
