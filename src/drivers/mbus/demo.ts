import type { DriverDemo } from '../contract.js';

// The demo's meters speak M-Bus on the meter simulator, in-process (1: heat meter, 2: water meter).

export const mbusDemo: DriverDemo = {
  config: () => ({
    devices: [
      '{ id: demo_heat_meter, name: Demo heat meter, driver: mbus, transport: simulated, address: 1 }',
      '{ id: demo_water_meter, name: Demo water meter, driver: mbus, transport: simulated, address: 2 }',
    ],
  }),
};
