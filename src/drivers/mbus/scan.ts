import { ADDRESS } from './codec/master.js';
import { describeTarget, type MbusMaster, type MeterTarget } from './master.js';
import { errorText } from '../../errorText.js';

// Bus scans: which meters are on this bus, and how to address each. A primary scan pings every address
// (SND_NKE) and reads the ones that answer; a secondary scan walks the identification number digit by
// digit with wildcard selects, going one digit deeper only where several meters answered at once (a
// collision), so N meters cost about 10 × N × 8 selects at worst instead of 10^8.

export interface FoundMeter {
  /** How the gateway will address it: the secondary address when the scan was secondary. */
  target: MeterTarget;
  secondary: string;
  manufacturer: string;
  medium: string;
  version: number;
}

export interface ScanProgress {
  /** A meter that was found (reported as soon as it is). */
  found?: (meter: FoundMeter) => void;
  /** Something worth a log line: an address that collides, a meter that answered a ping but not a read. */
  problem?: (message: string) => void;
}

/** Reads a meter that answered; undefined (and a problem reported if `report`) when it cannot be read. */
async function identify(
  master: MbusMaster,
  target: MeterTarget,
  signal: AbortSignal,
  progress: ScanProgress,
  options: { alreadySelected?: boolean; report?: boolean } = {},
): Promise<FoundMeter | undefined> {
  try {
    const readout = await master.read(target, signal, options.alreadySelected ?? false);
    const slave = readout.telegrams[0]?.slave;
    return {
      target,
      secondary: readout.secondary,
      manufacturer: slave?.manufacturer ?? '',
      medium: slave?.medium ?? '',
      version: slave?.version ?? 0,
    };
  } catch (error) {
    signal.throwIfAborted();
    if (options.report ?? true) {
      progress.problem?.(`${describeTarget(target)} was found but could not be read: ${errorText(error)}`);
    }
    return undefined;
  }
}

export interface PrimaryRange {
  from: number;
  to: number;
}

/**
 * Runs one step of a scan on the bus. The bus runtime passes one that takes the line for that step
 * only, so polls of the meters it already knows get their turns between steps of a long scan.
 */
export type ScanTurn = <T>(work: () => Promise<T>) => Promise<T>;

const directly: ScanTurn = (work) => work();

export async function scanPrimary(
  master: MbusMaster,
  range: PrimaryRange,
  signal: AbortSignal,
  progress: ScanProgress = {},
  turn: ScanTurn = directly,
): Promise<FoundMeter[]> {
  const found: FoundMeter[] = [];
  const last = Math.min(range.to, ADDRESS.MAX_PRIMARY);
  for (let address = Math.max(0, range.from); address <= last; address++) {
    const meter = await turn(async () => {
      // One probe: an empty address is silence, and silence does not change by asking again. Only a
      // garbled answer gets a second probe, to tell noise (it goes away) from two meters (they do not).
      let answer = await master.ping(address, signal, 1);
      if (answer === 'collision') answer = await master.ping(address, signal, 1);
      if (answer === 'none') return undefined;
      if (answer === 'collision') {
        progress.problem?.(`more than one meter answers at primary address ${address}; use a secondary scan`);
        return undefined;
      }
      return identify(master, { primary: address }, signal, progress);
    });
    if (meter) {
      found.push(meter);
      progress.found?.(meter);
    }
  }
  return found;
}

const DIGITS = '0123456789';
const ID_DIGITS = 8;

export async function scanSecondary(
  master: MbusMaster,
  signal: AbortSignal,
  progress: ScanProgress = {},
  turn: ScanTurn = directly,
): Promise<FoundMeter[]> {
  const found: FoundMeter[] = [];
  // A meter that is still selected from an earlier select would answer for everyone: deselect first.
  await turn(() => master.ping(ADDRESS.NETWORK_LAYER, signal, 1));
  /** Selects the meters whose id starts with `prefix`; whether any answered. */
  const visit = async (prefix: string): Promise<boolean> => {
    const pattern = `${prefix.padEnd(ID_DIGITS, 'F')}FFFFFFFF`;
    // One try: a secondary scan sends hundreds of selects, and a lost E5 here only costs a rescan of
    // that branch later; noise reads as a collision, which just looks one digit deeper.
    // The select and the read of its lone match are one turn: a poll in between would deselect it.
    const { answer, meter } = await turn(async () => {
      const selected = await master.select(pattern, signal, 1);
      if (selected !== 'ack') return { answer: selected, meter: undefined };
      // The meter is selected now: read it at once, without a second select.
      const read = await identify(master, { secondary: pattern }, signal, progress, {
        alreadySelected: true,
        report: prefix.length === ID_DIGITS,
      });
      return { answer: selected, meter: read };
    });
    if (answer === 'none') return false;
    if (answer === 'ack') {
      if (meter) {
        // Address it by its full secondary address from now on, not by the pattern that found it.
        const resolved = { ...meter, target: { secondary: meter.secondary } };
        found.push(resolved);
        progress.found?.(resolved);
        return true;
      }
      // A lone E5 whose meter cannot be read is two meters whose E5s merged, or an answer cut short:
      // a collision either way. Looking one digit deeper finds them; giving the prefix up loses them.
      if (prefix.length === ID_DIGITS) return true;
      await descend(prefix, false);
      return true;
    }
    if (prefix.length === ID_DIGITS) {
      progress.problem?.(
        `several meters share the identification number ${prefix}; they cannot be told apart`,
      );
      return true;
    }
    await descend(prefix, true);
    return true;
  };
  /** Tries every next digit under a prefix that collided (`several`: more than one meter answered). */
  const descend = async (prefix: string, several: boolean): Promise<void> => {
    let heard = false;
    for (const digit of DIGITS) {
      const child = prefix + digit;
      // Several meters answered and none of the digits 0-8 has one: they all sit under 9, so its
      // select can only collide. Skip it and go straight one digit deeper.
      if (digit === '9' && several && !heard && child.length < ID_DIGITS) await descend(child, true);
      else if (await visit(child)) heard = true;
    }
  };
  await visit('');
  return found;
}
