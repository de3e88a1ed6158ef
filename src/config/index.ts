// Public API of the config module.

export type { DriverName } from './devices.js';
export { deviceSchema, DRIVER_NAMES } from './devices.js';
// Kept until the scan request moves to the M-Bus driver (bridge/requests.ts, gateway/scans.ts still import it here).
export { MBUS_SCAN_MODES, type MbusScanMode } from '../drivers/mbus/lineConfig.js';
export type { Environment } from './env.js';
export { ConfigError, type ConfigProblem, formatProblems } from './errors.js';
export { defaultConfig, loadConfigFile, parseConfig } from './load.js';
export { MASK, maskSecrets } from './mask.js';
export { deviceBus, devicePolicy, loggingOptions, supervisorPolicy } from './policy.js';
export type { DeviceConfig, FieldbridgeConfig } from './schema.js';
