import type { DriverDemo } from '../contract.js';

// The demo's lamp sits on a fake hasseb adapter's virtual DALI bus, in-process.

export const daliDemo: DriverDemo = {
  config: () => ({
    devices: ['{ id: demo_dali_lamp, name: Demo DALI lamp, driver: dali, transport: simulated, address: 0 }'],
  }),
};
