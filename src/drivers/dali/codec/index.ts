// The DALI codec's public API: forward frames and commands, backward results and status bits, and the
// hasseb DALI Master's USB HID reports. Pure functions; no I/O.

export * from './backward.js';
export * from './commands.js';
export { decodeDaliBytes, type DaliDecoded } from './describe.js';
export { DaliError, type DaliErrorCode, formatHex, hexByte, parseHex } from './errors.js';
export * from './frames.js';
export * from './hasseb.js';
