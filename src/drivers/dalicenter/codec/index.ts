// The DALI Center codec's public face: discovery datagrams and their crypto, the MQTT topics and request
// envelope, typed command builders, the inbound message parser, data points, device classes, level
// mappings and vendor identity. Pure functions over bytes and JSON; no I/O, no timers.

export * from './commands.js';
export * from './crypto.js';
export * from './dataPoints.js';
export * from './deviceList.js';
export * from './deviceTypes.js';
export * from './discovery.js';
export * from './envelope.js';
export {
  DaliCenterCodecError,
  type DaliCenterProblem,
  type DaliCenterProblemKind,
  type Parsed,
} from './errors.js';
export * from './identity.js';
export { parseInbound, type InboundOptions } from './inbound.js';
export * from './inboundTypes.js';
export { type JsonObject, pythonStyleJson, readJsonObject } from './json.js';
export * from './levels.js';
