import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeFrame } from '../src/drivers/mbus/codec/frames.js';
import { reqUd2 } from '../src/drivers/mbus/codec/master.js';
import { MbusMaster } from '../src/drivers/mbus/master.js';
import type { ByteLink } from '../src/drivers/mbus/serialLink.js';

// A TCP converter at a low baud rate hands over an answer a byte per packet. The master must judge the
// answer's gaps by when bytes came, but need not wake up for every byte: only a whole frame (or bytes
// that can make none) ends a wait at once.

/** A converter that answers every request with `answer`, one byte every `everyMs`. */
function tricklingLink(answer: Buffer, everyMs: number): ByteLink {
  let listener: (chunk: Buffer) => void = () => undefined;
  return {
    path: 'tcp://converter',
    write: () => {
      let index = 0;
      const next = () => {
        listener(answer.subarray(index, index + 1));
        index += 1;
        if (index < answer.length) setTimeout(next, everyMs);
      };
      setTimeout(next, everyMs);
      return Promise.resolve();
    },
    onData: (handler) => (listener = handler),
    onLost: () => undefined,
    discardInput: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

describe('M-Bus master, an answer a byte per packet', () => {
  afterEach(() => vi.restoreAllMocks());

  it('takes the whole frame with a wakeup per gap, not per byte', async () => {
    const answer = encodeFrame({ kind: 'long', c: 0x08, a: 1, ci: 0x72, data: Buffer.alloc(120, 0x2f) });
    const master = new MbusMaster(tricklingLink(answer, 1), 9600, { replyTimeoutMs: 1_000 });
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const reply = await master.transact(reqUd2(1, true), AbortSignal.timeout(10_000));
    expect(reply).toEqual({ kind: 'frame', bytes: answer });
    // The link's own timers: one per byte. The master's: a handful (it waited for 126 bytes).
    const masterTimers = timers.mock.calls.length - answer.length;
    expect(masterTimers).toBeLessThan(answer.length / 4);
  });

  it('still ends an answer cut off mid-frame once the line is quiet for its gap', async () => {
    const whole = encodeFrame({ kind: 'long', c: 0x08, a: 1, ci: 0x72, data: Buffer.alloc(60, 0x2f) });
    const master = new MbusMaster(tricklingLink(whole.subarray(0, 40), 1), 9600, { replyTimeoutMs: 1_000 });
    const began = performance.now();
    const reply = await master.transact(reqUd2(1, true), AbortSignal.timeout(10_000));
    expect(reply).toMatchObject({ kind: 'none', garbled: 'incomplete frame (40 bytes)' });
    // Ended by the in-frame pause (500 ms on TCP) after the last byte, not by the reply timeout or the
    // longest answer a frame can take.
    expect(performance.now() - began).toBeLessThan(900);
  });
});
