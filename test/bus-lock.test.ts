import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { BusLock } from '../src/drivers/shared/busLock.js';

// The lock every bus runtime serialises its conversations with. What matters after a stuck holder: the
// callers that give up while waiting leave at once, never touch the bus later, and leave nothing behind.

/** A holder that keeps the bus until `release` is called. */
function holdBus(lock: BusLock, what = 'read heat'): { release: () => void; done: Promise<void> } {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const done = lock.run(what, undefined, () => held);
  return { release, done };
}

describe('BusLock', () => {
  it('runs callers one at a time, in arrival order', async () => {
    const lock = new BusLock();
    const order: string[] = [];
    const holder = holdBus(lock);
    const runs = ['a', 'b', 'c'].map((name) =>
      lock.run(name, undefined, async () => {
        order.push(`${name} starts`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        order.push(`${name} ends`);
        return name;
      }),
    );
    expect(lock.busyWith).toBe('read heat');
    holder.release();
    await expect(Promise.all(runs)).resolves.toEqual(['a', 'b', 'c']);
    expect(order).toEqual(['a starts', 'a ends', 'b starts', 'b ends', 'c starts', 'c ends']);
    expect(lock.busyWith).toBeUndefined();
  });

  it('rejects a waiter at once with its signal’s reason when it aborts, and never runs it', async () => {
    const lock = new BusLock();
    const holder = holdBus(lock);
    const giveUp = new AbortController();
    let ran = false;
    const waiting = lock.run('connect water', giveUp.signal, () => {
      ran = true;
      return Promise.resolve();
    });
    expect(lock.waiting).toBe(1);
    giveUp.abort(new Error('step timed out after 60000 ms'));
    // Still held: the rejection must not wait for the holder.
    await expect(waiting).rejects.toThrow('step timed out after 60000 ms');
    expect(lock.waiting).toBe(0);
    holder.release();
    await holder.done;
    await lock.run('read heat again', undefined, () => Promise.resolve());
    expect(ran).toBe(false);
  });

  it('names the operation and the holder when the signal gives no Error as its reason', async () => {
    const lock = new BusLock();
    const holder = holdBus(lock, 'scan (secondary)');
    const giveUp = new AbortController();
    const waiting = lock.run('read heat', giveUp.signal, () => Promise.resolve());
    giveUp.abort('gone');
    await expect(waiting).rejects.toThrow(
      'read heat was cancelled while waiting for the bus (held by scan (secondary))',
    );
    holder.release();
  });

  it('runs the waiters behind an aborted one, in order', async () => {
    const lock = new BusLock();
    const holder = holdBus(lock);
    const order: string[] = [];
    const controllers = ['first', 'second', 'third', 'fourth'].map(() => new AbortController());
    const runs = ['first', 'second', 'third', 'fourth'].map((name, index) =>
      lock.run(name, controllers[index]?.signal, () => {
        order.push(name);
        return Promise.resolve(name);
      }),
    );
    controllers[1]?.abort(new Error('second gave up'));
    controllers[2]?.abort(new Error('third gave up'));
    expect(lock.waiting).toBe(2);
    holder.release();
    const outcomes = await Promise.allSettled(runs);
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
    ]);
    expect(order).toEqual(['first', 'fourth']);
  });

  it('rejects an already aborted caller without queueing it, even on a free bus', async () => {
    const lock = new BusLock();
    let ran = false;
    const work = () => {
      ran = true;
      return Promise.resolve();
    };
    await expect(lock.run('read heat', AbortSignal.abort(new Error('too late')), work)).rejects.toThrow(
      'too late',
    );
    const holder = holdBus(lock);
    await expect(lock.run('read water', AbortSignal.abort(new Error('too late')), work)).rejects.toThrow(
      'too late',
    );
    expect(lock.waiting).toBe(0);
    holder.release();
    await holder.done;
    expect(ran).toBe(false);
  });

  it('does not touch the holder when the holder’s signal aborts: its work decides', async () => {
    const lock = new BusLock();
    const holderSignal = new AbortController();
    let release: () => void = () => undefined;
    const holding = lock.run(
      'read heat',
      holderSignal.signal,
      () => new Promise<string>((resolve) => (release = () => resolve('read'))),
    );
    holderSignal.abort(new Error('poll cancelled'));
    const next = lock.run('read water', undefined, () => Promise.resolve('next'));
    expect(lock.busyWith).toBe('read heat');
    release();
    await expect(holding).resolves.toBe('read');
    await expect(next).resolves.toBe('next');
  });

  it('removes its abort listener once a waiter runs or leaves', async () => {
    const lock = new BusLock();
    const holder = holdBus(lock);
    const runs = new AbortController();
    const leaves = new AbortController();
    const ran = lock.run('read heat', runs.signal, () => Promise.resolve());
    const left = lock.run('read water', leaves.signal, () => Promise.resolve());
    expect(getEventListeners(runs.signal, 'abort')).toHaveLength(1);
    expect(getEventListeners(leaves.signal, 'abort')).toHaveLength(1);
    leaves.abort(new Error('gave up'));
    await expect(left).rejects.toThrow('gave up');
    expect(getEventListeners(leaves.signal, 'abort')).toHaveLength(0);
    holder.release();
    await ran;
    expect(getEventListeners(runs.signal, 'abort')).toHaveLength(0);
    // A caller on a free bus starts at once and never listens at all.
    const free = new AbortController();
    await lock.run('read heat', free.signal, () => {
      expect(getEventListeners(free.signal, 'abort')).toHaveLength(0);
      return Promise.resolve();
    });
  });

  it('frees the bus when a holder’s work fails, also synchronously', async () => {
    const lock = new BusLock();
    await expect(
      lock.run('read heat', undefined, () => Promise.reject(new Error('no answer'))),
    ).rejects.toThrow('no answer');
    await expect(
      lock.run('read heat', undefined, () => {
        throw new Error('not open');
      }),
    ).rejects.toThrow('not open');
    await expect(lock.run('read water', undefined, () => Promise.resolve('ok'))).resolves.toBe('ok');
    expect(lock.busyWith).toBeUndefined();
  });
});
