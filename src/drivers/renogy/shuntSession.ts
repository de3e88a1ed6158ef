import type { GatewayClock } from '../../machines/clock.js';
import {
  decodeShuntFrame,
  SHUNT_FRAME_WAIT_MS,
  SHUNT_NOTIFY_CHARACTERISTIC,
  ShuntAssembler,
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

export async function readShuntFrame(
  link: GattLink,
  clock: GatewayClock,
  signal: AbortSignal,
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
  let frame: Buffer | undefined;
  let settle: (() => void) | undefined;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  const stopNotifications = link.onNotification(({ pair, value }) => {
    const assembler = assemblers.get(pair.service);
    if (assembler === undefined || frame !== undefined) return;
    received += value.length;
    frame = assembler.push(value)[0];
    if (frame !== undefined) settle?.();
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
  if (frame !== undefined) return { family: 'shunt', ...decodeShuntFrame(frame) };
  if (signal.aborted) throw abortReason(signal);
  if (link.closed) throw RenogyFailure.of(link.endedBy ?? new Error('the link dropped'));
  throw new RenogyFailure(
    'no_live_frame',
    `no live frame within ${SHUNT_FRAME_WAIT_MS} ms of subscribing (${received === 0 ? 'nothing' : `${received} bytes of history or noise`} received)`,
  );
}
