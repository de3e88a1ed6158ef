import type { JsonValue } from '../contract.js';
import {
  answerValue,
  type BackwardResult,
  BROADCAST,
  type DaliAddress,
  dapc,
  decodeGroups,
  decodeStatus,
  dtr0,
  gearCommand,
  groupAddress,
  isYes,
  shortAddress,
  type SimpleGearCommand,
} from './codec/index.js';
import type { DaliMaster } from './master.js';

// What a light does, in DALI frames: switching and dimming (DAPC), confirming the level the lamp
// really has (QUERY ACTUAL LEVEL), reading what a lamp is (levels and groups) and how it is (QUERY
// STATUS). The state published is always what the lamp answered, never what was asked.

/** A lamp, a group, or every lamp on the line. */
export type LightTarget = { short: number } | { group: number } | { broadcast: true };

export function addressOf(target: LightTarget): DaliAddress {
  if ('short' in target) return shortAddress(target.short);
  return 'group' in target ? groupAddress(target.group) : BROADCAST;
}

export function describeLight(target: LightTarget): string {
  if ('short' in target) return `DALI lamp ${target.short}`;
  return 'group' in target ? `DALI group ${target.group}` : 'every DALI lamp (broadcast)';
}

export interface LampInfo {
  minLevel: number;
  maxLevel: number;
  physicalMinimum: number;
  groups: number[];
}

export interface LightCommand {
  state?: 'ON' | 'OFF' | undefined;
  brightness?: number | undefined;
  /** Seconds. */
  transition?: number | undefined;
}

/** DALI fade times (IEC 62386-102), by code: 0 = no fade, then 0.7 s … 90.5 s. */
const FADE_TIMES_S = [0, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.7, 8.0, 11.3, 16.0, 22.6, 32.0, 45.3, 64.0, 90.5];

/** The fade time code closest to `seconds`. */
export function fadeTimeCode(seconds: number): number {
  let best = 0;
  for (let code = 1; code < FADE_TIMES_S.length; code++) {
    if (Math.abs((FADE_TIMES_S[code] ?? 0) - seconds) < Math.abs((FADE_TIMES_S[best] ?? 0) - seconds))
      best = code;
  }
  return best;
}

/** Longest wait for a fade to end before the confirming query (the rest of the fade happens anyway). */
const MAX_FADE_WAIT_MS = 3_000;

function query(master: DaliMaster, address: DaliAddress, name: SimpleGearCommand, signal: AbortSignal) {
  return master.send(gearCommand(address, name), signal);
}

function valueOf(result: BackwardResult, what: string, target: LightTarget): number {
  if (result.kind === 'no_answer') throw new Error(`${describeLight(target)} did not answer ${what}`);
  if (result.kind === 'invalid_answer')
    throw new Error(`garbled answer to ${what} from ${describeLight(target)} (a collision?)`);
  return answerValue(result, what);
}

export async function isPresent(master: DaliMaster, short: number, signal: AbortSignal): Promise<boolean> {
  return isYes(await query(master, shortAddress(short), 'QUERY CONTROL GEAR PRESENT', signal));
}

export async function readLampInfo(
  master: DaliMaster,
  short: number,
  signal: AbortSignal,
): Promise<LampInfo> {
  const target = { short };
  const address = shortAddress(short);
  const read = async (name: SimpleGearCommand) =>
    valueOf(await query(master, address, name, signal), name, target);
  const maxLevel = await read('QUERY MAX LEVEL');
  const minLevel = await read('QUERY MIN LEVEL');
  const physicalMinimum = await read('QUERY PHYSICAL MINIMUM');
  const low = await read('QUERY GROUPS 0-7');
  const high = await read('QUERY GROUPS 8-15');
  return { minLevel, maxLevel, physicalMinimum, groups: decodeGroups(low, high) };
}

/** The level a lamp has now, as HA's light state. */
export async function readLevel(
  master: DaliMaster,
  short: number,
  signal: AbortSignal,
): Promise<{ state: 'ON' | 'OFF'; brightness: number }> {
  const level = valueOf(
    await query(master, shortAddress(short), 'QUERY ACTUAL LEVEL', signal),
    'QUERY ACTUAL LEVEL',
    { short },
  );
  return { state: level > 0 ? 'ON' : 'OFF', brightness: level };
}

/** The lamp's status bits, for the self-test: a power failure means its level must be set again. */
export async function readStatus(
  master: DaliMaster,
  short: number,
  signal: AbortSignal,
): Promise<Record<string, JsonValue>> {
  const byte = valueOf(await query(master, shortAddress(short), 'QUERY STATUS', signal), 'QUERY STATUS', {
    short,
  });
  const status = decodeStatus(byte);
  return {
    power_failure: status.powerFailure,
    lamp_failure: status.lampFailure,
    control_gear_failure: status.controlGearFailure,
  };
}

/**
 * Whether any lamp of a group (or of the line, for a broadcast) has a failed lamp: QUERY LAMP FAILURE to
 * the group address. Each failed lamp answers YES and a healthy one stays silent, so any answer, even a
 * collision of several, means at least one member failed. This is the group's own lamp failure, derived
 * from its lamps, not the first member's status.
 */
export async function anyLampFailure(
  master: DaliMaster,
  target: LightTarget,
  signal: AbortSignal,
): Promise<boolean> {
  return isYes(await query(master, addressOf(target), 'QUERY LAMP FAILURE', signal));
}

/**
 * Sends the frames for a light command. ON without a brightness goes back to the last level the light
 * had (`lastOn`), or full when it never had one; brightness 0 is off.
 */
export async function applyLightCommand(
  master: DaliMaster,
  target: LightTarget,
  command: LightCommand,
  lastOn: number | undefined,
  signal: AbortSignal,
): Promise<void> {
  const address = addressOf(target);
  if (command.transition !== undefined) {
    // DTR0 then SET FADE TIME (a configuration command, sent twice by the adapter).
    await master.send(dtr0(fadeTimeCode(command.transition)), signal);
    await master.send(gearCommand(address, 'SET FADE TIME'), signal);
  }
  if (command.state === 'OFF' || command.brightness === 0) {
    await master.send(command.transition ? dapc(address, 0) : gearCommand(address, 'OFF'), signal);
  } else if (command.brightness !== undefined) {
    await master.send(dapc(address, command.brightness), signal);
  } else if (command.state === 'ON') {
    await master.send(lastOn ? dapc(address, lastOn) : gearCommand(address, 'RECALL MAX LEVEL'), signal);
  }
  if (command.transition) {
    const waitMs = Math.min(MAX_FADE_WAIT_MS, command.transition * 1000);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, waitMs);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new Error('aborted while the light was fading'));
      });
    });
  }
}
