import { describe, expect, it } from 'vitest';
import type { OutboxMessage } from '../src/persistence/index.js';
import { OutboxTail } from '../src/persistence/outboxTail.js';

// The outbox's in-memory tail, on its own: what it keeps and when it gives up (then SQLite answers).

const message = (id: number, kind: OutboxMessage['kind'] = 'reading'): OutboxMessage => ({
  id,
  topic: kind === 'state' ? 'fb/dev1' : 'fb/dev1/reading',
  payload: String(id),
  qos: 1,
  retain: kind === 'state',
  kind,
  enqueuedAt: 0,
});

describe('OutboxTail', () => {
  it('keeps following a steady flow whose oldest message is a coalesced state', () => {
    // Each round: a reading and the device's state; the next round's state replaces this one before
    // it is published, and the drainer acknowledges the reading. The replaced state sits at the front
    // and no acknowledged range starts at it: the tail must still let it go, or it grows until it
    // gives up and every peek reads SQLite.
    const tail = new OutboxTail();
    let id = 0;
    let previousState: number | undefined;
    for (let round = 0; round < 10_000; round++) {
      const reading = ++id;
      const state = ++id;
      tail.added(message(reading));
      tail.added(message(state, 'state'));
      if (previousState !== undefined) tail.deleted(previousState);
      previousState = state;
      expect(tail.after(reading - 1, 1)?.map((m) => m.id)).toEqual([reading]);
      tail.deletedRange(reading, reading);
    }
    expect(tail.after(id - 2, 10)?.map((m) => m.id)).toEqual([id]);
  });

  it('gives up when more than it keeps pile up, until SQLite says the reader caught up', () => {
    const tail = new OutboxTail();
    for (let id = 1; id <= 5_000; id++) tail.added(message(id));
    expect(tail.after(0, 10)).toBeUndefined();
    tail.added(message(5_001));
    expect(tail.after(5_000, 10)).toBeUndefined();
    tail.resume(5_001);
    tail.added(message(5_002));
    expect(tail.after(5_001, 10)?.map((m) => m.id)).toEqual([5_002]);
  });
});
