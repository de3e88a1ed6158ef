import { isPresent, type LampInfo, type LightTarget, readLampInfo } from './lamps.js';
import type { DaliMaster } from './master.js';

// A DALI bus scan: QUERY CONTROL GEAR PRESENT on every short address (0-63), then what each lamp that
// answered is (levels, groups). Every group some lamp is in is a light too: switching it is one
// frame for all its lamps, which is how DALI installations are meant to be driven.

export interface FoundLight {
  target: LightTarget;
  /** Lamps only. */
  info?: LampInfo;
}

export const DALI_SHORT_ADDRESSES = 64;

export async function scanLights(
  master: DaliMaster,
  signal: AbortSignal,
  progress?: (light: FoundLight) => void,
): Promise<FoundLight[]> {
  const lamps: { target: LightTarget; info: LampInfo }[] = [];
  for (let short = 0; short < DALI_SHORT_ADDRESSES; short++) {
    // An invalid answer counts as present: two lamps with one address collide, and both are there.
    if (!(await isPresent(master, short, signal))) continue;
    const lamp = { target: { short }, info: await readLampInfo(master, short, signal) };
    lamps.push(lamp);
    progress?.(lamp);
  }
  const groups = [...new Set(lamps.flatMap((lamp) => lamp.info.groups))].sort((a, b) => a - b);
  const groupLights = groups.map((group) => ({ target: { group } }));
  for (const light of groupLights) progress?.(light);
  return [...lamps, ...groupLights];
}
