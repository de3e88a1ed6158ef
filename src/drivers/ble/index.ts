import { type DriverModule, lazyOpener } from '../contract.js';
import { type BleDevice, bleConfig } from './config.js';
import type { BleLine } from './lineConfig.js';
import { bleCapabilities, bleExpireAfterS, bleModel } from './capabilities.js';
import { bleScan } from './lineScan.js';
import { BleSensorCollector } from './sensorDevices.js';
import { bleDecoder } from './decode.js';
import { bleSimulator } from './simulator/hook.js';
import { bleDemo } from './demo.js';
import { powerCycleRequest } from './adapterRequest.js';
import { ADAPTER_POWER_CYCLES_PER_HOUR } from '../shared/bluez/powerCycles.js';

// BLE sensors (BTHome, Ruuvi, Xiaomi custom firmwares) heard through BlueZ over D-Bus.

export const bleDriver: DriverModule<BleDevice, BleLine> = {
  name: 'ble',
  definition: {
    name: 'ble',
    // Each stuck scan climbs from stop_discovery: the supervisor resets the ladder once the adapter
    // watchdog has verified a step (advertisements again). A power cycle is what a wedged controller
    // needs, hence its own limit; restart_actor is reset only by a stable period, as a fresh
    // connection always looks healthy at first.
    recoverySteps: [
      { name: 'stop_discovery' },
      { name: 'power_cycle_adapter', maxPerHour: ADAPTER_POWER_CYCLES_PER_HOUR },
      { name: 'restart_actor' },
    ],
  },
  model: { manufacturer: 'BLE', model: 'Sensor' },
  describe: bleModel,
  expireAfterS: bleExpireAfterS,
  // --- config
  config: bleConfig,
  // --- home assistant
  // Sensors only advertise; the adapter device reports by itself (its watchdog): nothing to command.
  capabilities: bleCapabilities,
  // Sensors only advertise; the adapter device reports by itself (its watchdog).
  // --- scans
  scan: bleScan,
  // --- cli, demo, requests
  decode: bleDecoder,
  simulate: bleSimulator,
  demo: bleDemo,
  requests: { 'adapter/power_cycle': powerCycleRequest },
  // A sensor removed on request stays forgotten by its MAC, so auto_add does not add it back.
  // --- devices heard
  // auto_add: sensors heard on a line that wants them become devices; the others are offered once.
  autoAdd: (dependencies) =>
    new BleSensorCollector({
      ...dependencies,
      offer: (sensor) => dependencies.offer?.('ble_sensor_not_added', { ...sensor }),
    }),
  forgetKey: (found) => (typeof found.mac === 'string' ? { field: 'mac', value: found.mac } : undefined),
  // --- transports
  // The series this driver's D-Bus calls have always gone to: renaming it would break dashboards.
  transportCallMetric: {
    name: 'fieldbridge_dbus_call_duration_seconds',
    help: 'Latency of D-Bus calls to BlueZ, by operation and outcome.',
    // Sub-millisecond when idle, seconds when BlueZ is busy or hung (timeouts).
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25],
  },
  transports: {
    bluez: lazyOpener(
      () => import('./openBus.js'),
      (loaded) => loaded.openBleBus,
    ),
    // The BLE runtime on an in-process fake BlueZ; without dbus-daemon, the generic simulated device.
    simulated: lazyOpener(
      () => import('./simulatedBus.js'),
      (loaded) => loaded.openSimulatedBleBus,
    ),
  },
};
