import { fail } from './errors.js';
import type { Block, Field, NumberField } from './fields.js';
import { BATTERY_ADDRESS, BATTERY_BLOCKS } from './batteryRegisters.js';
import { ADDRESS, CONTROLLER_BLOCKS, LOAD_REGISTER } from './controllerRegisters.js';
import { DC_CHARGER_BLOCKS, DC_CHARGER_G6_BLOCKS } from './dcChargerRegisters.js';
import { INVERTER_ADDRESS, INVERTER_BLOCKS } from './inverterRegisters.js';

// The device families that answer Modbus, each with its one table (blocks of fields), its address
// register, the ids to try (§2.3) and its pacing (§3, §5). The Smart Shunt speaks no Modbus (shunt.ts).

export type ModbusFamily = 'controller' | 'dc_charger' | 'battery' | 'inverter';
export type RenogyFamily = ModbusFamily | 'shunt';

export const MODBUS_FAMILIES: readonly ModbusFamily[] = ['controller', 'dc_charger', 'battery', 'inverter'];
export const RENOGY_FAMILIES: readonly RenogyFamily[] = [...MODBUS_FAMILIES, 'shunt'];

export function isModbusFamily(family: RenogyFamily | undefined): family is ModbusFamily {
  return family !== undefined && family !== 'shunt';
}

/** How the runtime paces one device's requests (notes §3 and §5). */
export interface Pacing {
  /**
   * Pause after an answer before the next request (§3.4: about 0.3-0.5 s; renogy-bt 0.5 s, renogy-ble
   * inverters 0.3 s).
   */
  readonly requestGapMs: number;
  /** How long to wait for a complete answer; a timeout makes the session unusable (§3.3). */
  readonly responseTimeoutMs: number;
  /** Wait after connecting before the first request (renogy-ble inverters: 1 s). */
  readonly settleAfterConnectMs: number;
  /** A characteristic to read once after settling, before any Modbus (renogy-ble inverters: ffd4). */
  readonly initReadCharacteristic?: string;
  /** The poll interval the community tools default to (renogy-bt and renogy-ha: 60 s). */
  readonly defaultPollIntervalMs: number;
}

/** Device ids to try per topology, in order (§2.3): 0xFF first when stand-alone. */
export interface DeviceIds {
  readonly standalone: readonly number[];
  readonly daisyChain: readonly number[];
  readonly hub: readonly number[];
}

export interface FamilyTable {
  readonly family: ModbusFamily;
  readonly blocks: readonly Block[];
  /** Where the device keeps its own Modbus address (§2.3), read to learn its id. */
  readonly address: NumberField;
  readonly ids: DeviceIds;
  readonly pacing: Pacing;
  /** The load output's write (§4.2): register and the values for on and off. */
  readonly loadSwitch?: { readonly register: number; readonly on: number; readonly off: number };
}

const PACING: Pacing = {
  requestGapMs: 500,
  responseTimeoutMs: 2000,
  settleAfterConnectMs: 0,
  defaultPollIntervalMs: 60_000,
};

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, index) => from + index);

/** Controllers and DC-DC chargers (the notes give no ids of their own for the latter: the controllers' are used). */
const CONTROLLER_IDS: DeviceIds = { standalone: [0xff, 0x11], daisyChain: [0x10, 0x11], hub: [0x60, 0x61] };

export const FAMILY_TABLES: Readonly<Record<ModbusFamily, FamilyTable>> = {
  controller: {
    family: 'controller',
    blocks: CONTROLLER_BLOCKS,
    address: ADDRESS,
    ids: CONTROLLER_IDS,
    pacing: PACING,
    loadSwitch: { register: LOAD_REGISTER, on: 1, off: 0 },
  },
  dc_charger: {
    family: 'dc_charger',
    blocks: DC_CHARGER_BLOCKS,
    address: ADDRESS,
    ids: CONTROLLER_IDS,
    pacing: PACING,
  },
  battery: {
    family: 'battery',
    blocks: BATTERY_BLOCKS,
    address: BATTERY_ADDRESS,
    // Stand-alone: 0xFF, then renogy-ble's legacy default 0x30. Hub: renogy-ble probes 0x30-0x37.
    ids: { standalone: [0xff, 0x30], daisyChain: [0x21, 0x22, 0x23], hub: range(0x30, 0x37) },
    pacing: PACING,
  },
  inverter: {
    family: 'inverter',
    blocks: INVERTER_BLOCKS,
    address: INVERTER_ADDRESS,
    ids: { standalone: [0xff, 0x20], daisyChain: [0x20], hub: [0x20] },
    pacing: {
      ...PACING,
      requestGapMs: 300,
      responseTimeoutMs: 10_000,
      settleAfterConnectMs: 1000,
      initReadCharacteristic: '0000ffd4-0000-1000-8000-00805f9b34fb',
    },
  },
};

export function familyTable(family: string): FamilyTable {
  if (!(MODBUS_FAMILIES as readonly string[]).includes(family)) {
    fail('bad_argument', `"${family}" is not a Renogy Modbus family (${MODBUS_FAMILIES.join(', ')})`);
  }
  return FAMILY_TABLES[family as ModbusFamily];
}

/** The blocks a device of `family` is read with; a DC-DC charger whose model ends in -G6 reads otherwise (§4.3). */
export function blocksFor(family: ModbusFamily, model?: string): readonly Block[] {
  if (family === 'dc_charger' && model !== undefined && /-G6\b/i.test(model)) return DC_CHARGER_G6_BLOCKS;
  return FAMILY_TABLES[family].blocks;
}

/** Every field of a family, whatever layout read it (the union of its variants). */
export function familyFields(family: ModbusFamily): readonly Field[] {
  const fields = FAMILY_TABLES[family].blocks.flatMap((entry) => entry.fields);
  const keys = new Set(fields.map((field) => `${field.key}@${field.register}`));
  const extra = family === 'dc_charger' ? DC_CHARGER_G6_BLOCKS.flatMap((entry) => entry.fields) : [];
  return [...fields, ...extra.filter((field) => !keys.has(`${field.key}@${field.register}`))];
}
