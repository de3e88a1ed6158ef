// Levels and the per-namespace level table. Kept free of winston so the hot path (`isEnabled`) is a
// couple of integer comparisons and never touches a transport.

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

/** Lower is more severe; a message is emitted when its rank is <= the logger's threshold. */
export const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { error: 0, warn: 1, info: 2, debug: 3 };

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

/**
 * Resolves the effective level of a dotted namespace: the longest configured prefix that matches whole
 * segments wins (`device` covers `device.heat1` but not `devices`), else the global level.
 */
export class LevelTable {
  readonly #globalRank: number;
  readonly #rankByPrefix: ReadonlyMap<string, number>;

  constructor(globalLevel: LogLevel, namespaces: Readonly<Record<string, LogLevel>>) {
    assertLevel(globalLevel, 'level');
    const rankByPrefix = new Map<string, number>();
    for (const [prefix, level] of Object.entries(namespaces)) {
      assertLevel(level, `namespaces["${prefix}"]`);
      rankByPrefix.set(prefix, LEVEL_RANK[level]);
    }
    this.#globalRank = LEVEL_RANK[globalLevel];
    this.#rankByPrefix = rankByPrefix;
  }

  /** Threshold rank for `namespace`; callers cache it, so this may allocate a few substrings. */
  thresholdFor(namespace: string): number {
    let candidate = namespace;
    for (;;) {
      const rank = this.#rankByPrefix.get(candidate);
      if (rank !== undefined) return rank;
      const lastDot = candidate.lastIndexOf('.');
      if (lastDot < 0) return this.#globalRank;
      candidate = candidate.slice(0, lastDot);
    }
  }
}

function assertLevel(level: unknown, where: string): asserts level is LogLevel {
  if (!isLogLevel(level)) {
    throw new Error(
      `logging: ${where} must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`,
    );
  }
}
