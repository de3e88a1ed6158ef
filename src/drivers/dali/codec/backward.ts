import { checkRange, fail, hexByte } from './errors.js';

// What comes back after a query (IEC 62386-101/102): one 8-bit backward frame, nothing, or a garbled
// frame. The three are different facts and must not be folded together: silence is a NO (or absent
// gear), a garbled frame means several gear answered at once (a collision) or line noise.

export type BackwardResult =
  | { kind: 'answer'; value: number }
  /** Nothing within the answer window: NO to a yes/no query, or no gear at that address. */
  | { kind: 'no_answer' }
  /** A backward frame that could not be decoded: usually several gear answering together. */
  | { kind: 'invalid_answer' };

export const NO_ANSWER: BackwardResult = Object.freeze({ kind: 'no_answer' });
export const INVALID_ANSWER: BackwardResult = Object.freeze({ kind: 'invalid_answer' });

export function answer(value: number): BackwardResult {
  return { kind: 'answer', value: checkRange(value, 0, 255, 'backward frame') };
}

/** YES in a backward frame. Gear answers NO by staying silent. */
export const YES = 0xff;
/** "No value": a scene the gear is not in, a level it does not have, no short address. */
export const MASK = 0xff;

/**
 * The answer to a yes/no query. YES is FF, NO is silence. Several gear answering YES at once collide,
 * so a garbled answer also means "at least one said yes" (commissioning's COMPARE relies on it).
 */
export function isYes(result: BackwardResult): boolean {
  return result.kind !== 'no_answer';
}

/** The byte of an answer; any other result is a DaliError naming what came back and for what. */
export function answerValue(result: BackwardResult, query: string): number {
  if (result.kind === 'answer') return result.value;
  return fail(
    'bad_report',
    result.kind === 'no_answer'
      ? `${query}: no answer`
      : `${query}: invalid answer (several gear answered at once, or noise on the bus)`,
  );
}

export function describeBackward(result: BackwardResult): string {
  switch (result.kind) {
    case 'answer':
      return `answer ${hexByte(result.value)} (${result.value})`;
    case 'no_answer':
      return 'no answer';
    case 'invalid_answer':
      return 'invalid answer (collision)';
  }
}

/** The answer to QUERY STATUS, bit by bit (bit 0 first). */
export interface GearStatus {
  /** Bit 0: the gear itself has failed ("ballast failure" in edition 1). */
  controlGearFailure: boolean;
  /** Bit 1: the lamp is broken or missing. */
  lampFailure: boolean;
  /** Bit 2: the lamp is lit (arc power on). */
  lampOn: boolean;
  /** Bit 3: the last level asked for was outside min-max and was clamped. */
  limitError: boolean;
  /** Bit 4: a fade is in progress. */
  fadeRunning: boolean;
  /** Bit 5: every setting is at its reset value. */
  resetState: boolean;
  /** Bit 6: the gear has no short address (answers only broadcast and group commands). */
  missingShortAddress: boolean;
  /** Bit 7: the gear lost power and has not received a level command since it came back. */
  powerFailure: boolean;
}

const STATUS_BITS: readonly (keyof GearStatus)[] = [
  'controlGearFailure',
  'lampFailure',
  'lampOn',
  'limitError',
  'fadeRunning',
  'resetState',
  'missingShortAddress',
  'powerFailure',
];

export function decodeStatus(byte: number): GearStatus {
  checkRange(byte, 0, 255, 'status byte');
  const status = {} as GearStatus;
  STATUS_BITS.forEach((name, bit) => {
    status[name] = ((byte >> bit) & 1) === 1;
  });
  return status;
}

export function encodeStatus(status: GearStatus): number {
  return STATUS_BITS.reduce((byte, name, bit) => (status[name] ? byte | (1 << bit) : byte), 0);
}

/** The groups (0-15) set in the answers to QUERY GROUPS 0-7 and QUERY GROUPS 8-15. */
export function decodeGroups(groups0to7: number, groups8to15: number): number[] {
  checkRange(groups0to7, 0, 255, 'QUERY GROUPS 0-7 answer');
  checkRange(groups8to15, 0, 255, 'QUERY GROUPS 8-15 answer');
  const mask = groups0to7 | (groups8to15 << 8);
  return Array.from({ length: 16 }, (_, group) => group).filter((group) => ((mask >> group) & 1) === 1);
}
