// Public API of the config module.

export type { DriverName } from './devices.js';
export { deviceSchema, DRIVER_NAMES } from './devices.js';
export type { Environment } from './env.js';
export { ConfigError, type ConfigProblem, formatProblems } from './fields/errors.js';
export { defaultConfig, loadConfigFile, parseConfig } from './load.js';
export { MASK, maskSecrets } from './mask.js';
export { deviceBus, devicePolicy, loggingOptions, supervisorPolicy } from './policy.js';
export type { DeviceConfig, FieldbridgeConfig } from './schema.js';
