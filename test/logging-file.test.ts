import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { activeFileTransport } from '../src/logging/core.js';
import {
  closeLogging,
  configureLogging,
  DEFAULT_LOGGING_OPTIONS,
  type FileLogOptions,
  formatJsonLine,
  getLogger,
  type LogEntry,
} from '../src/logging/index.js';

const tempDirs: string[] = [];

function makeTempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fieldbridge-logging-'));
  tempDirs.push(dir);
  return dir;
}

function readJsonLines(file: string): Record<string, unknown>[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Sequence numbers found in the rotated files, oldest file (highest suffix) first. */
function sequencesOldestFirst(dir: string): number[] {
  const suffix = (name: string) => Number(/^fieldbridge(\d*)\.log$/.exec(name)?.[1] || 0);
  const files = fs.readdirSync(dir).sort((a, b) => suffix(b) - suffix(a));
  return files.flatMap((name) => readJsonLines(path.join(dir, name)).map((entry) => Number(entry.sequence)));
}

/**
 * Configures a file log and writes `count` lines the way a running gateway does: one at a time,
 * each handed to the transport before the next. winston rotates asynchronously after the write that
 * reaches maxsize, so when a line crosses it we wait for the transport to open the fresh file.
 */
async function writePaced(file: FileLogOptions, count: number): Promise<void> {
  const written: LogEntry[] = [];
  configureLogging({
    ...DEFAULT_LOGGING_OPTIONS,
    console: false,
    file,
    sink: (entry) => written.push(entry),
  });
  const transport = activeFileTransport();
  if (transport === undefined) throw new Error('file transport missing');
  await once(transport, 'open');

  const maxSizeBytes = Math.round(file.maxSizeMb * 1024 * 1024);
  let bytesInCurrentFile = 0;
  const log = getLogger('device.heat1');
  for (let sequence = 0; sequence < count; sequence += 1) {
    const logged = once(transport, 'logged');
    log.info(`reading ${sequence}`, { sequence, padding: 'x'.repeat(60) });
    await logged;
    const entry = written.at(-1);
    if (entry === undefined) throw new Error('entry missing');
    bytesInCurrentFile += Buffer.byteLength(formatJsonLine(entry)) + 1;
    if (bytesInCurrentFile >= maxSizeBytes) {
      await once(transport, 'open');
      bytesInCurrentFile = 0;
    }
  }
  await closeLogging();
}

afterEach(async () => {
  await closeLogging();
  configureLogging({ ...DEFAULT_LOGGING_OPTIONS, console: false });
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('file transport', () => {
  it('writes redacted JSON lines, creating the missing directory, whatever the console format', async () => {
    const file = path.join(makeTempDir(), 'nested', 'logs', 'fieldbridge.log');
    configureLogging({
      ...DEFAULT_LOGGING_OPTIONS,
      format: 'pretty',
      console: false,
      file: { path: file, maxSizeMb: 1, maxFiles: 2 },
    });
    getLogger('device.heat1').info('connected', { port: '/dev/ttyUSB0', password: 'hunter2' });
    getLogger('mqtt').debug('filtered out by the global info level');
    await closeLogging(); // resolves on winston's 'finish', i.e. once the file stream has flushed

    const lines = readJsonLines(file);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      ns: 'device.heat1',
      msg: 'connected',
      port: '/dev/ttyUSB0',
      password: '***',
    });
    expect(fs.readFileSync(file, 'utf8')).not.toContain('hunter2');
  });

  it('rotates by size without losing lines, newest lines in the live file', async () => {
    const dir = makeTempDir();
    // 0.001 MB ≈ 1 KiB and each line is ~170 bytes: 40 lines make several rotations.
    await writePaced({ path: path.join(dir, 'fieldbridge.log'), maxSizeMb: 0.001, maxFiles: 20 }, 40);

    const files = fs.readdirSync(dir);
    expect(files.length).toBeGreaterThanOrEqual(2);
    expect(files.every((name) => /^fieldbridge\d*\.log$/.test(name))).toBe(true);
    for (const name of files) expect(fs.statSync(path.join(dir, name)).size).toBeLessThan(1_049 + 200);
    expect(sequencesOldestFirst(dir)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('keeps only maxFiles files, dropping the oldest', async () => {
    const dir = makeTempDir();
    await writePaced({ path: path.join(dir, 'fieldbridge.log'), maxSizeMb: 0.001, maxFiles: 3 }, 60);

    expect(fs.readdirSync(dir).sort()).toEqual(['fieldbridge.log', 'fieldbridge1.log', 'fieldbridge2.log']);
    const kept = sequencesOldestFirst(dir);
    expect(kept.at(-1)).toBe(59);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 60 - kept.length + i)); // contiguous
  });

  it('keeps the open file across a reload with the same file settings', () => {
    const file = { path: path.join(makeTempDir(), 'fieldbridge.log'), maxSizeMb: 1, maxFiles: 2 };
    configureLogging({ ...DEFAULT_LOGGING_OPTIONS, console: false, file });
    const first = activeFileTransport();
    configureLogging({ ...DEFAULT_LOGGING_OPTIONS, console: false, level: 'debug', file: { ...file } });
    expect(activeFileTransport()).toBe(first);
    configureLogging({ ...DEFAULT_LOGGING_OPTIONS, console: false, file: { ...file, maxFiles: 3 } });
    expect(activeFileTransport()).not.toBe(first);
    configureLogging({ ...DEFAULT_LOGGING_OPTIONS, console: false });
    expect(activeFileTransport()).toBeUndefined();
  });

  it('rejects invalid file settings and keeps the previous configuration', () => {
    configureLogging({ ...DEFAULT_LOGGING_OPTIONS, console: false, level: 'warn' });
    const bad = { path: path.join(makeTempDir(), 'x.log'), maxSizeMb: 0, maxFiles: 2 };
    expect(() => configureLogging({ ...DEFAULT_LOGGING_OPTIONS, console: false, file: bad })).toThrow(
      /maxSizeMb/,
    );
    expect(getLogger('mqtt').isEnabled('info')).toBe(false);
  });
});
