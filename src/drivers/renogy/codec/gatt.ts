import type { RenogyFamily } from './families.js';
import type { UncertainScales } from './fields.js';

// The BLE side of the protocol as facts: the GATT services and characteristics (notes §1.2), the
// advertised names (§1.1) and the Renogy app's optional "ACK" writes (§1.4).

/**
 * A characteristic is found by (service, characteristic): Pro batteries expose the same characteristic
 * under two services (§1.2).
 */
export interface GattPair {
  readonly service: string;
  readonly characteristic: string;
}

const uuid16 = (short: string): string => `0000${short}-0000-1000-8000-00805f9b34fb`;

/** Requests are written here, without response (mandatory for RNGRBP batteries). */
export const WRITE_CHARACTERISTIC: GattPair = { service: uuid16('ffd0'), characteristic: uuid16('ffd1') };
/** Answers arrive as notifications here (20 bytes each at the default MTU). */
export const NOTIFY_CHARACTERISTIC: GattPair = { service: uuid16('fff0'), characteristic: uuid16('fff1') };
/** Inverters: read once about 1 s after connecting, before any request (renogy-ble; its service is not stated). */
export const INVERTER_INIT_CHARACTERISTIC = uuid16('ffd4');
/** The Smart Shunt's notifications (its service is not stated); it answers no Modbus. */
export const SHUNT_NOTIFY_CHARACTERISTIC = uuid16('c411');
/** A TI vendor service some BT-2s also expose: NOT the write characteristic (f000ffd1 is not 0000ffd1). */
export const VENDOR_DECOY_SERVICE = 'f000ffd0-0451-4000-b000-000000000000';

/** In the advertisement of a BT-2 (neilsheps; one source, §9.5): service 0xFFD0 and company id 0x7DE0. */
export const ADVERTISED_SERVICE = uuid16('ffd0');
export const BT_MODULE_COMPANY_ID = 0x7de0;
/** Battery Pro advertises this manufacturer id (renogy-ble). */
export const BATTERY_PRO_COMPANY_ID = 0xe14c;

/** What an advertised name says about the device behind it. */
export interface FamilyGuess {
  readonly family: RenogyFamily;
  /** Why: the prefix matched. */
  readonly prefix: string;
  /** Scales this kind of device is known to use where the sources disagree. */
  readonly scales?: Partial<UncertainScales>;
  /**
   * A BT-1/BT-2 module: the device behind it can be a controller, a DC-DC charger or a battery, so the
   * family is a guess (controller, unless the name says battery) that config must be able to override.
   */
  readonly module: boolean;
}

/**
 * The family an advertised name suggests, or undefined when it is not a Renogy name (§1.1). Names match
 * by prefix, case-sensitively, as renogy-bt's ALIAS_PREFIXES do.
 */
export function guessFamily(name: string): FamilyGuess | undefined {
  if (name.startsWith('BT-TH-')) {
    // renogy-ble: legacy batteries on a BT-2 are BT-TH-* names whose suffix contains BATT or BATTERY.
    const battery = /BATT/i.test(name.slice('BT-TH-'.length));
    return { family: battery ? 'battery' : 'controller', prefix: 'BT-TH-', module: true };
  }
  // §4.4: Pro (RNGRBP, and RNGC per renogy-ble) packs report current in 0.1 A.
  if (name.startsWith('RNGRBP'))
    return { family: 'battery', prefix: 'RNGRBP', module: false, scales: { batteryCurrent: 0.1 } };
  if (name.startsWith('RNGC'))
    return { family: 'battery', prefix: 'RNGC', module: false, scales: { batteryCurrent: 0.1 } };
  if (name.startsWith('RNGPRO')) return { family: 'battery', prefix: 'RNGPRO', module: false };
  if (name.startsWith('BTRIC')) return { family: 'inverter', prefix: 'BTRIC', module: false };
  if (name.startsWith('RNGRIU')) return { family: 'inverter', prefix: 'RNGRIU', module: false };
  if (name.startsWith('RTMShunt')) return { family: 'shunt', prefix: 'RTMShunt', module: false };
  return undefined;
}

/**
 * The Renogy app's ACK (§1.4): a 20-byte ASCII write of "main recv data[xx] [" (or Olen's "main recv
 * da ta[xx] [") after each notification. Not needed (the BT-2 answers without it), so fieldbridge never
 * sends it; a simulator must ignore it, as it ignores every write to ffd1 that is not a valid request.
 */
export function isAppAck(bytes: Uint8Array): boolean {
  return /^main recv da ?ta\[[0-9a-f]{2}\] \[/.test(Buffer.from(bytes).toString('latin1'));
}

/** The ACK the app would send for a notification starting with `firstByte` (for simulator tests). */
export function appAck(firstByte: number): Buffer {
  return Buffer.from(`main recv data[${firstByte.toString(16).padStart(2, '0')}] [`, 'latin1');
}
