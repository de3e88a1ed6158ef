import {
  decodeRead,
  readHoldingRegisters,
  ResponseAssembler,
  type ModbusFamily,
} from '../../src/drivers/renogy/codec/index.js';

// Frames from the Renogy protocol notes (/work/shared/research/renogy.md), as literals with their
// section: the requests of §7.1 and the captured responses of §7.2 (CRC-checked by the notes' author),
// and the constructed §7.3 response, and the captured values as a family's map reads them. Shared by
// the renogy-codec tests.

/** Bytes of hex as the notes print it ("ff 03 02 …"). */
export function bytes(hex: string): Buffer {
  return Buffer.from(hex.replace(/\s+/g, ''), 'hex');
}

/** §7.2.3: Rover RNG-CTRL-RVR40, 0x0100 × 34 (73 bytes) [captured, renogy-ble tests]. */
export const ROVER_DYNAMIC =
  'ff 03 44 00 64 00 90 00 04 0e 19 00 00 00 00 00 00 00 e8 00 04 00 01 00 00 00 8f 00 91 00 11 00 00 00 01 00 ' +
  '00 00 00 00 00 00 00 00 00 02 2b 00 01 00 00 00 00 13 7c 00 00 00 00 00 01 01 90 00 00 00 00 00 04 00 00 a3 d2';

/** §7.3: renogy-bt's README sample encoded as 0x0100 × 34 for id 0xFF [computed, not captured]. */
export const CONSTRUCTED_DYNAMIC =
  'ff 03 44 00 57 00 81 01 02 21 19 00 00 00 00 00 00 00 ab 00 cc 00 23 00 00 00 00 00 00 00 00 00 00 00 8f 00 ' +
  '00 00 22 00 22 01 b0 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 06 80 36 00 00 00 00 00 02 00 00 99 7c';

/** §7.2.7: RNGPRO RBT12500LFP-SHBT cell status, 0x1388 × 34 [captured, renogy-ble test_battery_rngpro.py]. */
export const RNGPRO_CELLS = `ff 03 44 00 04 00 21 00 21 00 21 00 21 ${'00 '.repeat(24)}00 03 00 e9 00 e3 00 e2 ${'00 '.repeat(26)}19 17`;

/** Every captured response of §7.2 that carries its CRC, with the request it answers (register, count). */
export const CAPTURED_RESPONSES: readonly {
  readonly source: string;
  /** The family whose register map the answer is read with. */
  readonly family: ModbusFamily;
  readonly hex: string;
  readonly deviceId: number;
  readonly register: number;
  readonly count: number;
}[] = [
  {
    source: '§7.2.1 Rover model',
    family: 'controller',
    hex: 'ff 03 10 20 20 52 4e 47 2d 43 54 52 4c 2d 52 56 52 34 30 37 24',
    deviceId: 0xff,
    register: 0x000c,
    count: 8,
  },
  {
    source: '§7.2.2 Rover address',
    family: 'controller',
    hex: 'ff 03 02 00 10 90 5c',
    deviceId: 0xff,
    register: 0x001a,
    count: 1,
  },
  {
    source: '§7.2.3 Rover dynamic block',
    family: 'controller',
    hex: ROVER_DYNAMIC,
    deviceId: 0xff,
    register: 0x0100,
    count: 34,
  },
  {
    source: '§7.2.4 Rover battery type (lithium)',
    family: 'controller',
    hex: 'ff 03 02 00 04 90 53',
    deviceId: 0xff,
    register: 0xe004,
    count: 1,
  },
  {
    source: '§7.2.4 battery type 1 (Signal K comment)',
    family: 'controller',
    hex: 'ff 03 02 00 01 50 50',
    deviceId: 0xff,
    register: 0xe004,
    count: 1,
  },
  {
    source: '§7.2.5 DCC30S 0x0100 × 7',
    family: 'dc_charger',
    hex: 'ff 03 0e 00 64 00 85 00 00 10 10 00 7a 00 00 00 00 31 68',
    deviceId: 0xff,
    register: 0x0100,
    count: 7,
  },
  {
    source: '§7.2.7 RNGPRO pack status',
    family: 'battery',
    hex: 'ff 03 0e ff 37 00 85 00 07 46 ee 00 07 a1 20 00 18 f9 db',
    deviceId: 0xff,
    register: 0x13b2,
    count: 7,
  },
  {
    source: '§7.2.7 RNGPRO cell status',
    family: 'battery',
    hex: RNGPRO_CELLS,
    deviceId: 0xff,
    register: 0x1388,
    count: 34,
  },
  {
    source: '§7.2.7 RNGPRO MOSFET status',
    family: 'battery',
    hex: 'ff 03 10 00 00 00 aa 00 00 00 00 00 00 00 00 00 06 00 00 85 0f',
    deviceId: 0xff,
    register: 0x13ec,
    count: 8,
  },
  {
    source: '§7.2.8 hub battery 0x30',
    family: 'battery',
    hex: '30 03 0c 01 46 01 f8 00 00 c2 84 00 00 c3 4d 96 d6',
    deviceId: 0x30,
    register: 0x13b2,
    count: 6,
  },
  {
    source: '§7.2.8 hub battery 0x31',
    family: 'battery',
    hex: '31 03 0c 01 32 01 f8 00 00 9f 8a 00 00 c3 4b 0c a9',
    deviceId: 0x31,
    register: 0x13b2,
    count: 6,
  },
  {
    source: '§7.2.9 RIV4835 4000 × 10',
    family: 'inverter',
    hex: '20 03 14 04 6f 06 a4 04 6b 00 1e 17 71 02 00 02 27 00 00 00 00 17 71 35 2f',
    deviceId: 0x20,
    register: 4000,
    count: 10,
  },
  {
    source: '§7.2.9 RIV4835 4327 × 7 charging',
    family: 'inverter',
    hex: '20 03 0e 00 3c fe 11 02 69 00 69 02 8a 00 02 09 e7 e8 e0',
    deviceId: 0x20,
    register: 4327,
    count: 7,
  },
  {
    source: '§7.2.9 RIV4835 4327 × 7 discharging',
    family: 'inverter',
    hex: '20 03 0e 00 2a 00 43 01 f9 00 00 00 00 00 00 00 00 a5 31',
    deviceId: 0x20,
    register: 4327,
    count: 7,
  },
  {
    source: '§7.2.9 RIV4835 4408 × 6',
    family: 'inverter',
    hex: '20 03 0c 00 02 00 14 00 16 00 00 01 71 00 00 a0 f6',
    deviceId: 0x20,
    register: 4408,
    count: 6,
  },
];

/** §7.2.6: DCC50S 0x0120 × 7, the CRC stripped in renogy-ble's fixture (id, function, count, data only). */
export const DCC50S_STATUS_NO_CRC = 'ff 03 0e 00 02 00 00 00 00 00 00 01 0b 00 04 00 00';

/** §7.2.10: an exception [captured, renogy-bt #15] and the request it answers. */
export const EXCEPTION_REQUEST = '30 03 00 88 00 1E 41 C9';
export const EXCEPTION_ANSWER = '30 83 02 91 3e';

/** The words of a captured answer, through the assembler (so CRC and length are checked too). */
export function wordsOfCapture(source: string): { register: number; words: readonly number[] } {
  const capture = CAPTURED_RESPONSES.find((entry) => entry.source === source);
  if (!capture) throw new Error(`no capture "${source}"`);
  const result = new ResponseAssembler(
    readHoldingRegisters(capture.deviceId, capture.register, capture.count),
  ).push(bytes(capture.hex));
  if (result.status !== 'complete' || result.response.kind !== 'read')
    throw new Error(`${source}: ${result.status}`);
  return { register: capture.register, words: result.response.words };
}

/** The values the family's map reads from a captured answer. */
export const capturedValues = (family: ModbusFamily, source: string) => {
  const { register, words } = wordsOfCapture(source);
  return decodeRead(family, register, words).values;
};
