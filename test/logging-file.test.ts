import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { activeFileTransport } from '../src/logging/core.js';
import {
  closeLogging,
  configureLogging,
  DEFAULT_LOGGING_OPTIONS,
  type FileLogOptions,
  getLogger,
} from '../src/logging/index.js';
import { RotatingFileTransport } from '../src/logging/rotatingFile.js';

const KIB = 1024;
/** maxSizeMb for a limit of `kib` KiB. */
const mb = (kib: number) => kib / 1024;
const MESSAGE = Symbol.for('message');
const RETRY_MS = 10_000; // the transport's default wait before retrying a failed file

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

/** `fieldbridge.log.3`, `.2`, `.1`, then `fieldbridge.log`: oldest first. */
function logFilesOldestFirst(dir: string): string[] {
  const index = (name: string) => Number(/^fieldbridge\.log(?:\.(\d+))?$/.exec(name)?.[1] ?? 0);
  const names = fs.readdirSync(dir);
  expect(names.every((name) => /^fieldbridge\.log(\.[1-9]\d*)?$/.test(name))).toBe(true);
  return names.sort((a, b) => index(b) - index(a));
}

/** The `sequence` of every line in the log files, oldest file first. */
function sequencesOldestFirst(dir: string): unknown[] {
  return logFilesOldestFirst(dir).flatMap((name) =>
    readJsonLines(path.join(dir, name)).map((entry) => entry.sequence),
  );
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** Configures a console-less file log and logs `count` lines back to back, no awaits in between. */
function burst(file: FileLogOptions, from: number, to: number): void {
  configureLogging({ ...DEFAULT_LOGGING_OPTIONS, console: false, file });
  const log = getLogger('device.heat1');
  for (let sequence = from; sequence < to; sequence += 1) {
    log.info(`reading ${sequence}`, { sequence, padding: 'x'.repeat(60) });
  }
}

/** A stream standing in for stdout, collecting lines. */
function consoleCollector() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  return { stream, lines };
}

/** stderr writes from the logging failure reporter (swallowed). */
function spyOnFailureReports(): () => string[] {
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  return () =>
    spy.mock.calls
      .map(([chunk]) => String(chunk))
      .filter((text) => text.startsWith('fieldbridge logging failed'));
}

/**
 * Fakes only Date (timers stay real) and moves it an hour further on than the previous test did, past
 * the reporter's once-a-minute limit; returns a function that moves the clock on further.
 */
let fakeClockHours = 0;
function fakeClock(): (ms: number) => void {
  vi.useFakeTimers({ toFake: ['Date'] });
  fakeClockHours += 1;
  vi.setSystemTime(Date.now() + fakeClockHours * 3_600_000);
  return (ms) => vi.setSystemTime(Date.now() + ms);
}

afterEach(async () => {
  await closeLogging();
  configureLogging({ ...DEFAULT_LOGGING_OPTIONS, console: false });
  vi.useRealTimers();
  vi.restoreAllMocks();
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('file log', () => {
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
    await closeLogging();

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

  it('keeps all of 30,000 lines logged back to back, in order, across many rotations', async () => {
    const dir = makeTempDir();
    burst({ path: path.join(dir, 'fieldbridge.log'), maxSizeMb: mb(64), maxFiles: 1_000 }, 0, 30_000);
    await closeLogging();

    const files = logFilesOldestFirst(dir);
    expect(files.length).toBeGreaterThan(50); // ~150 bytes a line: 4.4 MB in 64 KiB files
    for (const name of files) expect(fs.statSync(path.join(dir, name)).size).toBeLessThanOrEqual(64 * KIB);
    expect(sequencesOldestFirst(dir)).toEqual(range(0, 30_000));
  });

  it.each([
    ['already over', 100 * KIB],
    ['a few bytes short of', 64 * KIB - 20],
  ])(
    'loses nothing when the existing file is %s the limit at start-up and a burst follows',
    async (_, size) => {
      const dir = makeTempDir();
      const file = path.join(dir, 'fieldbridge.log');
      const oldLine = `${JSON.stringify({ sequence: 'old', padding: 'o'.repeat(100) })}\n`;
      const old = oldLine.repeat(Math.ceil(size / oldLine.length)).slice(0, size - 1) + '\n';
      fs.writeFileSync(file, old);

      burst({ path: file, maxSizeMb: mb(64), maxFiles: 100 }, 0, 2_000);
      await closeLogging();

      // The old file was rotated away whole before the first new line, which starts the fresh file.
      expect(fs.readFileSync(`${file}.${logFilesOldestFirst(dir).length - 1}`, 'utf8')).toBe(old);
      const fresh = logFilesOldestFirst(dir).slice(1);
      expect(readJsonLines(path.join(dir, fresh[0] ?? ''))[0]?.sequence).toBe(0);
      expect(fresh.flatMap((name) => readJsonLines(path.join(dir, name)).map((e) => e.sequence))).toEqual(
        range(0, 2_000),
      );
    },
  );

  it('keeps exactly maxFiles files, the newest lines, and prunes leftovers of a larger maxFiles', async () => {
    const dir = makeTempDir();
    const file = path.join(dir, 'fieldbridge.log');
    for (const stale of [3, 4, 9]) fs.writeFileSync(`${file}.${stale}`, '{"sequence":"stale"}\n');

    burst({ path: file, maxSizeMb: mb(4), maxFiles: 3 }, 0, 500); // ~26 lines a file
    await closeLogging();

    expect(fs.readdirSync(dir).sort()).toEqual(['fieldbridge.log', 'fieldbridge.log.1', 'fieldbridge.log.2']);
    const kept = sequencesOldestFirst(dir);
    expect(kept.length).toBeGreaterThan(50);
    expect(kept).toEqual(range(500 - kept.length, 500)); // contiguous, ending with the last line
  });

  it('with maxFiles 1 keeps only the live file, started over when full', async () => {
    const dir = makeTempDir();
    burst({ path: path.join(dir, 'fieldbridge.log'), maxSizeMb: mb(4), maxFiles: 1 }, 0, 100);
    await closeLogging();

    expect(fs.readdirSync(dir)).toEqual(['fieldbridge.log']);
    const kept = sequencesOldestFirst(dir);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept).toEqual(range(100 - kept.length, 100));
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

describe('file log failures', () => {
  it('an unwritable log directory: console keeps working, one stderr report, no throw, then catches up', async () => {
    const advance = fakeClock();
    const reports = spyOnFailureReports();
    const dir = makeTempDir();
    // A plain file where the directory should be: mkdir fails (EEXIST) even for root.
    fs.writeFileSync(path.join(dir, 'logs'), '');
    const file = path.join(dir, 'logs', 'fieldbridge.log');
    const stdout = consoleCollector();

    expect(() =>
      configureLogging({
        ...DEFAULT_LOGGING_OPTIONS,
        format: 'json',
        consoleStream: stdout.stream,
        file: { path: file, maxSizeMb: 1, maxFiles: 3 },
      }),
    ).not.toThrow();
    const log = getLogger('device.heat1');
    expect(() => {
      for (let sequence = 0; sequence < 100; sequence += 1) log.info('reading', { sequence });
    }).not.toThrow();
    advance(RETRY_MS + 1); // the retry fails again, within the same minute
    log.info('reading', { sequence: 100 });
    await new Promise((resolve) => setImmediate(resolve));

    expect(stdout.lines.map((line) => JSON.parse(line).sequence)).toEqual(range(0, 101));
    expect(reports()).toHaveLength(1);
    expect(reports()[0]).toMatch(/cannot open log file .*fieldbridge\.log.*(EEXIST|ENOTDIR)/);
    expect(activeFileTransport()?.queuedLines).toBe(101);

    // Someone fixes the directory: the next retry writes everything held, in order.
    fs.rmSync(path.join(dir, 'logs'));
    advance(RETRY_MS + 1);
    log.info('reading', { sequence: 101 });
    await closeLogging();
    expect(readJsonLines(file).map((entry) => entry.sequence)).toEqual(range(0, 102));
    expect(reports()).toHaveLength(1);
  });

  it.skipIf(!fs.existsSync('/dev/full'))(
    'holds lines while the disk is full and writes them once it is not',
    async () => {
      const advance = fakeClock();
      const reports = spyOnFailureReports();
      const dir = makeTempDir();
      const file = path.join(dir, 'fieldbridge.log');
      fs.symlinkSync('/dev/full', file); // every write fails with ENOSPC

      burst({ path: file, maxSizeMb: 1, maxFiles: 3 }, 0, 50);
      await new Promise((resolve) => setImmediate(resolve));
      expect(reports()).toHaveLength(1);
      expect(reports()[0]).toMatch(/cannot write to log file .*ENOSPC/);

      fs.unlinkSync(file); // space freed
      advance(RETRY_MS + 1);
      getLogger('device.heat1').info('reading', { sequence: 50 });
      await closeLogging();
      expect(readJsonLines(file).map((entry) => entry.sequence)).toEqual(range(0, 51));
    },
  );
});

describe('RotatingFileTransport', () => {
  function transportFor(
    file: string,
    overrides: Partial<ConstructorParameters<typeof RotatingFileTransport>[0]> = {},
  ) {
    const errors: Error[] = [];
    const transport = new RotatingFileTransport({
      filename: file,
      maxSizeBytes: 64 * KIB,
      maxFiles: 2,
      onError: (error) => errors.push(error),
      ...overrides,
    });
    const write = (line: string) => transport.log({ [MESSAGE]: line }, () => {});
    return { transport, errors, write };
  }

  it('resumes a line cut short by a full disk without tearing it', () => {
    const advance = fakeClock();
    const file = path.join(makeTempDir(), 'fieldbridge.log');
    const { transport, errors, write } = transportFor(file);
    write('first');
    const realWriteSync = fs.writeSync;
    const writeSync = vi.spyOn(fs, 'writeSync');
    // Half of the next line gets in, then the disk is full.
    const halfWrite = (fd: number, buffer: Buffer, offset: number, length: number) =>
      realWriteSync(fd, buffer, offset, Math.floor(length / 2));
    writeSync.mockImplementationOnce(halfWrite as typeof fs.writeSync);
    writeSync.mockImplementationOnce(() => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    write('second line, long enough to be split');
    write('third');
    expect(errors).toHaveLength(1);
    expect(transport.queuedLines).toBe(2);

    writeSync.mockRestore();
    advance(RETRY_MS + 1);
    write('fourth');
    transport.close();
    expect(fs.readFileSync(file, 'utf8')).toBe(
      'first\nsecond line, long enough to be split\nthird\nfourth\n',
    );
  });

  it('holds at most maxQueuedBytes while the file is gone, then marks where lines were discarded', () => {
    const advance = fakeClock();
    const dir = makeTempDir();
    fs.writeFileSync(path.join(dir, 'logs'), '');
    const file = path.join(dir, 'logs', 'fieldbridge.log');
    const { transport, errors, write } = transportFor(file, {
      maxQueuedBytes: 100,
      lostLinesNotice: (lost) => `lost ${lost}`,
    });
    for (let n = 0; n < 30; n += 1) write(`line ${String(n).padStart(2, '0')}`); // 8 bytes each
    expect(transport.queuedLines).toBe(12);
    expect(errors).toHaveLength(1);

    fs.rmSync(path.join(dir, 'logs'));
    advance(RETRY_MS + 1);
    write('line 30');
    transport.close();
    // Queuing 'line 30' pushed out one more.
    expect(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)).toEqual([
      'lost 19',
      ...range(19, 31).map((n) => `line ${String(n).padStart(2, '0')}`),
    ]);
  });

  it('retries on its own, so held lines reach the file even when nothing more is logged', async () => {
    const dir = makeTempDir();
    fs.writeFileSync(path.join(dir, 'logs'), '');
    const file = path.join(dir, 'logs', 'fieldbridge.log');
    const { transport, write } = transportFor(file, { retryMs: 20 });
    write('one');
    write('two');
    fs.rmSync(path.join(dir, 'logs'));
    await vi.waitFor(() => expect(transport.queuedLines).toBe(0), { timeout: 1_000, interval: 10 });
    expect(fs.readFileSync(file, 'utf8')).toBe('one\ntwo\n');
    transport.close();
  });

  it('keeps writing to the live file when rotating fails, and rotates once it can', () => {
    const advance = fakeClock();
    const file = path.join(makeTempDir(), 'fieldbridge.log');
    fs.mkdirSync(`${file}.1`); // in the way of the rotation
    fs.writeFileSync(path.join(`${file}.1`, 'keep'), '');
    const { transport, errors, write } = transportFor(file, { maxSizeBytes: 10 });
    for (let n = 0; n < 5; n += 1) write(`line ${n}`); // 7 bytes each: every line wants a new file
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/cannot rotate log file/);
    expect(fs.readFileSync(file, 'utf8')).toBe('line 0\nline 1\nline 2\nline 3\nline 4\n');

    fs.rmSync(`${file}.1`, { recursive: true });
    advance(RETRY_MS + 1);
    write('line 5');
    transport.close();
    expect(fs.readFileSync(`${file}.1`, 'utf8')).toBe('line 0\nline 1\nline 2\nline 3\nline 4\n');
    expect(fs.readFileSync(file, 'utf8')).toBe('line 5\n');
    expect(errors).toHaveLength(1);
  });

  it('writes a straggler logged after close() and stays closed', () => {
    const file = path.join(makeTempDir(), 'fieldbridge.log');
    const { transport, errors, write } = transportFor(file);
    write('before');
    transport.close();
    write('after');
    expect(fs.readFileSync(file, 'utf8')).toBe('before\nafter\n');
    expect(errors).toEqual([]);
  });
});
