// The DALI Center simulator's public API: a virtual gateway (discovery, broker, line, faults) and its parts.

export { SimulatedDaliCenter, type SimulatedGatewayOptions } from './gateway.js';
export { DEFAULT_SIMULATED_CREDENTIALS, DEFAULT_SIMULATED_SERIAL } from '../simulatedDefaults.js';
export { type DiscoveryEvent, type ReplyRoute } from './discoveryServer.js';
export {
  defaultLineSpec,
  type LineSpec,
  type SimDevice,
  type SimDeviceSpec,
  type SimLightState,
  VirtualLine,
} from './line.js';
export { type DeviceSelector, GatewayPushes } from './pushes.js';
