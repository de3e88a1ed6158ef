// The M-Bus codec's public API: link-layer frames, the master's requests and secondary addresses, and
// the application-layer decoder.

export { MbusError, type MbusErrorCode } from './errors.js';
export * from './frames.js';
export * from './master.js';
export { applicationErrorMessage, decodeTelegram, telegramJson } from './telegram.js';
export type { MbusRecord, MbusSlaveInfo, MbusTelegram, MbusTelegramFrame } from './types.js';
