import type { DriverDemo } from '../contract.js';

// The demo's DALI Center gateway is simulated in-process: its inventory (a light of each type, sensors,
// panels, groups and scenes) becomes devices by the scan at start.

export const daliCenterDemo: DriverDemo = {
  config: () => ({
    devices: [
      '{ id: demo_dalicenter, name: Demo DALI Center gateway, driver: dalicenter, transport: simulated, serial: 6A242121110E, role: gateway, poll_interval_ms: 30000 }',
    ],
  }),
};
