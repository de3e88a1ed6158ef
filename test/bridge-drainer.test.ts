import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OutboxDrainer, type PublishLink } from '../src/bridge/drainer.js';
import { openPersistence, type Persistence } from '../src/persistence/index.js';

/** A link whose PUBACKs the test hands out, so the in-flight window is visible. */
class FakeLink implements PublishLink {
  online = true;
  readonly published: { topic: string; payload: string }[] = [];
  readonly #pending: ((error: Error | null) => void)[] = [];

  publish(topic: string, payload: string, _options: unknown, done: (error: Error | null) => void): void {
    this.published.push({ topic, payload });
    this.#pending.push(done);
  }
  get pending(): number {
    return this.#pending.length;
  }
  ackAll(): void {
    for (const done of this.#pending.splice(0)) done(null);
  }
  /** Answers every waiting publish: PUBACK, or an error (a publish timeout) where `fails` says so. */
  answer(fails: (index: number) => boolean): void {
    this.#pending.splice(0).forEach((done, index) => done(fails(index) ? new Error('timeout') : null));
  }
  drop(): void {
    this.online = false;
    for (const done of this.#pending.splice(0)) done(new Error('connection lost'));
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
async function settle() {
  for (let i = 0; i < 5; i++) await tick();
}

const opened: Persistence[] = [];
afterEach(() => {
  for (const persistence of opened.splice(0)) persistence.close();
});

function setup(window: number) {
  const persistence = openPersistence({
    path: join(mkdtempSync(join(tmpdir(), 'fb-drainer-')), 'db.sqlite'),
  });
  opened.push(persistence);
  const link = new FakeLink();
  const drainer = new OutboxDrainer(persistence.outbox, link, window);
  const enqueue = (n: number, from = 0) => {
    for (let i = from; i < from + n; i++) {
      persistence.outbox.enqueue({
        topic: `t/${i % 3}`,
        payload: String(i),
        qos: 1,
        retain: false,
        kind: 'reading',
      });
    }
    drainer.kick();
  };
  return { persistence, link, drainer, enqueue };
}

describe('outbox drainer', () => {
  it('keeps at most `window` messages in flight and deletes each only after its PUBACK', async () => {
    const { persistence, link, enqueue } = setup(4);
    enqueue(10);
    await settle();
    expect(link.published.map((m) => m.payload)).toEqual(['0', '1', '2', '3']);
    expect(persistence.outbox.stats().depth).toBe(10);
    link.ackAll();
    await settle();
    expect(link.published).toHaveLength(8);
    expect(persistence.outbox.stats().depth).toBe(6);
    link.ackAll();
    await settle();
    link.ackAll();
    await settle();
    expect(link.published.map((m) => m.payload)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(persistence.outbox.stats()).toMatchObject({ depth: 0, published: 10 });
  });

  it('sends the unacknowledged messages again, oldest first, after the link comes back', async () => {
    const { persistence, link, drainer, enqueue } = setup(3);
    enqueue(5);
    await settle();
    link.ackAll(); // 0,1,2 acknowledged
    await settle(); // 3,4 in flight
    link.drop();
    drainer.linkLost();
    enqueue(2, 5); // new messages queue behind the backlog while offline
    await settle();
    expect(link.published.map((m) => m.payload)).toEqual(['0', '1', '2', '3', '4']);
    link.online = true;
    drainer.kick();
    await settle();
    link.ackAll();
    await settle();
    expect(link.published.map((m) => m.payload)).toEqual(['0', '1', '2', '3', '4', '3', '4', '5', '6']);
    link.ackAll();
    await settle();
    expect(persistence.outbox.stats().depth).toBe(0);
  });

  it('never deletes a message whose publish failed with the acknowledged ones around it', async () => {
    const { persistence, link, drainer, enqueue } = setup(5);
    enqueue(5);
    await settle();
    link.answer((index) => index === 2); // no PUBACK for '2' in time; the others were acknowledged
    await settle();
    expect(drainer.inFlight).toBe(0);
    expect(persistence.outbox.peek(10).map((m) => m.payload)).toEqual(['2']);
    expect(persistence.outbox.stats()).toMatchObject({ depth: 1, published: 4 });
    // It goes again once the link is back (the only rewind there is).
    drainer.linkLost();
    drainer.kick();
    await settle();
    expect(link.published.map((m) => m.payload)).toEqual(['0', '1', '2', '3', '4', '2']);
    link.ackAll();
    await settle();
    expect(persistence.outbox.stats()).toMatchObject({ depth: 0, published: 5 });
  });

  it('publishes nothing while the link is down and loses nothing', async () => {
    const { persistence, link, drainer, enqueue } = setup(10);
    link.online = false;
    enqueue(20);
    await settle();
    expect(link.published).toEqual([]);
    expect(persistence.outbox.stats().depth).toBe(20);
    link.online = true;
    drainer.kick();
    for (let i = 0; i < 3; i++) {
      await settle();
      link.ackAll();
    }
    await settle();
    expect(persistence.outbox.stats().depth).toBe(0);
    expect(new Set(link.published.map((m) => m.payload)).size).toBe(20);
  });
});
