import type { DriverDecoder } from '../contract.js';
import { BleDecodeError, decodeAtc, decodeBthome, decodeRuuvi, parseHexBytes } from './codec/index.js';

// `fieldbridge decode bthome|ruuvi|atc <hex…>`: one advertisement payload, for checking a sensor's
// format (and its bind key) without an adapter.

export const bleDecoder: DriverDecoder = {
  protocols: ['bthome', 'ruuvi', 'atc'],
  titles: ['BTHome', 'Ruuvi', 'ATC'],
  usage: `fieldbridge decode bthome|ruuvi|atc [HEX...] [--file FILE] [--key KEY] [--mac MAC]

Decodes one BLE advertisement payload and prints the reading as JSON (values, Home Assistant
metadata, events, packet id): bthome = BTHome v2 service data of UUID FCD2, from the device info
byte on (an encrypted one needs --key and, unless the payload includes it, --mac); ruuvi = Ruuvi
data format 5 manufacturer data (the 24 bytes after company id 0499); atc = service data of UUID
181A in the ATC1441 (13 bytes) or pvvx (15 bytes) format.`,
  options: [
    {
      name: 'key',
      short: 'k',
      value: 'KEY',
      help: "bthome: the device's bind key (32 hex digits)",
      protocols: ['bthome'],
    },
    {
      name: 'mac',
      short: 'm',
      value: 'MAC',
      help: "bthome: the device's MAC (AA:BB:CC:DD:EE:FF), for decrypting",
      protocols: ['bthome'],
    },
  ],
  decode(protocol, hex, options) {
    try {
      const bytes = parseHexBytes(hex);
      if (protocol === 'ruuvi') return { json: decodeRuuvi(bytes) };
      if (protocol === 'atc') return { json: decodeAtc(bytes) };
      return { json: decodeBthome(bytes, { bindKey: options.key, mac: options.mac }) };
    } catch (error) {
      if (error instanceof BleDecodeError) return { error: error.message };
      throw error;
    }
  },
};
