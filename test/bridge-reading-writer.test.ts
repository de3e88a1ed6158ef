import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BUSY_BATCH, COMMIT_RETRY_MS, GROUP_COMMIT_MS, ReadingWriter } from '../src/bridge/readingWriter.js';
import { Topics } from '../src/bridge/topics.js';
import { captureLogs, type LogCapture } from '../src/logging/index.js';
import { openPersistence, type Persistence } from '../src/persistence/index.js';

// The ReadingWriter's group commit: nothing is in the outbox (so nothing can be published) before its
// commit; a trickle of readings is committed at the end of each turn, bursts at most every
// GROUP_COMMIT_MS; a failed commit keeps the readings, in order, and tries again.

const dirs: string[] = [];
const opened: Persistence[] = [];
let logs: LogCapture | undefined;
afterEach(() => {
  vi.useRealTimers();
  logs?.stop();
  logs = undefined;
  for (const persistence of opened.splice(0)) persistence.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'fb-readings-'));
  dirs.push(dir);
  const persistence = openPersistence({ path: join(dir, 'db.sqlite') });
  opened.push(persistence);
  const commits: number[] = [];
  const writer = new ReadingWriter(persistence, new Topics('fb'), () =>
    commits.push(persistence.outbox.stats().depth),
  );
  const readings = () =>
    persistence.outbox
      .peek(1_000)
      .filter((message) => message.kind === 'reading')
      .map((message) => JSON.parse(message.payload) as { seq: number; value: number });
  return { persistence, writer, commits, readings };
}

/** Fake timers for what the writer schedules with: setImmediate, setTimeout and performance.now(). */
function fakeTime() {
  vi.useFakeTimers({ toFake: ['setImmediate', 'setTimeout', 'clearTimeout', 'performance'] });
}

describe('ReadingWriter group commit', () => {
  it('commits an idle writer’s reading at the end of the turn, not before', () => {
    fakeTime();
    const { persistence, writer, commits, readings } = setup();
    writer.add('dev1', { value: 1 }, Date.now());
    // Not in SQLite yet, so the drainer has nothing to publish.
    expect(persistence.outbox.stats().depth).toBe(0);
    expect(commits).toEqual([]);
    vi.advanceTimersToNextTimer();
    // The reading and the device's retained state, then the drainer is told.
    expect(commits).toEqual([2]);
    expect(readings()).toEqual([expect.objectContaining({ seq: 1, value: 1 })]);
  });

  it('commits a trickle of readings at the end of each turn: no waiting for a slot', () => {
    fakeTime();
    const { writer, commits } = setup();
    for (let value = 1; value <= 5; value++) {
      writer.add('dev1', { value }, Date.now());
      vi.advanceTimersByTime(0.25);
    }
    expect(commits).toHaveLength(5);
  });

  it(`commits bursts at most once every ${GROUP_COMMIT_MS} ms, with everything that came meanwhile`, () => {
    fakeTime();
    const { writer, commits, readings } = setup();
    let value = 0;
    for (let i = 0; i < BUSY_BATCH; i++) writer.add(`dev${i % 3}`, { value: ++value }, Date.now());
    vi.advanceTimersToNextTimer();
    expect(commits).toHaveLength(1);

    // Readings right after that burst wait for the next slot, over several turns.
    for (let turn = 0; turn < 5; turn++) {
      writer.add(`dev${turn % 2}`, { value: ++value }, Date.now());
      vi.advanceTimersByTime(0.25);
    }
    expect(commits).toHaveLength(1);
    vi.advanceTimersByTime(GROUP_COMMIT_MS);
    expect(commits).toHaveLength(2);
    expect(readings().map((reading) => reading.value)).toEqual(
      Array.from({ length: value }, (_, index) => index + 1),
    );

    // That commit carried fewer than BUSY_BATCH: the next reading goes at the end of its turn again.
    writer.add('dev1', { value: ++value }, Date.now());
    vi.advanceTimersToNextTimer();
    expect(commits).toHaveLength(3);
  });

  it('flush() commits at once, and the commit it was waiting for then finds nothing to do', () => {
    fakeTime();
    const { writer, commits, readings } = setup();
    writer.add('dev1', { value: 1 }, Date.now());
    vi.advanceTimersToNextTimer();
    writer.add('dev1', { value: 2 }, Date.now());
    expect(writer.flush()).toBe(true);
    expect(commits).toHaveLength(2);
    vi.runAllTimers();
    expect(commits).toHaveLength(2);
    expect(readings().map(({ seq }) => seq)).toEqual([1, 2]);
  });

  it('keeps the readings of a failed commit, in order, logs once, and commits them when it works again', () => {
    fakeTime();
    logs = captureLogs({ level: 'info' });
    const { persistence, writer, commits, readings } = setup();
    const commit = vi.spyOn(persistence, 'transactionWithPending');
    commit.mockImplementation(() => {
      throw new Error('database or disk is full');
    });
    writer.add('dev1', { value: 1 }, Date.now());
    writer.add('dev2', { value: 2 }, Date.now());
    vi.advanceTimersToNextTimer();
    expect(commits).toEqual([]);
    expect(persistence.outbox.stats().depth).toBe(0);

    // More readings while it fails: queued behind the first ones; retried, still failing, one line.
    writer.add('dev1', { value: 3 }, Date.now());
    vi.advanceTimersByTime(3 * COMMIT_RETRY_MS);
    const failed = logs.lines().filter((line) => line.includes('saving 2 readings failed'));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toContain('database or disk is full');
    expect(commits).toEqual([]);

    commit.mockRestore();
    vi.advanceTimersByTime(COMMIT_RETRY_MS);
    expect(commits).toHaveLength(1);
    expect(readings()).toEqual([
      expect.objectContaining({ seq: 1, value: 1 }),
      expect.objectContaining({ seq: 1, value: 2 }),
      expect.objectContaining({ seq: 2, value: 3 }),
    ]);
    expect(logs.lines().some((line) => line.includes('saving readings works again'))).toBe(true);
  });
});
