import type { DriverDemo } from '../contract.js';
import { findDbusDaemon } from './simulator/bluezSim.js';

// With dbus-daemon installed, the demo reads a Renogy charge controller behind a BT-1 on the simulated
// BlueZ adapter its BLE sensors advertise on (every 30 s, so its values show up soon); without it there
// is no simulated radio, and no Renogy device.

export const renogyDemo: DriverDemo = {
  available: (env) => findDbusDaemon(env.PATH ?? '') !== undefined,
  config: (bluez) =>
    bluez
      ? {
          devices: [
            "{ id: demo_solar, name: Demo solar charge controller, driver: renogy, transport: simulated, mac: 'C4:D3:6A:00:00:01', poll_interval_ms: 30000 }",
          ],
        }
      : { devices: [] },
  banner: (config) =>
    config.devices.some((device) => device.driver === 'renogy')
      ? ['A Renogy charge controller behind a BT-1 on the simulated BlueZ adapter (read every 30 s)']
      : [],
};
