import { seededRandom } from '../../shared/random.js';
import { fail } from '../codec/errors.js';

// What goes wrong between a DALI gateway and its lamps, made repeatable: every random choice comes from a
// seeded generator, and a test that wants one particular failure queues it (`failNext`) instead of
// hoping for a draw. The faults belong to the adapter (the USB stick and its line), not to the gear, so
// they survive an unplug and replug of the same stick.

export interface HassebFaults {
  /** Probability (0-1) that a forward frame is lost on the line: no gear hears it. */
  dropFrame: number;
  /** Probability that a query's backward frame is lost: the adapter reports NO ANSWER. */
  noAnswer: number;
  /** Probability that a backward frame is garbled: the adapter reports INVALID ANSWER. */
  invalidAnswer: number;
  /**
   * Probability that, before answering, the adapter repeats its previous response report, which carries
   * an old sequence number (what a reply the host gave up on looks like when it turns up late).
   */
  stale: number;
  /** Probability that the adapter sends no report at all for a query (a lost USB report). */
  silent: number;
  /** Probability of an extra idle no-data report just before a response. */
  idle: number;
  /** Extra delay of every response report, in ms. */
  slowMs: number;
}

export type HassebFaultKind = 'dropFrame' | 'noAnswer' | 'invalidAnswer' | 'stale' | 'silent' | 'idle';

export const HASSEB_FAULT_KINDS: readonly HassebFaultKind[] = [
  'dropFrame',
  'noAnswer',
  'invalidAnswer',
  'stale',
  'silent',
  'idle',
];

export const NO_HASSEB_FAULTS: HassebFaults = Object.freeze({
  dropFrame: 0,
  noAnswer: 0,
  invalidAnswer: 0,
  stale: 0,
  silent: 0,
  idle: 0,
  slowMs: 0,
});

/** Merges a partial update into `current`, refusing values that make no sense (with the field named). */
export function mergeHassebFaults(current: HassebFaults, update: Partial<HassebFaults>): HassebFaults {
  const next = { ...current, ...update };
  for (const key of HASSEB_FAULT_KINDS) {
    const rate = next[key];
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
      fail('bad_argument', `${key} must be a probability between 0 and 1, got ${rate}`);
    }
  }
  if (!Number.isFinite(next.slowMs) || next.slowMs < 0 || next.slowMs > 60_000) {
    fail('bad_argument', `slowMs must be 0-60000 ms, got ${next.slowMs}`);
  }
  return next;
}

export class FaultInjector {
  readonly #random: () => number;
  #faults: HassebFaults;
  readonly #queued = new Map<HassebFaultKind, number>();

  constructor(options: { seed?: number; faults?: Partial<HassebFaults> } = {}) {
    this.#random = seededRandom(options.seed ?? 1);
    this.#faults = mergeHassebFaults(NO_HASSEB_FAULTS, options.faults ?? {});
  }

  get faults(): HassebFaults {
    return { ...this.#faults };
  }

  set(update: Partial<HassebFaults>): HassebFaults {
    this.#faults = mergeHassebFaults(this.#faults, update);
    return this.faults;
  }

  /** Makes the next `count` chances of `kind` strike, whatever the probabilities say. */
  failNext(kind: HassebFaultKind, count = 1): void {
    if (!HASSEB_FAULT_KINDS.includes(kind)) fail('bad_argument', `unknown fault "${String(kind)}"`);
    if (!Number.isInteger(count) || count < 1)
      fail('bad_argument', `count must be a whole number ≥ 1, got ${count}`);
    this.#queued.set(kind, (this.#queued.get(kind) ?? 0) + count);
  }

  /** Whether `kind` strikes now: a queued one first, else a seeded draw. */
  strikes(kind: HassebFaultKind): boolean {
    const queued = this.#queued.get(kind) ?? 0;
    if (queued > 0) {
      this.#queued.set(kind, queued - 1);
      return true;
    }
    const rate = this.#faults[kind];
    // Draw only for active faults, so switching one on does not shift the sequence of another.
    return rate > 0 && this.#random() < rate;
  }

  /** Back to no faults and nothing queued. */
  clear(): void {
    this.#faults = { ...NO_HASSEB_FAULTS };
    this.#queued.clear();
  }

  describe(): string {
    const f = this.#faults;
    const queued = [...this.#queued].filter(([, n]) => n > 0).map(([kind, n]) => `${kind}×${n}`);
    return (
      `drop ${f.dropFrame}, noanswer ${f.noAnswer}, invalid ${f.invalidAnswer}, stale ${f.stale}, ` +
      `silent ${f.silent}, idle ${f.idle}, slow ${f.slowMs} ms` +
      (queued.length > 0 ? `; queued ${queued.join(', ')}` : '')
    );
  }
}
