import type { GatewayClock } from '../../machines/clock.js';
import {
  judgeShuntFrame,
  SHUNT_FRAME_WAIT_MS,
  SHUNT_NOTIFY_CHARACTERISTIC,
  ShuntAssembler,
  type ShuntImplausibility,
} from './codec/index.js';
import type { GattLink } from './bluez.js';
import { RenogyFailure } from './failures.js';
import { abortReason } from './modbusLink.js';
import type { Reading } from './reader.js';

// One reading of a Smart Shunt 300 on a link (notes §4.6): it answers no Modbus, so nothing is ever
// written; it streams frames on c411 unasked. The session subscribes, takes the first live frame (a
// history frame or a 61 D2 prefix is skipped by the assembler) and ends: one reading per poll, the
// shunt let go in between like every Renogy device. The notes do not say which service holds c411, so
// it is looked up by characteristic alone, under whatever service the shunt puts it (every one that
// notifies is subscribed, each with its own assembler: two streams are never mixed).
//
// A shunt frame has no checksum, so a live frame is believed only when its values are plausible
// (codec/shunt.ts): one that is not is dropped, told to `onImplausible`, and the next one waited for.
// A session that sees only implausible frames fails as `implausible_frame`, never with their values.

/** What a session did with an implausible live frame: dropped it, or withheld some of its values. */
export interface ShuntDrop {
  readonly what: 'frame' | 'values';
  readonly problems: readonly ShuntImplausibility[];
}

/** "current -5925.5 A is outside -500..500 A; voltage …". */
export const problemsText = (problems: readonly ShuntImplausibility[]) =>
  problems.map((problem) => problem.message).join('; ');

export async function readShuntFrame(
  link: GattLink,
  clock: GatewayClock,
  signal: AbortSignal,
  onImplausible: (dropped: ShuntDrop) => void,
): Promise<Reading> {
  const pairs = link.pairsWithCharacteristic(SHUNT_NOTIFY_CHARACTERISTIC, 'notify');
  if (pairs.length === 0) {
    throw new RenogyFailure(
      'missing_characteristics',
      `${link.devicePath} has no notifying ${SHUNT_NOTIFY_CHARACTERISTIC} under any service`,
    );
  }
  const assemblers = new Map(pairs.map((pair) => [pair.service, new ShuntAssembler()]));
  let received = 0;
  let reading: Record<string, number> | undefined;
  let dropped = 0;
  let lastDropped: readonly ShuntImplausibility[] | undefined;
  let settle: (() => void) | undefined;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  const stopNotifications = link.onNotification(({ pair, value }) => {
    const assembler = assemblers.get(pair.service);
    if (assembler === undefined || reading !== undefined) return;
    received += value.length;
    for (const frame of assembler.push(value)) {
      const judged = judgeShuntFrame(frame);
      if (judged.kind === 'reading') {
        if (judged.withheld.length > 0) onImplausible({ what: 'values', problems: judged.withheld });
        reading = judged.values;
        settle?.();
        return;
      }
      dropped += 1;
      lastDropped = judged.problems;
      onImplausible({ what: 'frame', problems: judged.problems });
    }
  });
  const stopLost = link.onLost(() => settle?.());
  const onAbort = () => settle?.();
  signal.addEventListener('abort', onAbort, { once: true });
  const timer = clock.setTimeout(() => settle?.(), SHUNT_FRAME_WAIT_MS);
  try {
    for (const pair of pairs) await link.startNotify(pair, signal);
    await settled;
  } finally {
    clock.clearTimeout(timer);
    stopNotifications();
    stopLost();
    signal.removeEventListener('abort', onAbort);
  }
  if (reading !== undefined) return { family: 'shunt', ...reading };
  if (signal.aborted) throw abortReason(signal);
  if (link.closed) throw RenogyFailure.of(link.endedBy ?? new Error('the link dropped'));
  if (lastDropped !== undefined) {
    throw new RenogyFailure(
      'implausible_frame',
      `${dropped} live frame${dropped === 1 ? '' : 's'} within ${SHUNT_FRAME_WAIT_MS} ms of subscribing, none plausible (the last: ${problemsText(lastDropped)})`,
    );
  }
  throw new RenogyFailure(
    'no_live_frame',
    `no live frame within ${SHUNT_FRAME_WAIT_MS} ms of subscribing (${received === 0 ? 'nothing' : `${received} bytes of history or noise`} received)`,
  );
}
