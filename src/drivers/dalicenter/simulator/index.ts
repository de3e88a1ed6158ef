// The DALI Center simulator's public API: a virtual gateway (discovery, broker, line, faults) and its parts.

export { DEFAULT_SIMULATED_SERIAL, SimulatedDaliCenter, type SimulatedGatewayOptions } from './gateway.js';
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
