import { encodeStatus, type GearStatus, MASK, YES } from '../codec/backward.js';
import { GEAR_OPCODES as OP, gearOpcodeInfo, INDEXED_GEAR_OPCODES as FAMILY } from '../codec/commands.js';
import { checkRange, hexByte } from '../codec/errors.js';
import type { SimEvent } from './events.js';

// One piece of DALI control gear (an LED driver, IEC 62386-102 + 207), as a plain state record and the
// functions that apply a command to it. Fades are instant (fade time 0 is the default and the only one
// modelled), so "fade running" is never set; UP and DOWN move by the steps a 200 ms fade at the fade
// rate would take.

export interface GearSpec {
  /** 0-63; absent: the gear has no short address yet (commissioning gives it one). */
  shortAddress?: number;
  /** The lowest level the hardware can do. Default 1. */
  physicalMinimum?: number;
  /** Default: the physical minimum. */
  minLevel?: number;
  /** Default 254. */
  maxLevel?: number;
  /** The level after power comes back; MASK (255) = the level before the power went. Default 254. */
  powerOnLevel?: number;
  systemFailureLevel?: number;
  /** The level now. Default 0 (off). */
  level?: number;
  groups?: readonly number[];
  /** Scene number → level. */
  scenes?: Readonly<Record<number, number>>;
  /** 6 = LED (IEC 62386-207). Default 6. */
  deviceType?: number;
  /** 24-bit; default FFFFFF (the reset value, before RANDOMISE). */
  randomAddress?: number;
  lampFailure?: boolean;
  controlGearFailure?: boolean;
  /** Start with the power-failure bit set, as gear does right after mains comes on. Default false. */
  powerFailure?: boolean;
}

export interface GearState {
  /** Position on the bus (0-based): stable, whatever the short address. */
  readonly index: number;
  shortAddress: number | undefined;
  readonly physicalMinimum: number;
  readonly deviceType: number;
  actualLevel: number;
  /** The last level above 0, for GO TO LAST ACTIVE LEVEL and power-on at MASK. */
  lastActiveLevel: number;
  minLevel: number;
  maxLevel: number;
  powerOnLevel: number;
  systemFailureLevel: number;
  fadeTime: number;
  fadeRate: number;
  /** Bit n = member of group n. */
  groups: number;
  /** 16 scene levels; MASK = not in that scene. */
  scenes: number[];
  randomAddress: number;
  searchAddress: number;
  /** Until when (clock ms) the gear is in the initialisation state (INITIALISE … TERMINATE). */
  initialisedUntil: number;
  withdrawn: boolean;
  dtr0: number;
  dtr1: number;
  dtr2: number;
  limitError: boolean;
  powerFailure: boolean;
  lampFailure: boolean;
  controlGearFailure: boolean;
  /** Without mains the gear hears nothing and says nothing. */
  powered: boolean;
}

const RESET = { level: 254, fadeTime: 0, fadeRate: 7, address: 0xffffff } as const;

export function createGear(spec: GearSpec, index: number): GearState {
  const physicalMinimum = checkRange(spec.physicalMinimum ?? 1, 1, 254, 'physical minimum');
  const maxLevel = checkRange(spec.maxLevel ?? RESET.level, physicalMinimum, 254, 'max level');
  const level = checkRange(spec.level ?? 0, 0, 254, 'level');
  const scenes = Array<number>(16).fill(MASK);
  for (const [scene, sceneLevel] of Object.entries(spec.scenes ?? {})) {
    scenes[checkRange(Number(scene), 0, 15, 'scene')] = checkRange(
      sceneLevel,
      0,
      255,
      `scene ${scene} level`,
    );
  }
  return {
    index,
    shortAddress:
      spec.shortAddress === undefined ? undefined : checkRange(spec.shortAddress, 0, 63, 'short address'),
    physicalMinimum,
    deviceType: checkRange(spec.deviceType ?? 6, 0, 254, 'device type'),
    actualLevel: level,
    lastActiveLevel: level > 0 ? level : maxLevel,
    minLevel: checkRange(spec.minLevel ?? physicalMinimum, physicalMinimum, maxLevel, 'min level'),
    maxLevel,
    powerOnLevel: checkRange(spec.powerOnLevel ?? RESET.level, 0, 255, 'power on level'),
    systemFailureLevel: checkRange(spec.systemFailureLevel ?? RESET.level, 0, 255, 'system failure level'),
    fadeTime: RESET.fadeTime,
    fadeRate: RESET.fadeRate,
    groups: (spec.groups ?? []).reduce((mask, group) => mask | (1 << checkRange(group, 0, 15, 'group')), 0),
    scenes,
    randomAddress: checkRange(spec.randomAddress ?? RESET.address, 0, 0xffffff, 'random address'),
    searchAddress: RESET.address,
    initialisedUntil: 0,
    withdrawn: false,
    dtr0: 0,
    dtr1: 0,
    dtr2: 0,
    limitError: false,
    powerFailure: spec.powerFailure ?? false,
    lampFailure: spec.lampFailure ?? false,
    controlGearFailure: spec.controlGearFailure ?? false,
    powered: true,
  };
}

export function describeGear(gear: GearState): string {
  const address = gear.shortAddress === undefined ? 'no short address' : `short ${gear.shortAddress}`;
  return `gear ${gear.index} (${address})`;
}

/**
 * Every setting at its reset value. Only the settings are compared, not the level or the random address
 * (the standard's list includes them; leaving them out keeps a lamp that was merely switched in reset
 * state, which is what a test of RESET wants to see).
 */
export function isResetState(gear: GearState): boolean {
  return (
    gear.powerOnLevel === RESET.level &&
    gear.systemFailureLevel === RESET.level &&
    gear.minLevel === gear.physicalMinimum &&
    gear.maxLevel === RESET.level &&
    gear.fadeTime === RESET.fadeTime &&
    gear.fadeRate === RESET.fadeRate &&
    gear.groups === 0 &&
    gear.scenes.every((level) => level === MASK)
  );
}

export function gearStatus(gear: GearState): GearStatus {
  return {
    controlGearFailure: gear.controlGearFailure,
    lampFailure: gear.lampFailure,
    lampOn: gear.actualLevel > 0 && !gear.lampFailure,
    limitError: gear.limitError,
    fadeRunning: false,
    resetState: isResetState(gear),
    missingShortAddress: gear.shortAddress === undefined,
    powerFailure: gear.powerFailure,
  };
}

/** Goes to `level` as DAPC does: 0 off, MASK no change, otherwise clamped to min-max (limit error). */
export function goToLevel(gear: GearState, level: number): void {
  gear.powerFailure = false;
  if (level === MASK) return;
  if (level === 0) {
    gear.actualLevel = 0;
    gear.limitError = false;
    return;
  }
  const clamped = Math.min(gear.maxLevel, Math.max(gear.minLevel, level));
  gear.limitError = clamped !== level;
  gear.actualLevel = clamped;
  gear.lastActiveLevel = clamped;
}

/** Mains off: the gear goes dark and deaf. */
export function powerDown(gear: GearState): void {
  gear.powered = false;
  gear.initialisedUntil = 0;
}

/** Mains back: the power-on level (MASK = the level before), and the power-failure bit set. */
export function powerUp(gear: GearState): void {
  gear.powered = true;
  // actualLevel still holds the level from before the power went.
  goToLevel(gear, gear.powerOnLevel === MASK ? gear.actualLevel : gear.powerOnLevel);
  gear.powerFailure = true;
}

/** Steps of a 200 ms fade at `fadeRate` (rate n = 506 / √2ⁿ steps per second). */
function upDownSteps(fadeRate: number): number {
  return Math.max(1, Math.round((506 / Math.SQRT2 ** fadeRate) * 0.2));
}

function resetGear(gear: GearState): void {
  gear.powerOnLevel = RESET.level;
  gear.systemFailureLevel = RESET.level;
  gear.minLevel = gear.physicalMinimum;
  gear.maxLevel = RESET.level;
  gear.fadeTime = RESET.fadeTime;
  gear.fadeRate = RESET.fadeRate;
  gear.groups = 0;
  gear.scenes.fill(MASK);
  gear.randomAddress = RESET.address;
  gear.searchAddress = RESET.address;
  gear.actualLevel = RESET.level;
  gear.lastActiveLevel = RESET.level;
  gear.limitError = false;
  gear.powerFailure = false;
}

const yes = (condition: boolean): number | undefined => (condition ? YES : undefined);

/** The answer to a query opcode, or undefined for silence (NO, or a query the gear does not know). */
function query(gear: GearState, opcode: number): number | undefined {
  if (opcode >= FAMILY['QUERY SCENE LEVEL'] && opcode < FAMILY['QUERY SCENE LEVEL'] + 16) {
    return gear.scenes[opcode - FAMILY['QUERY SCENE LEVEL']];
  }
  switch (opcode) {
    case OP['QUERY STATUS']:
      return encodeStatus(gearStatus(gear));
    case OP['QUERY CONTROL GEAR PRESENT']:
      return YES;
    case OP['QUERY LAMP FAILURE']:
      return yes(gear.lampFailure);
    case OP['QUERY LAMP POWER ON']:
      return yes(gear.actualLevel > 0 && !gear.lampFailure);
    case OP['QUERY LIMIT ERROR']:
      return yes(gear.limitError);
    case OP['QUERY RESET STATE']:
      return yes(isResetState(gear));
    case OP['QUERY MISSING SHORT ADDRESS']:
      return yes(gear.shortAddress === undefined);
    case OP['QUERY VERSION NUMBER']:
      return 0x08; // 2.0: edition 2 of IEC 62386-102, as DALI-2 gear reports it
    case OP['QUERY CONTENT DTR0']:
      return gear.dtr0;
    case OP['QUERY CONTENT DTR1']:
      return gear.dtr1;
    case OP['QUERY CONTENT DTR2']:
      return gear.dtr2;
    case OP['QUERY DEVICE TYPE']:
      return gear.deviceType;
    case OP['QUERY PHYSICAL MINIMUM']:
      return gear.physicalMinimum;
    case OP['QUERY POWER FAILURE']:
      return yes(gear.powerFailure);
    case OP['QUERY CONTROL GEAR FAILURE']:
      return yes(gear.controlGearFailure);
    case OP['QUERY ACTUAL LEVEL']:
      return gear.actualLevel;
    case OP['QUERY MAX LEVEL']:
      return gear.maxLevel;
    case OP['QUERY MIN LEVEL']:
      return gear.minLevel;
    case OP['QUERY POWER ON LEVEL']:
      return gear.powerOnLevel;
    case OP['QUERY SYSTEM FAILURE LEVEL']:
      return gear.systemFailureLevel;
    case OP['QUERY FADE TIME/FADE RATE']:
      return (gear.fadeTime << 4) | gear.fadeRate;
    case OP['QUERY GROUPS 0-7']:
      return gear.groups & 0xff;
    case OP['QUERY GROUPS 8-15']:
      return (gear.groups >> 8) & 0xff;
    case OP['QUERY RANDOM ADDRESS (H)']:
      return (gear.randomAddress >> 16) & 0xff;
    case OP['QUERY RANDOM ADDRESS (M)']:
      return (gear.randomAddress >> 8) & 0xff;
    case OP['QUERY RANDOM ADDRESS (L)']:
      return gear.randomAddress & 0xff;
    default:
      return undefined;
  }
}

/** A level command (everything below 20): they all clear the power-failure bit. */
function levelCommand(gear: GearState, opcode: number): boolean {
  const on = gear.actualLevel > 0;
  const step = upDownSteps(gear.fadeRate);
  if (opcode >= FAMILY['GO TO SCENE'] && opcode < FAMILY['GO TO SCENE'] + 16) {
    const level = gear.scenes[opcode - FAMILY['GO TO SCENE']] ?? MASK;
    goToLevel(gear, level); // a scene the gear is not in (MASK) changes nothing
    return true;
  }
  switch (opcode) {
    case OP.OFF:
      goToLevel(gear, 0);
      return true;
    case OP.UP: // neither UP nor DOWN switches a lamp on or off
      goToLevel(gear, on ? Math.min(gear.maxLevel, gear.actualLevel + step) : MASK);
      return true;
    case OP.DOWN:
      goToLevel(gear, on ? Math.max(gear.minLevel, gear.actualLevel - step) : MASK);
      return true;
    case OP['STEP UP']:
      goToLevel(gear, on ? Math.min(gear.maxLevel, gear.actualLevel + 1) : MASK);
      return true;
    case OP['STEP DOWN']:
      goToLevel(gear, on ? Math.max(gear.minLevel, gear.actualLevel - 1) : MASK);
      return true;
    case OP['RECALL MAX LEVEL']:
      goToLevel(gear, gear.maxLevel);
      return true;
    case OP['RECALL MIN LEVEL']:
      goToLevel(gear, gear.minLevel);
      return true;
    case OP['STEP DOWN AND OFF']:
      goToLevel(gear, !on ? MASK : gear.actualLevel <= gear.minLevel ? 0 : gear.actualLevel - 1);
      return true;
    case OP['ON AND STEP UP']:
      goToLevel(gear, on ? Math.min(gear.maxLevel, gear.actualLevel + 1) : gear.minLevel);
      return true;
    case OP['GO TO LAST ACTIVE LEVEL']:
      goToLevel(gear, gear.lastActiveLevel);
      return true;
    default:
      return false;
  }
}

/** A configuration command (already received twice): settings from DTR0, groups, scenes, RESET. */
function configure(gear: GearState, opcode: number): void {
  const dtr = gear.dtr0;
  const family = (base: number): number | undefined =>
    opcode >= base && opcode < base + 16 ? opcode - base : undefined;
  const scene = family(FAMILY['SET SCENE']);
  if (scene !== undefined) gear.scenes[scene] = dtr;
  const removedScene = family(FAMILY['REMOVE FROM SCENE']);
  if (removedScene !== undefined) gear.scenes[removedScene] = MASK;
  const added = family(FAMILY['ADD TO GROUP']);
  if (added !== undefined) gear.groups |= 1 << added;
  const removed = family(FAMILY['REMOVE FROM GROUP']);
  if (removed !== undefined) gear.groups &= ~(1 << removed);
  switch (opcode) {
    case OP.RESET:
      resetGear(gear);
      break;
    case OP['STORE ACTUAL LEVEL IN DTR0']:
      gear.dtr0 = gear.actualLevel;
      break;
    case OP['SET MAX LEVEL']:
      gear.maxLevel = Math.min(254, Math.max(gear.minLevel, dtr));
      if (gear.actualLevel > gear.maxLevel) gear.actualLevel = gear.maxLevel;
      break;
    case OP['SET MIN LEVEL']:
      gear.minLevel = Math.min(gear.maxLevel, Math.max(gear.physicalMinimum, dtr));
      if (gear.actualLevel > 0 && gear.actualLevel < gear.minLevel) gear.actualLevel = gear.minLevel;
      break;
    case OP['SET SYSTEM FAILURE LEVEL']:
      gear.systemFailureLevel = dtr;
      break;
    case OP['SET POWER ON LEVEL']:
      gear.powerOnLevel = dtr;
      break;
    case OP['SET FADE TIME']:
      gear.fadeTime = Math.min(15, dtr);
      break;
    case OP['SET FADE RATE']:
      gear.fadeRate = Math.min(15, Math.max(1, dtr));
      break;
    case OP['SET SHORT ADDRESS']:
      // DTR0 = MASK deletes the address, 0AAAAAA1 sets it; anything else is ignored.
      if (dtr === MASK) gear.shortAddress = undefined;
      else if ((dtr & 0x81) === 0x01) gear.shortAddress = dtr >> 1;
      break;
  }
}

/**
 * Applies an addressed command (S = 1) to one gear; returns its answer byte, or undefined for silence.
 * Configuration commands must only reach here after their second copy (the bus checks that).
 */
export function executeCommand(gear: GearState, opcode: number, events: SimEvent[]): number | undefined {
  const info = gearOpcodeInfo(opcode);
  if (info.isQuery) return query(gear, opcode);
  if (levelCommand(gear, opcode)) {
    events.push({
      level: 'debug',
      message: `${describeGear(gear)}: ${info.name} → level ${gear.actualLevel}`,
    });
    return undefined;
  }
  if (info.sendTwice) {
    configure(gear, opcode);
    events.push({
      level: 'info',
      message: `${describeGear(gear)}: ${info.name}${info.index === undefined ? '' : ` ${info.index}`} (DTR0 ${gear.dtr0})`,
    });
    return undefined;
  }
  events.push({
    level: 'debug',
    message: `${describeGear(gear)}: ignored ${info.name} (opcode ${hexByte(opcode)})`,
  });
  return undefined;
}
