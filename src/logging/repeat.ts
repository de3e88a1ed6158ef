// Collapses a failure that repeats (a device that stays unreachable, a broker that keeps refusing)
// into: one warn when it starts, one summary per interval while it lasts, one info when it ends.
// Without this a dead device at a 2 s retry writes 43,200 identical lines a day.
//
// Summaries are driven by calls (failure() and the optional flush()), never by timers, so an idle
// instance costs nothing and tests need no fake timers. State exists only for keys that are failing.

import { configuredRepeatSummaryMs } from './core.js';
import { formatDuration } from './duration.js';
import type { Logger, LogMeta } from './logger.js';

export interface RepeatedFailureLogOptions {
  /** Minimum time between two lines for one key. Defaults to the configured `repeatSummaryMs`. */
  summaryEveryMs?: number;
  now?: () => number;
  /** Opening words of summary lines, e.g. "still offline". Default "still failing". */
  summary?: string;
}

export interface FailureOptions {
  /** Overrides the instance's summary wording for this key, e.g. "still offline". */
  summary?: string;
}

interface FailingKey {
  /** Failures since the first one, the first included. */
  count: number;
  firstAt: number;
  lastLineAt: number;
  countAtLastLine: number;
  latestMessage: string;
  latestMeta: LogMeta | undefined;
  summary: string;
}

export class RepeatedFailureLog {
  readonly #logger: Logger;
  readonly #summaryEveryMs: number | undefined;
  readonly #now: () => number;
  readonly #summary: string;
  readonly #failing = new Map<string, FailingKey>();

  constructor(logger: Logger, options: RepeatedFailureLogOptions = {}) {
    this.#logger = logger;
    this.#summaryEveryMs = options.summaryEveryMs;
    this.#now = options.now ?? Date.now;
    this.#summary = options.summary ?? 'still failing';
  }

  /**
   * Records a failure. The first for `key` is logged at warn; later ones are counted and surface
   * as a summary once the interval has passed. A changed message is the same failure (error texts
   * flap between ETIMEDOUT and ECONNREFUSED); the summary shows the latest one.
   */
  failure(key: string, message: string, meta?: LogMeta, options?: FailureOptions): void {
    const now = this.#now();
    const state = this.#failing.get(key);
    if (state === undefined) {
      this.#failing.set(key, {
        count: 1,
        firstAt: now,
        lastLineAt: now,
        countAtLastLine: 1,
        latestMessage: message,
        latestMeta: meta,
        summary: options?.summary ?? this.#summary,
      });
      this.#logger.warn(message, meta);
      return;
    }
    state.count += 1;
    state.latestMessage = message;
    state.latestMeta = meta;
    if (options?.summary !== undefined) state.summary = options.summary;
    this.#summarizeIfDue(state, now);
  }

  /** Ends a failure: one info line (`recovered after N failures over 1m 3s`) if `key` was failing. */
  success(key: string, message = 'recovered', meta?: LogMeta): void {
    const state = this.#failing.get(key);
    if (state === undefined) return;
    this.#failing.delete(key);
    const failingForMs = this.#now() - state.firstAt;
    this.#logger.info(
      `${message} after ${plural(state.count, 'failure')} over ${formatDuration(failingForMs)}`,
      { ...meta, failureCount: state.count, failingForMs },
    );
  }

  /** Forgets `key` without a line, e.g. when its device is removed from the config. */
  reset(key: string): void {
    this.#failing.delete(key);
  }

  /** Emits the summaries that are due, for a periodic health tick. Returns how many were written. */
  flush(): number {
    const now = this.#now();
    let written = 0;
    for (const state of this.#failing.values()) {
      if (this.#summarizeIfDue(state, now)) written += 1;
    }
    return written;
  }

  /** Failures counted for `key` so far; 0 when it is not failing. */
  failureCount(key: string): number {
    return this.#failing.get(key)?.count ?? 0;
  }

  /** Number of keys currently failing (the only state this holds). */
  get size(): number {
    return this.#failing.size;
  }

  #summarizeIfDue(state: FailingKey, now: number): boolean {
    // Nothing new since the last line: a device that stopped retrying does not need a reminder
    // every interval, which with thousands of devices would be a flood of its own.
    if (state.count === state.countAtLastLine) return false;
    if (now - state.lastLineAt < (this.#summaryEveryMs ?? configuredRepeatSummaryMs())) return false;
    const failingForMs = now - state.firstAt;
    this.#logger.warn(
      `${state.summary} after ${plural(state.count, 'attempt')} over ${formatDuration(failingForMs)}: ${state.latestMessage}`,
      { ...state.latestMeta, failureCount: state.count, failingForMs },
    );
    state.lastLineAt = now;
    state.countAtLastLine = state.count;
    return true;
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export interface BurstLogOptions {
  /** At most one line per key within this long. Default 10 s: a flood is followed as it happens. */
  everyMs?: number;
  now?: () => number;
}

interface Burst {
  /** When the last line for the key was written. */
  lineAt: number;
  /** Events since that line, not yet written. */
  count: number;
  latestMessage: string;
  latestMeta: LogMeta | undefined;
  summary: string;
}

/**
 * Collapses events that come in bursts and are nobody's outage (commands refused during a flood):
 * the first of a key is logged at once at info, the rest become one line per interval with their
 * count ("commands refused: 412 more in 10s, the latest: …"), and a key quiet for a whole interval
 * starts over. Like RepeatedFailureLog, driven by calls (record(), flush()), never by timers.
 */
export class BurstLog {
  readonly #logger: Logger;
  readonly #everyMs: number;
  readonly #now: () => number;
  readonly #bursts = new Map<string, Burst>();

  constructor(logger: Logger, options: BurstLogOptions = {}) {
    this.#logger = logger;
    this.#everyMs = options.everyMs ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Records one event of `key`; `summary` opens the line that counts the later ones. */
  record(key: string, message: string, summary: string, meta?: LogMeta): void {
    const now = this.#now();
    const burst = this.#bursts.get(key);
    if (burst === undefined || (burst.count === 0 && now - burst.lineAt >= this.#everyMs)) {
      this.#bursts.set(key, { lineAt: now, count: 0, latestMessage: message, latestMeta: meta, summary });
      this.#logger.info(message, meta);
      return;
    }
    burst.count += 1;
    burst.latestMessage = message;
    burst.latestMeta = meta;
    this.#summarizeIfDue(key, burst, now);
  }

  /** Writes the counts that are due and forgets quiet keys, for a periodic tick. Returns the lines. */
  flush(): number {
    const now = this.#now();
    let written = 0;
    for (const [key, burst] of this.#bursts) if (this.#summarizeIfDue(key, burst, now)) written += 1;
    return written;
  }

  #summarizeIfDue(key: string, burst: Burst, now: number): boolean {
    if (now - burst.lineAt < this.#everyMs) return false;
    if (burst.count === 0) {
      this.#bursts.delete(key);
      return false;
    }
    this.#logger.info(
      `${burst.summary}: ${burst.count} more in ${formatDuration(now - burst.lineAt)}, the latest: ${burst.latestMessage}`,
      { ...burst.latestMeta, count: burst.count, periodMs: now - burst.lineAt },
    );
    burst.lineAt = now;
    burst.count = 0;
    return true;
  }
}
