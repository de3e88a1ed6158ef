import type { DriverDemo } from '../contract.js';
import { findDbusDaemon } from './dbusDaemon.js';

// The demo reads a Renogy charge controller behind a BT-1 every 30 s (so its values show up soon): with
// dbus-daemon installed on the simulated BlueZ adapter its BLE sensors advertise on, without it as the
// generic simulated device (there is no simulated radio then).

export const renogyDemo: DriverDemo = {
  available: (env) => findDbusDaemon(env.PATH ?? '') !== undefined,
  config: () => ({
    devices: [
      "{ id: demo_solar, name: Demo solar charge controller, driver: renogy, transport: simulated, family: controller, mac: 'C4:D3:6A:00:00:01', poll_interval_ms: 30000 }",
    ],
  }),
  banner: (config) =>
    config.devices.some((device) => device.driver === 'renogy' && device.transport === 'simulated')
      ? ['A Renogy charge controller behind a BT-1, read every 30 s (simulated)']
      : [],
};
