import { MASK, YES } from '../codec/backward.js';
import type { SpecialCommandName } from '../codec/commands.js';
import { hexByte } from '../codec/errors.js';
import type { SimEvent } from './events.js';
import { describeGear, type GearState } from './gear.js';

// The special commands (IEC 62386-102 11.x): data transfer registers, and commissioning — INITIALISE
// opens a 15-minute window in which gear with a random address can be found by binary search (COMPARE)
// and given a short address (PROGRAM SHORT ADDRESS). Every gear with power hears them; the answers come
// back as a list, and the bus turns several into a collision.

/** How long INITIALISE keeps gear in the initialisation state. */
export const INITIALISE_WINDOW_MS = 15 * 60_000;

/** One gear's backward frame. */
export interface GearAnswer {
  index: number;
  value: number;
}

export interface SpecialContext {
  nowMs: number;
  random: () => number;
  events: SimEvent[];
}

function initialising(gear: GearState, nowMs: number): boolean {
  return gear.initialisedUntil > nowMs;
}

/** The gear INITIALISE's data selects: 00 all, FF those without a short address, 0AAAAAA1 one address. */
function selectedByInitialise(gear: GearState, data: number): boolean {
  if (data === 0x00) return true;
  if (data === 0xff) return gear.shortAddress === undefined;
  if ((data & 0x81) === 0x01) return gear.shortAddress === data >> 1;
  return false;
}

function setSearchByte(gear: GearState, shift: number, data: number): void {
  gear.searchAddress = (gear.searchAddress & ~(0xff << shift) & 0xffffff) | (data << shift);
}

/**
 * Applies a special command to every powered gear; returns the answers of the gear that answered.
 * INITIALISE and RANDOMISE must only reach here after their second copy.
 */
export function executeSpecial(
  gear: readonly GearState[],
  name: SpecialCommandName,
  data: number,
  context: SpecialContext,
): GearAnswer[] {
  const { nowMs, events } = context;
  const listening = gear.filter((one) => one.powered);
  const inInit = listening.filter((one) => initialising(one, nowMs));
  const selected = inInit.filter((one) => !one.withdrawn && one.randomAddress === one.searchAddress);
  const answers: GearAnswer[] = [];
  switch (name) {
    case 'DTR0':
      for (const one of listening) one.dtr0 = data;
      break;
    case 'DTR1':
      for (const one of listening) one.dtr1 = data;
      break;
    case 'DTR2':
      for (const one of listening) one.dtr2 = data;
      break;
    case 'TERMINATE':
      for (const one of inInit) {
        one.initialisedUntil = 0;
        one.withdrawn = false;
      }
      if (inInit.length > 0)
        events.push({ level: 'info', message: `TERMINATE: ${inInit.length} gear leave initialisation` });
      break;
    case 'INITIALISE': {
      const chosen = listening.filter((one) => selectedByInitialise(one, data));
      for (const one of chosen) {
        one.initialisedUntil = nowMs + INITIALISE_WINDOW_MS;
        one.withdrawn = false;
      }
      events.push({
        level: 'info',
        message: `INITIALISE ${hexByte(data)}: ${chosen.length} gear in initialisation`,
      });
      break;
    }
    case 'RANDOMISE':
      for (const one of inInit) {
        one.randomAddress = Math.floor(context.random() * 0x1000000);
        events.push({
          level: 'info',
          message: `${describeGear(one)}: random address ${one.randomAddress.toString(16).toUpperCase().padStart(6, '0')}`,
        });
      }
      break;
    case 'SEARCHADDRH':
      for (const one of inInit) setSearchByte(one, 16, data);
      break;
    case 'SEARCHADDRM':
      for (const one of inInit) setSearchByte(one, 8, data);
      break;
    case 'SEARCHADDRL':
      for (const one of inInit) setSearchByte(one, 0, data);
      break;
    case 'COMPARE':
      for (const one of inInit)
        if (!one.withdrawn && one.randomAddress <= one.searchAddress)
          answers.push({ index: one.index, value: YES });
      break;
    case 'WITHDRAW':
      for (const one of selected) {
        one.withdrawn = true;
        events.push({ level: 'info', message: `${describeGear(one)}: withdrawn from the search` });
      }
      break;
    case 'PROGRAM SHORT ADDRESS':
      for (const one of inInit.filter((g) => g.randomAddress === g.searchAddress)) {
        if (data === MASK) one.shortAddress = undefined;
        else if ((data & 0x81) === 0x01) one.shortAddress = data >> 1;
        else continue;
        events.push({ level: 'info', message: `${describeGear(one)}: short address programmed` });
      }
      break;
    case 'VERIFY SHORT ADDRESS':
      for (const one of inInit)
        if (one.shortAddress === data >> 1 && (data & 0x81) === 0x01)
          answers.push({ index: one.index, value: YES });
      break;
    case 'QUERY SHORT ADDRESS':
      for (const one of selected)
        answers.push({
          index: one.index,
          value: one.shortAddress === undefined ? MASK : (one.shortAddress << 1) | 1,
        });
      break;
    case 'PING':
    case 'ENABLE DEVICE TYPE':
    case 'WRITE MEMORY LOCATION':
    case 'WRITE MEMORY LOCATION - NO REPLY':
      // Memory banks and device-type extensions are not modelled: heard, and nothing changes.
      events.push({ level: 'debug', message: `${name} ${hexByte(data)}: not modelled, ignored` });
      break;
  }
  return answers;
}
