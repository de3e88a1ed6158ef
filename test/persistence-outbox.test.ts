import { afterEach, describe, expect, it } from 'vitest';
import { captureLogs, type LogCapture } from '../src/logging/index.js';
import { persistenceFixture, event, reading, state } from './helpers/persistenceFiles.js';

const { dbPath, open } = persistenceFixture();

let capture: LogCapture | undefined;
afterEach(() => {
  capture?.stop();
  capture = undefined;
});

const payloads = (messages: { payload: string }[]) => messages.map((message) => message.payload);

describe('Outbox', () => {
  it('is FIFO by id, across topics and kinds, and keeps every field', () => {
    const persistence = open({ path: dbPath(), now: () => 5 });
    const { outbox } = persistence;
    outbox.enqueue(reading('fb/a', 'r1'));
    outbox.enqueue(event('fb/events', 'e1'));
    outbox.enqueue({ topic: 'fb/b', payload: 'r2', qos: 0, retain: false, kind: 'reading' });
    outbox.enqueue(state('fb/a/state', 's1'));
    const messages = outbox.peek(10);
    expect(payloads(messages)).toEqual(['r1', 'e1', 'r2', 's1']);
    expect(messages.map((message) => message.id)).toEqual([1, 2, 3, 4]);
    expect(messages[2]).toEqual({
      id: 3,
      topic: 'fb/b',
      payload: 'r2',
      qos: 0,
      retain: false,
      kind: 'reading',
      enqueuedAt: 5,
    });
    expect(messages[3]).toMatchObject({ retain: true, kind: 'state', qos: 1 });
  });

  it('peek(limit, afterId) pages through the queue for a bounded in-flight window', () => {
    const { outbox } = open({ path: dbPath() });
    for (let i = 1; i <= 7; i += 1) outbox.enqueue(reading('fb/a', `r${i}`));
    const window1 = outbox.peek(3);
    const window2 = outbox.peek(3, window1.at(-1)?.id);
    const window3 = outbox.peek(3, window2.at(-1)?.id);
    expect([payloads(window1), payloads(window2), payloads(window3)]).toEqual([
      ['r1', 'r2', 'r3'],
      ['r4', 'r5', 'r6'],
      ['r7'],
    ]);
    expect(outbox.peek(3, window3.at(-1)?.id)).toEqual([]);
  });

  it('coalesces retained state messages per topic: only the newest unpublished one stays', () => {
    const { outbox } = open({ path: dbPath() });
    outbox.enqueue(state('fb/heat1/state', 's1'));
    outbox.enqueue(state('fb/water1/state', 'w1'));
    outbox.enqueue(reading('fb/heat1/reading', 'r1'));
    const newest = outbox.enqueue(state('fb/heat1/state', 's2'));
    expect(outbox.peek(10).map((message) => [message.topic, message.payload])).toEqual([
      ['fb/water1/state', 'w1'],
      ['fb/heat1/reading', 'r1'],
      ['fb/heat1/state', 's2'],
    ]);
    expect(outbox.peek(10).at(-1)?.id).toBe(newest);
    // Coalescing is not publishing.
    expect(outbox.stats()).toMatchObject({ depth: 3, published: 0, dropped: 0 });
  });

  it('never coalesces readings or events, even with identical topics and payloads', () => {
    const { outbox } = open({ path: dbPath() });
    for (let i = 0; i < 3; i += 1) {
      outbox.enqueue(reading('fb/heat1/reading', 'same'));
      outbox.enqueue(event('fb/heat1/reading', 'same'));
    }
    expect(outbox.stats().depth).toBe(6);
  });

  it('ack deletes and counts as published; acking again (or an unknown id) is a no-op', () => {
    const { outbox } = open({ path: dbPath() });
    const first = outbox.enqueue(reading('fb/a', 'r1'));
    outbox.enqueue(reading('fb/a', 'r2'));
    expect(outbox.ack(first)).toBe(true);
    expect(outbox.ack(first)).toBe(false);
    expect(outbox.ack(12_345)).toBe(false);
    expect(payloads(outbox.peek(10))).toEqual(['r2']);
    expect(outbox.stats()).toMatchObject({ depth: 1, published: 1 });
  });

  it('an in-flight state replaced by a newer one acks as a no-op', () => {
    const { outbox } = open({ path: dbPath() });
    const inFlight = outbox.enqueue(state('fb/a/state', 'old'));
    outbox.enqueue(state('fb/a/state', 'new'));
    expect(outbox.ack(inFlight)).toBe(false);
    expect(payloads(outbox.peek(10))).toEqual(['new']);
  });

  it('never reuses an id, even after the newest message was acknowledged and the file reopened', () => {
    const path = dbPath();
    const first = open({ path });
    const id = first.outbox.enqueue(reading('fb/a', 'r1'));
    first.outbox.ack(id);
    first.close();
    expect(open({ path }).outbox.enqueue(reading('fb/a', 'r2'))).toBe(id + 1);
  });

  it('stats(): depth, UTF-8 bytes, age of the oldest, and persisted counters', () => {
    const path = dbPath();
    let now = 1_000;
    const first = open({ path, now: () => now });
    first.outbox.enqueue(reading('fb/ä', 'ü1')); // 5 + 3 bytes (UTF-8)
    now = 1_500;
    const second = first.outbox.enqueue(reading('fb/a', 'x'));
    first.outbox.enqueue(event('fb/a', 'y'));
    now = 4_000;
    expect(first.outbox.stats()).toEqual({
      depth: 3,
      bytes: 8 + 5 + 5,
      oldestAgeMs: 3_000,
      dropped: 0,
      published: 0,
    });
    first.outbox.ack(1);
    first.outbox.ackMany([second, second]);
    expect(first.outbox.stats()).toEqual({
      depth: 1,
      bytes: 5,
      oldestAgeMs: 2_500,
      dropped: 0,
      published: 2,
    });
    first.close();
    const reopened = open({ path, now: () => now });
    expect(reopened.outbox.stats()).toEqual({
      depth: 1,
      bytes: 5,
      oldestAgeMs: 2_500,
      dropped: 0,
      published: 2,
    });
    reopened.outbox.ack(3);
    expect(reopened.outbox.stats()).toEqual({ depth: 0, bytes: 0, oldestAgeMs: 0, dropped: 0, published: 3 });
  });
});

describe('Outbox limits', () => {
  it('over maxMessages, drops the oldest readings first and keeps states and events', () => {
    const { outbox } = open({ path: dbPath(), maxMessages: 5 });
    outbox.enqueue(reading('fb/a', 'r1'));
    outbox.enqueue(state('fb/a/state', 's1'));
    outbox.enqueue(reading('fb/a', 'r2'));
    outbox.enqueue(event('fb/events', 'e1'));
    outbox.enqueue(reading('fb/a', 'r3'));
    outbox.enqueue(reading('fb/a', 'r4'));
    outbox.enqueue(event('fb/events', 'e2'));
    expect(payloads(outbox.peek(10))).toEqual(['s1', 'e1', 'r3', 'r4', 'e2']);
    expect(outbox.stats()).toMatchObject({ depth: 5, dropped: 2 });
  });

  it('over maxBytes, drops as many of the oldest readings as it takes', () => {
    // Each message is 1 + 10 = 11 bytes; 50 bytes hold 4 of them.
    const { outbox } = open({ path: dbPath(), maxBytes: 50 });
    for (let i = 0; i < 4; i += 1) outbox.enqueue(reading('a', `reading-${i}`.padEnd(10, '.')));
    outbox.enqueue(event('a', 'big-event-'.repeat(3))); // 31 bytes: three readings must go
    expect(payloads(outbox.peek(10))).toEqual(['reading-3.', 'big-event-'.repeat(3)]);
    expect(outbox.stats()).toMatchObject({ depth: 2, bytes: 42, dropped: 3 });
  });

  it('when only states and events remain, drops the oldest of any kind', () => {
    const { outbox } = open({ path: dbPath(), maxMessages: 3 });
    outbox.enqueue(event('fb/e', 'e1'));
    outbox.enqueue(state('fb/s1', 's1'));
    outbox.enqueue(event('fb/e', 'e2'));
    outbox.enqueue(state('fb/s2', 's2'));
    expect(payloads(outbox.peek(10))).toEqual(['s1', 'e2', 's2']);
    expect(outbox.stats().dropped).toBe(1);
  });

  it('takes reloaded limits and synchronous mode at once, on the open database', () => {
    const persistence = open({ path: dbPath(), maxMessages: 10 });
    for (let i = 1; i <= 6; i += 1) persistence.outbox.enqueue(reading('fb/a', `r${i}`));
    persistence.outbox.enqueue(event('fb/events', 'e1'));
    persistence.reconfigure({ synchronous: 'full', retentionDays: 7, maxMessages: 3, maxBytes: 1_000 });
    // Lowered below what it holds: the oldest readings go now, not at the next enqueue.
    expect(payloads(persistence.outbox.peek(10))).toEqual(['r5', 'r6', 'e1']);
    expect(persistence.outbox.stats()).toMatchObject({ depth: 3, dropped: 4 });
    expect(persistence.settings().synchronous).toBe('full');
    persistence.reconfigure({ synchronous: 'normal', retentionDays: 7, maxMessages: 100, maxBytes: 1_000 });
    for (let i = 7; i <= 20; i += 1) persistence.outbox.enqueue(reading('fb/a', `r${i}`));
    expect(persistence.outbox.stats()).toMatchObject({ depth: 17, dropped: 4 });
    expect(persistence.settings().synchronous).toBe('normal');
  });

  it('keeps the dropped count across restarts', () => {
    const path = dbPath();
    const first = open({ path, maxMessages: 2 });
    for (let i = 0; i < 10; i += 1) first.outbox.enqueue(reading('fb/a', `r${i}`));
    first.close();
    const second = open({ path, maxMessages: 2 });
    expect(second.outbox.stats()).toMatchObject({ depth: 2, dropped: 8 });
    expect(payloads(second.outbox.peek(10))).toEqual(['r8', 'r9']);
  });

  it('logs an overflow episode once (not per drop) and its end once', () => {
    capture = captureLogs({ level: 'debug' });
    const { outbox } = open({ path: dbPath(), maxMessages: 10 });
    for (let i = 0; i < 1_000; i += 1) outbox.enqueue(reading('fb/a', `r${i}`));
    const warnings = capture.entries.filter((entry) => entry.level === 'warn');
    expect(warnings.map((entry) => entry.msg)).toEqual([
      'outbox full (limits 10 messages, 268435456 bytes): dropped 1 oldest reading(s), 1 dropped in total',
    ]);
    expect(outbox.stats().dropped).toBe(990);

    // The drainer catches up; the next enqueue finds room and closes the episode.
    outbox.ackMany(outbox.peek(5).map((message) => message.id));
    outbox.enqueue(reading('fb/a', 'after'));
    const infos = capture.entries.filter((entry) => entry.level === 'info' && entry.msg.startsWith('outbox'));
    expect(infos.map((entry) => entry.msg)).toEqual([
      expect.stringMatching(/^outbox has room again after 990 failures/),
    ]);
  });
});
