import { wireTimeMs } from '../codec/frames.js';
import { wiredAnd } from './faults.js';
import type { BusAnswer } from './slave.js';

// Several meters answering one request, each at its own moment: what reaches the master is decided on
// the wire. Answers that do not overlap arrive one after another (E5 E5 E5 after a wildcard select);
// overlapping ones merge bit by bit into what the master's UART reads.

/**
 * What the master's UART reads when several meters answer, each at its own time: answers that do not
 * overlap arrive one after another; overlapping ones merge bit by bit (wired AND) into one.
 */
export function onTheLine(sent: readonly BusAnswer[], baud: number, fast: boolean): BusAnswer[] {
  const bitMs = 1000 / baud;
  // Nominal wire times even when fast: whether two answers overlap is physics, not delivery speed.
  const ends = (answer: BusAnswer) => answer.delayMs + wireTimeMs(answer.bytes.length, baud);
  const ordered = [...sent].sort((a, b) => a.delayMs - b.delayMs);
  const groups: BusAnswer[][] = [];
  let groupEnd = -Infinity;
  for (const answer of ordered) {
    const current = groups.at(-1);
    if (current !== undefined && answer.delayMs < groupEnd) {
      current.push(answer);
      groupEnd = Math.max(groupEnd, ends(answer));
    } else {
      groups.push([answer]);
      groupEnd = ends(answer);
    }
  }
  return groups.flatMap((group) => {
    const [first] = group;
    if (first === undefined || group.length === 1) return group;
    const bytes = wiredAnd(
      group.map((answer) => ({
        bytes: answer.bytes,
        offsetBits: (answer.delayMs - first.delayMs) / bitMs,
      })),
    );
    return [{ bytes, delayMs: first.delayMs, wireMs: fast ? 0 : wireTimeMs(bytes.length, baud) }];
  });
}
