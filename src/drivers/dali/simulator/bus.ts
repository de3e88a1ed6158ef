import { seededRandom } from '../../shared/random.js';
import {
  answer,
  type BackwardResult,
  describeBackward,
  INVALID_ANSWER,
  NO_ANSWER,
} from '../codec/backward.js';
import { fail, formatHex } from '../codec/errors.js';
import {
  type DaliAddress,
  decodeForwardFrame,
  type DecodedForwardFrame,
  describeForwardFrame,
} from '../codec/frames.js';
import type { SimEvent } from './events.js';
import {
  createGear,
  describeGear,
  executeCommand,
  type GearSpec,
  type GearState,
  goToLevel,
  powerDown,
  powerUp,
} from './gear.js';
import { executeSpecial, type GearAnswer } from './special.js';
import { errorText } from '../../../errorText.js';

// A whole DALI bus of control gear as one pure state machine, the DALI counterpart of the M-Bus
// simulator's slave.ts: it takes one forward frame and the time it arrived, and returns what the
// master hears back (one answer, silence, or several answers colliding into an invalid frame). No I/O
// and no clock of its own, so the fake adapter can drive it and tests can call it directly.

export interface DaliBusOptions {
  gear: readonly GearSpec[];
  /** Seed of the random addresses RANDOMISE picks. */
  seed?: number;
}

export interface DaliBusResult {
  /** What the master reads in the answer window. Commands (not queries) always give no_answer. */
  reply: BackwardResult;
  /** The frame as the gear understood it; undefined when it could not be decoded. */
  frame: DecodedForwardFrame | undefined;
  /** Indexes of the gear that answered (more than one: a collision). */
  answeredBy: number[];
  events: SimEvent[];
}

/** Both copies of a send-twice command must arrive within this time, with nothing in between. */
export const SEND_TWICE_WINDOW_MS = 100;

/** A few lamps on different addresses and groups: what the demo and most tests want. */
export function defaultGear(count = 4): GearSpec[] {
  return Array.from({ length: count }, (_, index) => ({
    shortAddress: index,
    groups: [index % 2],
    level: 0,
  }));
}

export class DaliBus {
  readonly gear: GearState[];
  readonly #random: () => number;
  /** The first copy of a send-twice command, waiting for its second. */
  #firstCopy: { hex: string; at: number } | undefined;

  constructor(options: DaliBusOptions) {
    this.#random = seededRandom(options.seed ?? 1);
    this.gear = options.gear.map((spec, index) => createGear(spec, index));
    const used = new Map<number, number>();
    for (const gear of this.gear) {
      if (gear.shortAddress === undefined) continue;
      const other = used.get(gear.shortAddress);
      // Two gear on one address is a real commissioning fault, but a test that wants it should say so
      // by building it through PROGRAM SHORT ADDRESS; as a starting point it is almost always a typo.
      if (other !== undefined) {
        fail(
          'bad_argument',
          `gear ${other} and gear ${gear.index} both have short address ${gear.shortAddress}`,
        );
      }
      used.set(gear.shortAddress, gear.index);
    }
  }

  /** The gear with this short address (powered or not), if any. */
  find(shortAddress: number): GearState | undefined {
    return this.gear.find((gear) => gear.shortAddress === shortAddress);
  }

  /** Like `find`, but a missing address is an error naming it. */
  gearAt(shortAddress: number): GearState {
    return (
      this.find(shortAddress) ?? fail('bad_argument', `no gear with short address ${shortAddress} on the bus`)
    );
  }

  /** The gear a frame to `address` reaches: gear without power hears nothing. */
  targets(address: DaliAddress): GearState[] {
    const powered = this.gear.filter((gear) => gear.powered);
    switch (address.kind) {
      case 'short':
        return powered.filter((gear) => gear.shortAddress === address.address);
      case 'group':
        return powered.filter((gear) => ((gear.groups >> address.group) & 1) === 1);
      case 'broadcast':
        return powered;
      case 'broadcast_unaddressed':
        return powered.filter((gear) => gear.shortAddress === undefined);
    }
  }

  /** One forward frame from the master, arriving at `nowMs` (clock ms). */
  transmit(bytes: Uint8Array, nowMs: number): DaliBusResult {
    const events: SimEvent[] = [];
    let frame: DecodedForwardFrame;
    try {
      frame = decodeForwardFrame(bytes);
    } catch (error) {
      const reason = errorText(error);
      events.push({
        level: 'info',
        message: `ignored a frame gear cannot read (${reason}): ${formatHex(bytes)}`,
      });
      this.#firstCopy = undefined;
      return { reply: NO_ANSWER, frame: undefined, answeredBy: [], events };
    }
    const described = describeForwardFrame(frame);
    if (!this.#secondCopyArrived(frame, nowMs, described, events)) {
      return { reply: NO_ANSWER, frame, answeredBy: [], events };
    }
    const answers = this.#execute(frame, nowMs, events);
    const reply = this.#combine(answers, events);
    events.push({
      level: 'debug',
      message: `${described}${frame.isQuery ? `: ${describeBackward(reply)}` : ''}`,
    });
    return { reply, frame, answeredBy: answers.map((one) => one.index), events };
  }

  /**
   * Whether the frame may act now. A send-twice command acts on its second copy only; anything else in
   * between, or a gap over 100 ms, makes the next copy a first copy again.
   */
  #secondCopyArrived(
    frame: DecodedForwardFrame,
    nowMs: number,
    described: string,
    events: SimEvent[],
  ): boolean {
    const first = this.#firstCopy;
    this.#firstCopy = undefined;
    if (!frame.sendTwice) return true;
    if (first && first.hex === frame.hex && nowMs - first.at <= SEND_TWICE_WINDOW_MS) return true;
    this.#firstCopy = { hex: frame.hex, at: nowMs };
    events.push({ level: 'debug', message: `${described}: first copy, waiting for the second` });
    return false;
  }

  #execute(frame: DecodedForwardFrame, nowMs: number, events: SimEvent[]): GearAnswer[] {
    switch (frame.kind) {
      case 'reserved':
        events.push({ level: 'debug', message: `${frame.name}: no gear listens` });
        return [];
      case 'special':
        return executeSpecial(this.gear, frame.name, frame.data, { nowMs, random: this.#random, events });
      case 'dapc':
        for (const gear of this.targets(frame.address)) goToLevel(gear, frame.level);
        return [];
      case 'command': {
        const answers: GearAnswer[] = [];
        for (const gear of this.targets(frame.address)) {
          const value = executeCommand(gear, frame.opcode, events);
          if (value !== undefined) answers.push({ index: gear.index, value });
        }
        return answers;
      }
    }
  }

  /** What the master's receiver makes of the answers: one frame, silence, or a collision. */
  #combine(answers: readonly GearAnswer[], events: SimEvent[]): BackwardResult {
    const [only] = answers;
    if (only === undefined) return NO_ANSWER;
    if (answers.length === 1) return answer(only.value);
    // Backward frames are not arbitrated: two gear talking at once garble each other whatever they say.
    const who = answers.map((one) => one.index).join(', ');
    events.push({ level: 'info', message: `collision: ${answers.length} gear answered (gear ${who})` });
    return INVALID_ANSWER;
  }

  /** Mains off for one gear (by short address) or every gear: it goes silent until `restorePower`. */
  cutPower(shortAddress: number | 'all'): SimEvent[] {
    const affected = shortAddress === 'all' ? this.gear : [this.gearAt(shortAddress)];
    for (const gear of affected) powerDown(gear);
    return affected.map((gear) => ({ level: 'info', message: `${describeGear(gear)}: power cut` }));
  }

  /** Mains back: power-on level, power-failure bit set until the next level command. */
  restorePower(shortAddress: number | 'all'): SimEvent[] {
    const affected = shortAddress === 'all' ? this.gear : [this.gearAt(shortAddress)];
    for (const gear of affected) powerUp(gear);
    return affected.map((gear) => ({
      level: 'info',
      message: `${describeGear(gear)}: power back, level ${gear.actualLevel}, power-failure bit set`,
    }));
  }

  setLampFailure(shortAddress: number, failed: boolean): SimEvent[] {
    const gear = this.gearAt(shortAddress);
    gear.lampFailure = failed;
    return [{ level: 'info', message: `${describeGear(gear)}: lamp ${failed ? 'failed' : 'replaced'}` }];
  }

  setControlGearFailure(shortAddress: number, failed: boolean): SimEvent[] {
    const gear = this.gearAt(shortAddress);
    gear.controlGearFailure = failed;
    return [
      { level: 'info', message: `${describeGear(gear)}: control gear ${failed ? 'failed' : 'repaired'}` },
    ];
  }

  /** One line per gear: what a status command or a failing test prints. */
  describe(): string[] {
    return this.gear.map((gear) => {
      const groups = Array.from({ length: 16 }, (_, g) => g).filter((g) => ((gear.groups >> g) & 1) === 1);
      const flags = [
        gear.powered ? '' : 'no power',
        gear.powerFailure ? 'power failure' : '',
        gear.lampFailure ? 'lamp failure' : '',
        gear.controlGearFailure ? 'gear failure' : '',
      ].filter(Boolean);
      return (
        `${describeGear(gear)}: level ${gear.actualLevel} (min ${gear.minLevel}, max ${gear.maxLevel}), ` +
        `groups [${groups.join(', ')}]${flags.length > 0 ? `, ${flags.join(', ')}` : ''}`
      );
    });
  }
}
