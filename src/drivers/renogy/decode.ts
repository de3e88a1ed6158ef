import type { DriverDecoder } from '../contract.js';
import { describeHex, RenogyError } from './codec/index.js';

// `fieldbridge decode renogy <hex…>`: a Modbus frame between fieldbridge and a Renogy BT-1/BT-2 module
// (or a Smart Shunt notification), from a log.

export const renogyDecoder: DriverDecoder = {
  protocols: ['renogy'],
  titles: ['Renogy'],
  usage: `fieldbridge decode renogy [HEX...] [--file FILE] [--family FAMILY] [--register REG]

Decodes one frame of Renogy's Modbus over BLE (BT-1, BT-2, built-in BLE) and prints it as JSON: the
function (read holding registers, write single register, exception with its code's name), the device
id, whether the CRC-16/MODBUS is right, and for a request the register and count (and which table read
it is). A read answer carries no register address: its values are decoded when --family (controller,
dc_charger, battery, inverter) and --register (where the read started, decimal or 0x hex) are given,
or when one of them and the answer's length leave a single read of the tables (with --family
controller, a 73-byte answer is the 0x0100 block). A Smart Shunt live frame
(42 57 01 19 ...) is decoded too; the Renogy app's "main recv data" ACK is named and ignored.`,
  options: [
    {
      name: 'family',
      short: 'F',
      value: 'FAMILY',
      help: 'renogy: controller, dc_charger, battery or inverter',
      protocols: ['renogy'],
    },
    {
      name: 'register',
      short: 'r',
      value: 'REG',
      help: 'renogy: the register a read answer starts at (0x0100)',
      protocols: ['renogy'],
    },
  ],
  decode(_protocol, hex, options) {
    try {
      return { json: describeHex(hex, { family: options.family, register: options.register }) };
    } catch (error) {
      if (error instanceof RenogyError) return { error: error.message };
      throw error;
    }
  },
};
