import type { DriverDecoder } from '../contract.js';
import { MbusError } from './codec/errors.js';
import { parseHex } from './codec/frames.js';
import { decodeTelegram, telegramJson } from './codec/telegram.js';

// `fieldbridge decode mbus <hex…>`: one frame in, its JSON out. For looking at what a meter sent (a hex
// dump from a log, a libmbus test frame) without a bus or a gateway.

export const mbusDecoder: DriverDecoder = {
  protocols: ['mbus'],
  titles: ['M-Bus'],
  usage: `fieldbridge decode mbus [HEX...] [--file FILE]

Decodes one M-Bus frame from a meter (RSP_UD: variable data CI 72, fixed data CI 73, or an
application error CI 70) and prints it as JSON: the frame fields, the meter's header and every
record, normalised to SI units as libmbus's "mbus_parse_hex -n" does, with the raw value, unit and
scale beside it. The frame is read from the HEX arguments ("68 1F 1F 68 08 ..." as one or many
arguments, spaces optional), from --file (a text file of hex pairs, like libmbus's .hex files), or
from stdin when neither is given. Exit code 0 when decoded; 1 with "error: <what is wrong>" on
stderr when the frame cannot be decoded.`,
  decode(_protocol, hex) {
    try {
      return { json: telegramJson(decodeTelegram(parseHex(hex))) };
    } catch (error) {
      if (error instanceof MbusError) return { error: error.message };
      throw error;
    }
  },
};
