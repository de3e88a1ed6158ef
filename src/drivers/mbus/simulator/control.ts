import type { Faults } from './faults.js';

// The run-time control language of `fieldbridge simulate mbus`: one command per line on stdin, so a
// person (or a test script piping into the simulator) can pull the plug or make the line noisy mid-run.

export type ControlCommand =
  | { kind: 'unplug' }
  | { kind: 'replug' }
  | { kind: 'halfopen' }
  | { kind: 'faults'; update: Partial<Faults> }
  | { kind: 'meter'; meter: string; alive: boolean }
  | { kind: 'status' }
  | { kind: 'help' };

export const CONTROL_HELP = `Commands (one per line):
  unplug               close the pty (socat stops, the link disappears); TCP: converter off
  replug               create the pty again at the same path (TCP: the converter is back)
  halfopen             TCP: forget the client without closing its connection (half-open)
  noanswer RATE        lose this share of replies (0-1)
  corrupt RATE         send this share of replies with a bad checksum (0-1)
  slow MS              delay every reply by MS more milliseconds
  meter ADDR|ID dead   the meter stops answering (ADDR: primary address, ID: 8 digits)
  meter ADDR|ID alive  the meter answers again
  status               faults and meters
  help                 this list`;

export class ControlError extends Error {
  override readonly name = 'ControlError';
}

function parseNumber(text: string | undefined, what: string, min: number, max: number): number {
  const value = text === undefined ? Number.NaN : Number(text);
  if (text === undefined || text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    const got = text === undefined ? 'nothing' : `"${text}"`;
    throw new ControlError(`${what} must be a number from ${min} to ${max}, got ${got}`);
  }
  return value;
}

function expectArguments(words: readonly string[], count: number, usage: string): void {
  if (words.length !== count + 1) throw new ControlError(`usage: ${usage}`);
}

/** Parses one line; undefined for a blank line or a comment, ControlError with the problem otherwise. */
export function parseControlCommand(line: string): ControlCommand | undefined {
  const words = line
    .trim()
    .split(/\s+/)
    .filter((word) => word !== '');
  const [name, first, second] = words;
  if (name === undefined || name.startsWith('#')) return undefined;
  switch (name.toLowerCase()) {
    case 'unplug':
    case 'replug':
    case 'halfopen':
    case 'status':
    case 'help':
      expectArguments(words, 0, name);
      return { kind: name.toLowerCase() as 'unplug' | 'replug' | 'halfopen' | 'status' | 'help' };
    case 'noanswer':
      expectArguments(words, 1, 'noanswer RATE');
      return { kind: 'faults', update: { noAnswer: parseNumber(first, 'noanswer rate', 0, 1) } };
    case 'corrupt':
      expectArguments(words, 1, 'corrupt RATE');
      return { kind: 'faults', update: { corrupt: parseNumber(first, 'corrupt rate', 0, 1) } };
    case 'slow':
      expectArguments(words, 1, 'slow MS');
      return { kind: 'faults', update: { slowMs: parseNumber(first, 'slow delay (ms)', 0, 60_000) } };
    case 'meter': {
      expectArguments(words, 2, 'meter ADDR|ID dead|alive');
      const state = second?.toLowerCase();
      if (state !== 'dead' && state !== 'alive') {
        throw new ControlError(`meter: expected "dead" or "alive", got "${second ?? ''}"`);
      }
      return { kind: 'meter', meter: first ?? '', alive: state === 'alive' };
    }
    default:
      throw new ControlError(`unknown command "${name}" (try "help")`);
  }
}
