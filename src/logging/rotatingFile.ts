// A size-rotated log file for winston that never drops or reorders a line (winston's own File
// transport loses lines around every rotation and while it is still opening).
//
// Every file operation is a synchronous fs call made inside log(): a line is handed to the kernel
// before the next one is looked at, a rotation cannot interleave with a write, and there is no
// "still opening" window. Log volume is low, so correctness wins over throughput. Lines that cannot be
// written (directory uncreatable, EACCES, disk full) wait in order in an in-memory queue and are
// retried; the failure goes to `onError`, and nothing is ever thrown at the caller. The queue is bounded
// (maxQueuedBytes): only a file that stays unwritable long enough to fill it costs lines, the oldest
// held ones, and a notice line marks the gap once the file is back.

import fs from 'node:fs';
import path from 'node:path';
import TransportStream from 'winston-transport';
import { errorText } from '../errorText.js';

/** triple-beam's MESSAGE: the finished line that the transport's format put on the info object. */
const MESSAGE = Symbol.for('message');

export interface RotatingFileOptions {
  /** The live file, e.g. `data/fieldbridge.log`; resolved against the working directory once. */
  filename: string;
  /** A line that would take the live file past this many bytes goes into a fresh file instead. */
  maxSizeBytes: number;
  /**
   * Files kept in total, the live one included: `fieldbridge.log`, then `fieldbridge.log.1` (newest
   * rotated) up to `fieldbridge.log.<maxFiles-1>`. With 1 there is no history: the live file starts
   * over empty when it is full.
   */
  maxFiles: number;
  /** Sets the line (without its newline) on the info object under triple-beam's MESSAGE. */
  format?: TransportStream.TransportStreamOptions['format'];
  /** Told about every failed open/write/rotation. Must not throw; rate-limiting it is its business. */
  onError: (error: Error) => void;
  /** The line written where lines had to be discarded (the queue overflowed while the file was gone). */
  lostLinesNotice?: (lost: number) => string;
  /** Wait after a failure before the file is tried again. Default 10 s. */
  retryMs?: number;
  /** Bytes queued in memory while the file cannot be written; beyond that the oldest are discarded. */
  maxQueuedBytes?: number;
}

interface Queued {
  data: Buffer;
  /** Lines this item stands for if it has to be discarded: 1 for a line, N for a lost-lines notice. */
  lines: number;
}

const DEFAULT_RETRY_MS = 10_000;
const DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024;

export class RotatingFileTransport extends TransportStream {
  readonly filename: string;
  private readonly maxSizeBytes: number;
  private readonly maxFiles: number;
  private readonly onError: (error: Error) => void;
  private readonly lostLinesNotice: ((lost: number) => string) | undefined;
  private readonly retryMs: number;
  private readonly maxQueuedBytes: number;

  private fd: number | undefined;
  /** Bytes in the live file. */
  private size = 0;
  /** Lines not yet (completely) written, oldest first. Empty except while the file is failing. */
  private readonly queue: Queued[] = [];
  private queuedBytes = 0;
  /** Bytes of queue[0] already in the file: a write cut short by a full disk resumes there. */
  private headWritten = 0;
  /** Lines discarded since the last notice about it. */
  private lost = 0;
  /** After a failure, lines only queue up for retryMs. */
  private failedAt: number | undefined;
  /** After a failed rotation, the live file just grows for retryMs. */
  private rotateFailedAt: number | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private isClosed = false;

  constructor(options: RotatingFileOptions) {
    super({ format: options.format });
    this.filename = path.resolve(options.filename);
    this.maxSizeBytes = options.maxSizeBytes;
    this.maxFiles = options.maxFiles;
    this.onError = options.onError;
    this.lostLinesNotice = options.lostLinesNotice;
    this.retryMs = options.retryMs ?? DEFAULT_RETRY_MS;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    // Opened now so a bad path shows up at start-up, not with the first line.
    this.openFile();
  }

  override log(info: Record<PropertyKey, unknown>, next: () => void): void {
    this.enqueue({ data: Buffer.from(`${String(info[MESSAGE])}\n`, 'utf8'), lines: 1 });
    if (this.isClosed) {
      // A straggler after close(): write it, but leave no descriptor open behind it.
      this.writeQueued(true);
      this.closeFile();
    } else {
      this.writeQueued(false);
    }
    next();
  }

  /** Writes what is queued (one last attempt), syncs and closes the file. Idempotent; never throws. */
  override close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.writeQueued(true);
    this.closeFile();
  }

  /** Called by end(), which winston's logger does on its own end: 'finish' means the file is closed. */
  override _final(callback: (error?: Error | null) => void): void {
    this.close();
    callback();
  }

  /** Lines held in memory because the file cannot be written right now (diagnostics, tests). */
  get queuedLines(): number {
    return this.queue.length;
  }

  private enqueue(item: Queued): void {
    this.queue.push(item);
    this.queuedBytes += item.data.length;
    // A half-written head stays: dropping it would leave a torn line in the file.
    const first = this.headWritten > 0 ? 1 : 0;
    while (this.queuedBytes > this.maxQueuedBytes && this.queue.length > first + 1) {
      const [dropped] = this.queue.splice(first, 1);
      if (dropped === undefined) break;
      this.queuedBytes -= dropped.data.length;
      this.lost += dropped.lines;
    }
  }

  /** Moves queued lines into the file, in order, rotating as needed. `force` ignores the retry wait. */
  private writeQueued(force: boolean): void {
    if (!force && this.waitingSince(this.failedAt)) {
      this.scheduleRetry();
      return;
    }
    while (this.queue.length > 0) {
      if (this.fd === undefined && !this.openFile()) return;
      if (this.headWritten === 0 && this.lost > 0 && this.lostLinesNotice !== undefined) {
        this.queue.unshift({
          data: Buffer.from(`${this.lostLinesNotice(this.lost)}\n`, 'utf8'),
          lines: this.lost,
        });
        this.queuedBytes += this.queue[0]?.data.length ?? 0;
        this.lost = 0;
      }
      const head = this.queue[0];
      const fd = this.fd;
      if (head === undefined || fd === undefined) return;
      if (
        this.headWritten === 0 &&
        this.size > 0 &&
        this.size + head.data.length > this.maxSizeBytes &&
        !this.waitingSince(this.rotateFailedAt)
      ) {
        // Closes the file; the next turn reopens the fresh one (or the old one if rotating failed).
        this.rotate();
        continue;
      }
      try {
        while (this.headWritten < head.data.length) {
          const written = fs.writeSync(fd, head.data, this.headWritten, head.data.length - this.headWritten);
          if (written <= 0) throw new Error(`write to ${this.filename} made no progress`);
          this.headWritten += written;
          this.size += written;
        }
      } catch (error) {
        this.closeFd();
        this.failed('write to', error);
        return;
      }
      this.queue.shift();
      this.queuedBytes -= head.data.length;
      this.headWritten = 0;
    }
  }

  private openFile(): boolean {
    try {
      fs.mkdirSync(path.dirname(this.filename), { recursive: true });
      const fd = fs.openSync(this.filename, 'a');
      try {
        this.size = fs.fstatSync(fd).size;
      } catch (error) {
        fs.closeSync(fd);
        throw error;
      }
      this.fd = fd;
      this.failedAt = undefined;
      return true;
    } catch (error) {
      this.failed('open', error);
      return false;
    }
  }

  /**
   * `name.<maxFiles-2>` → `name.<maxFiles-1>`, …, `name` → `name.1`, after deleting `name.<maxFiles-1>`
   * and anything numbered higher (left over from a larger maxFiles). Leaves the file closed.
   */
  private rotate(): void {
    this.closeFd();
    const dir = path.dirname(this.filename);
    const base = path.basename(this.filename);
    const numbered = (index: number) => path.join(dir, `${base}.${index}`);
    try {
      const oldestKept = Math.max(1, this.maxFiles - 1);
      for (const name of fs.readdirSync(dir)) {
        const suffix = name.startsWith(`${base}.`) ? name.slice(base.length + 1) : '';
        if (/^[1-9]\d*$/.test(suffix) && Number(suffix) >= oldestKept)
          ignoreMissing(() => fs.unlinkSync(path.join(dir, name)));
      }
      for (let index = this.maxFiles - 2; index >= 1; index -= 1) {
        ignoreMissing(() => fs.renameSync(numbered(index), numbered(index + 1)));
      }
      if (this.maxFiles === 1) ignoreMissing(() => fs.unlinkSync(this.filename));
      else ignoreMissing(() => fs.renameSync(this.filename, numbered(1)));
    } catch (error) {
      // Keep appending to the (oversized) live file rather than lose lines; try again later.
      this.rotateFailedAt = Date.now();
      this.report('rotate', error);
    }
  }

  /**
   * Whether a failure at `since` is less than retryMs ago. Measured from the failure rather than as a
   * deadline, so a clock that jumps (a gateway without RTC setting its time) ends the wait, not
   * prolongs it.
   */
  private waitingSince(since: number | undefined): boolean {
    if (since === undefined) return false;
    const elapsed = Date.now() - since;
    return elapsed >= 0 && elapsed < this.retryMs;
  }

  private failed(operation: string, error: unknown): void {
    this.failedAt = Date.now();
    this.report(operation, error);
    this.scheduleRetry();
  }

  private report(operation: string, error: unknown): void {
    const detail = errorText(error);
    const held = this.queue.length === 1 ? '1 line' : `${this.queue.length} lines`;
    const lost = this.lost > 0 ? `, ${this.lost} discarded` : '';
    this.onError(new Error(`cannot ${operation} log file ${this.filename} (${held} held${lost}): ${detail}`));
  }

  /** Retries on its own, so queued lines reach the file even if nothing else is logged. */
  private scheduleRetry(): void {
    if (this.isClosed || this.retryTimer !== undefined || this.queue.length === 0) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.isClosed) this.writeQueued(true);
    }, this.retryMs);
    this.retryTimer.unref();
  }

  private closeFile(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.queue.length > 0) {
      const unwritten = this.lost + this.queue.reduce((sum, item) => sum + item.lines, 0);
      this.onError(new Error(`log file ${this.filename} closed with ${unwritten} lines never written`));
      this.queue.length = 0;
      this.queuedBytes = 0;
      this.headWritten = 0;
      this.lost = 0;
    }
    if (this.fd === undefined) return;
    try {
      fs.fsyncSync(this.fd);
    } catch {
      // Some filesystems cannot fsync; the lines are written either way.
    }
    this.closeFd();
  }

  private closeFd(): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd === undefined) return;
    try {
      fs.closeSync(fd);
    } catch {
      // Nothing left to do with a descriptor that will not close.
    }
  }
}

function ignoreMissing(operation: () => void): void {
  try {
    operation();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
