import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { persistenceFixture } from './helpers/persistenceFiles.js';
import { eventually } from './helpers/eventually.js';

const CHILD_SCRIPT = fileURLToPath(new URL('./helpers/persistenceCrashChild.ts', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');

const { dbPath, open } = persistenceFixture();

/** Starts the child; resolves with its last "committed N" once its output matches `until`. */
function startWriter(path: string, batches: number | 'forever', batchSize: number) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', TSX_LOADER, CHILD_SCRIPT, path, String(batches), String(batchSize)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  );

  const lastCommitted = () => Number([...output.matchAll(/committed (\d+)/g)].at(-1)?.[1] ?? 0);
  function waitFor(done: () => boolean, timeoutMs = 15_000): Promise<void> {
    return eventually(done, {
      what: 'the writer',
      timeoutMs,
      detail: () => output,
      abandon: () => (child.exitCode === null ? undefined : `writer stopped (${child.exitCode})`),
    });
  }
  async function kill(): Promise<number> {
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    // Output read before the kill is all there is: the child wrote each line after its commit.
    return lastCommitted();
  }
  return { output: () => output, lastCommitted, waitFor, kill };
}

describe('crash durability (synchronous=normal)', () => {
  it('finds every committed message after the writer is SIGKILLed', async () => {
    const path = dbPath();
    const writer = startWriter(path, 20, 50);
    await writer.waitFor(() => writer.output().includes('done'));
    expect(await writer.kill()).toBe(1_000);
    // The child never closed the database: what it wrote is still in the WAL, not checkpointed.
    expect(existsSync(`${path}-wal`)).toBe(true);

    const persistence = open({ path });
    expect(persistence.recovery).toBeUndefined();
    expect(persistence.outbox.stats().depth).toBe(1_000);
    const messages = persistence.outbox.peek(2_000);
    expect(messages.map((message) => JSON.parse(message.payload).seq)).toEqual(
      Array.from({ length: 1_000 }, (_, i) => i + 1),
    );
    expect(persistence.sequences.next('meter1')).toBe(1_001);
  });

  it('killed in the middle of writing, keeps whole transactions only and the sequence intact', async () => {
    const path = dbPath();
    const batchSize = 200;
    const writer = startWriter(path, 'forever', batchSize);
    await writer.waitFor(() => writer.lastCommitted() >= 4_000);
    const reported = await writer.kill();

    const persistence = open({ path });
    const depth = persistence.outbox.stats().depth;
    // Every reported commit is there; at most the transaction in progress (not reported yet) is extra,
    // and never a part of one.
    expect(depth).toBeGreaterThanOrEqual(reported);
    expect(depth).toBeLessThanOrEqual(reported + batchSize);
    expect(depth % batchSize).toBe(0);
    expect(persistence.sequences.last('meter1')).toBe(depth);
    expect(persistence.history.list('meter1', depth - 1)).toEqual([expect.objectContaining({ seq: depth })]);
  });
});
