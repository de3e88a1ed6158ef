import type { DriverDecoder } from '../contract.js';
import { DaliError, decodeDaliBytes, parseHex } from './codec/index.js';

// `fieldbridge decode dali <hex…>`: a DALI frame or a hasseb report, for reading a bus trace.

export const daliDecoder: DriverDecoder = {
  protocols: ['dali'],
  titles: ['DALI'],
  usage: `fieldbridge decode dali [HEX...] [--file FILE]

Decodes DALI traffic and prints it as JSON: 2 bytes are a forward frame (address and command,
e.g. "0B A0" = QUERY ACTUAL LEVEL to short address 5), 10 bytes a hasseb DALI Master USB report,
host to adapter (the frame it sends, sequence number, send-twice) or adapter to host (the answer,
no answer, invalid answer, firmware version).`,
  decode(_protocol, hex) {
    try {
      return { json: decodeDaliBytes(parseHex(hex)) };
    } catch (error) {
      if (error instanceof DaliError) return { error: error.message };
      throw error;
    }
  },
};
