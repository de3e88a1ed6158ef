import type { DriverDemo } from '../contract.js';
import { findDbusDaemon } from '../shared/bluez/dbusDaemon.js';

// With dbus-daemon installed, the demo's BLE sensors advertise on a simulated BlueZ and are found by
// auto_add; without it, one simulated BLE thermometer.

export const bleDemo: DriverDemo = {
  available: (env) => findDbusDaemon(env.PATH ?? '') !== undefined,
  config: (bluez) =>
    bluez
      ? { devices: [], sections: ['ble:', '  - { adapter: hci0, transport: simulated }'] }
      : {
          devices: [
            '{ id: demo_thermometer, name: Demo BLE thermometer, driver: ble, transport: simulated, poll_interval_ms: 5000 }',
          ],
        },
  banner: (config) =>
    config.ble.map((line) => `BLE sensors on a simulated BlueZ adapter (${line.adapter}), added by auto_add`),
};
