import { describe, expect, it } from 'vitest';
import type { OutboxMessage, Persistence } from '../src/persistence/index.js';
import { event, persistenceFixture, reading, state } from './helpers/persistenceFiles.js';

// What the Outbox keeps in memory for speed (its running totals, the newest messages, acknowledged
// ranges not deleted yet), and the sequence numbers handed out in a transaction, must never say
// anything else than the database: checked here against a second connection to the same file, which
// knows nothing but SQLite.

const { dbPath, open } = persistenceFixture();

const NOW = 1_000;
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Every queued message and the totals, as a fresh connection reads them from the file. */
function fromDisk(path: string) {
  const fresh = open({ path, now: () => NOW });
  const result = { messages: fresh.outbox.peek(100_000), stats: fresh.outbox.stats() };
  fresh.close();
  return result;
}

/** The whole queue as peeked in pages of `page`, the way the drainer reads it. */
function pagedPeek(persistence: Persistence, page: number): OutboxMessage[] {
  const all: OutboxMessage[] = [];
  for (let after = 0; ;) {
    const next = persistence.outbox.peek(page, after);
    if (next.length === 0) return all;
    all.push(...next);
    after = next.at(-1)?.id ?? after;
  }
}

describe('the outbox in memory agrees with the database', () => {
  it('after enqueues, coalesced states, acks by id and by range, across a reopen', async () => {
    const path = dbPath();
    const persistence = open({ path, now: () => NOW });
    const { outbox } = persistence;
    for (let i = 0; i < 30; i += 1) {
      persistence.transaction(() => {
        outbox.enqueue(reading(`fb/d${i % 3}/reading`, `r${i}`));
        outbox.enqueue(state(`fb/d${i % 3}`, `s${i}`));
        if (i % 7 === 0) outbox.enqueue(event('fb/bridge/event', `e${i}`));
      });
    }
    const queued = outbox.peek(1_000);
    expect(outbox.ack(queued[0]?.id ?? -1)).toBe(true);
    // A range over ids 2..10 of what was published: a coalesced state inside it is simply gone already.
    outbox.acknowledge(queued[1]?.id ?? -1, queued[9]?.id ?? -1);
    expect(outbox.stats().depth).toBe(queued.length - 1); // deleted with the next transaction…
    await tick();
    await tick(); // …or at the end of the next turn
    const disk = fromDisk(path);
    expect(outbox.stats()).toEqual(disk.stats);
    expect(disk.stats).toMatchObject({ depth: queued.length - 10, published: 10 });
    expect(outbox.peek(1_000)).toEqual(disk.messages);
    expect(pagedPeek(persistence, 7)).toEqual(disk.messages);
  });

  it('a rolled-back transaction leaves no trace: totals, peeked messages, pending acknowledgements', () => {
    const path = dbPath();
    const persistence = open({ path, now: () => NOW });
    const { outbox } = persistence;
    const first = outbox.enqueue(reading('fb/a', 'kept'));
    outbox.acknowledge(first, first);
    expect(() =>
      persistence.transaction(() => {
        outbox.enqueue(reading('fb/a', 'rolled back'));
        outbox.enqueue(state('fb/a/state', 'rolled back'));
        throw new Error('abort');
      }),
    ).toThrow('abort');
    // The acknowledgement the failed transaction took along is pending again.
    expect(outbox.peek(10).map((message) => message.payload)).toEqual(['kept']);
    outbox.flushAcks();
    expect(outbox.peek(10)).toEqual([]);
    expect(outbox.stats()).toMatchObject({ depth: 0, bytes: 0, published: 1 });
    const next = outbox.enqueue(reading('fb/a', 'next'));
    expect(outbox.peek(10).map((message) => [message.id, message.payload])).toEqual([[next, 'next']]);
    expect(fromDisk(path).messages.map((message) => message.payload)).toEqual(['next']);
  });

  it('a savepoint that rolls back inside a transaction that commits keeps the totals exact', () => {
    const path = dbPath();
    const persistence = open({ path, now: () => NOW });
    const { outbox } = persistence;
    persistence.transaction(() => {
      outbox.enqueue(reading('fb/a', 'before'));
      try {
        persistence.transaction(() => {
          outbox.enqueue(reading('fb/a', 'inner'));
          throw new Error('inner fails');
        });
      } catch {
        // The caller handles it and goes on.
      }
      outbox.enqueue(reading('fb/a', 'after'));
    });
    const disk = fromDisk(path);
    expect(disk.messages.map((message) => message.payload)).toEqual(['before', 'after']);
    expect(outbox.stats()).toEqual(disk.stats);
    expect(disk.stats).toMatchObject({ depth: 2, bytes: 2 * (4 + 6) - 1 });
    expect(outbox.peek(10)).toEqual(disk.messages);
  });

  it('sequence numbers: a savepoint that rolls back gives its own back, the outer transaction keeps its', () => {
    const path = dbPath();
    const persistence = open({ path, now: () => NOW });
    const { sequences } = persistence;
    persistence.transaction(() => {
      expect(sequences.next('heat1')).toBe(1);
      try {
        persistence.transaction(() => {
          expect(sequences.next('heat1')).toBe(2);
          throw new Error('inner fails');
        });
      } catch {
        // The caller handles it and goes on.
      }
      expect(sequences.next('heat1')).toBe(2);
    });
    expect(sequences.last('heat1')).toBe(2);
    const fresh = open({ path, now: () => NOW });
    expect(fresh.sequences.last('heat1')).toBe(2);
    expect(fresh.sequences.next('heat1')).toBe(3);
  });

  it('pages through a queue longer than it keeps in memory, then through what comes after', () => {
    const path = dbPath();
    const persistence = open({ path, now: () => NOW });
    const { outbox } = persistence;
    persistence.transaction(() => {
      for (let i = 0; i < 10_000; i += 1) outbox.enqueue(reading(`fb/d${i % 10}/reading`, `r${i}`));
    });
    const head = outbox.peek(100);
    outbox.acknowledge(head[0]?.id ?? -1, head.at(-1)?.id ?? -1);
    outbox.flushAcks();
    for (let i = 0; i < 50; i += 1) outbox.enqueue(state(`fb/d${i % 10}`, `s${i}`));
    const all = pagedPeek(persistence, 100);
    expect(all).toEqual(fromDisk(path).messages);
    expect(all).toHaveLength(9_900 + 10);
    expect(all.at(-1)?.payload).toBe('s49');
  });

  it('after the oldest readings were dropped for room, peeks what is really left', () => {
    const path = dbPath();
    const persistence = open({ path, maxMessages: 5, now: () => NOW });
    const { outbox } = persistence;
    for (let i = 0; i < 8; i += 1) outbox.enqueue(reading('fb/a', `r${i}`));
    outbox.enqueue(event('fb/e', 'e'));
    expect(outbox.peek(10).map((message) => message.payload)).toEqual(['r4', 'r5', 'r6', 'r7', 'e']);
    expect(outbox.peek(10)).toEqual(fromDisk(path).messages);
    expect(outbox.stats()).toMatchObject({ depth: 5, dropped: 4 });
  });
});
