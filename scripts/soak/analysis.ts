import type { BurstResult } from './commands.js';
import type { FaultRecord } from './faults.js';
import type { GatewayCrash } from './gateway.js';
import { type Change, firstTakenSince, type Recording } from './recorder.js';
import type { ProcessSeries } from './sampler.js';

// The figures of a soak, computed after it from what the recorder saw (readings, states, events), what
// the soak did (fault records, command bursts), the gateway's database (how many readings it numbered)
// and the /proc samples. Every definition used here is spelled out in docs/RELIABILITY.md.

export interface DeviceReadings {
  id: string;
  driver: string;
  /** Readings the gateway numbered (its last seq, from its database); null when it could not be read. */
  committed: number | null;
  /** Distinct seqs that reached the recorder. */
  received: number;
  /** Seqs that arrived more than once (at-least-once delivery after a cut connection). */
  duplicates: number;
  /** Seqs that arrived after a higher one. */
  reordered: number;
  /** Seqs in 1..committed neither received nor still queued in the outbox. */
  lost: number;
  /** The first lost seqs (evidence). */
  lostSeqs: number[];
  /** Seqs still in the outbox when the gateway stopped (not lost: sent at its next start). */
  queuedAtEnd: number;
}

export interface RecoveryStats {
  kind: string;
  injected: number;
  recovered: number;
  p50Ms: number | null;
  maxMs: number | null;
  /** Faults after which some affected device never read again. */
  unrecovered: number;
  /** The same for the devices' retained availability topics (see availabilityRecovery). */
  availabilityP50Ms: number | null;
  availabilityMaxMs: number | null;
  availabilityNeverBack: number;
  /** ble_stuck: the soak had to clear it (the gateway did not repair it). */
  clearedBySoak: number;
}

export interface FaultSummary {
  kind: string;
  detail: string;
  /** Seconds since the soak started. */
  atS: number;
  durationS: number;
  recoveryMs: number | null;
  /** undefined: no affected device's availability was known to be online when the fault began. */
  availabilityMs: number | null | undefined;
  affected: number;
  slowest: string | null;
  problems: string[];
}

export interface MemorySeries {
  pid: number;
  startedAtS: number;
  samples: number;
  /** Judged only when it lived long enough after its warm-up. */
  judged: boolean;
  baselineMiB: number | null;
  endMiB: number | null;
  maxMiB: number;
  growthMiB: number | null;
  /** Least-squares trend of RSS after the warm-up, MiB per hour, from ten minutes of life on. */
  trendMiBPerHour: number | null;
  /**
   * Peak RSS of the last five minutes minus that of the first five after the warm-up (from ten minutes
   * of life on). Garbage collection swings RSS by tens of MiB, so a trend through every sample depends on
   * where the swings fall; the peaks are what a leak lifts.
   */
  peakGrowthMiB: number | null;
  fdsFirst: number;
  fdsMax: number;
  fdsLast: number;
  /** [seconds since the soak started, RSS MiB, fds], thinned to about one a minute. */
  timeline: [number, number, number][];
}

export interface AnalysisInput {
  recorder: Recording;
  faults: readonly FaultRecord[];
  bursts: readonly BurstResult[];
  crashes: readonly GatewayCrash[];
  series: readonly ProcessSeries[];
  /** last_seq per device from the database, and seqs still queued in the outbox. */
  database: { lastSeq: Map<string, number>; queued: Map<string, Set<number>> } | undefined;
  origin: number;
  /** The fault phase: from the first fault to the end of the final settle. */
  phase: { from: number; to: number };
  warmupMs: number;
  rssBoundMiB: number;
}

const MiB = 1024;

export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number;
}

const median = (values: readonly number[]) => percentile(values, 50);

export function deviceReadings(input: AnalysisInput): DeviceReadings[] {
  const { recorder, database } = input;
  const ids = new Set([...recorder.readings.keys(), ...(database?.lastSeq.keys() ?? [])]);
  return [...ids].sort().map((id) => {
    const list = recorder.readings.get(id) ?? [];
    const seen = new Set<number>();
    let duplicates = 0;
    let reordered = 0;
    let highest = 0;
    for (const { seq } of list) {
      if (seen.has(seq)) duplicates += 1;
      else if (seq < highest) reordered += 1;
      seen.add(seq);
      highest = Math.max(highest, seq);
    }
    const committed = database ? (database.lastSeq.get(id) ?? 0) : null;
    const queued = database?.queued.get(id) ?? new Set<number>();
    const lostSeqs: number[] = [];
    let lost = 0;
    // Without the database, the highest seq received is the best bound there is (gaps only).
    for (let seq = 1; seq <= (committed ?? highest); seq++) {
      if (seen.has(seq) || queued.has(seq)) continue;
      lost += 1;
      if (lostSeqs.length < 20) lostSeqs.push(seq);
    }
    return {
      id,
      driver: recorder.devices.get(id)?.driver ?? id.split('_')[0] ?? '?',
      committed,
      received: seen.size,
      duplicates,
      reordered,
      lost,
      lostSeqs,
      queuedAtEnd: queued.size,
    };
  });
}

/** How long each affected device took to publish a reading taken after the fault was over. */
export function faultRecovery(
  recorder: Recording,
  fault: FaultRecord,
): { ms: number | null; slowest: string | null } {
  let worst = 0;
  let slowest: string | null = null;
  for (const id of fault.affected) {
    const fresh = firstTakenSince(recorder.readings.get(id) ?? [], fault.end);
    if (!fresh) return { ms: null, slowest: id };
    const ms = fresh.at - fault.measureFrom;
    if (ms >= worst) {
      worst = ms;
      slowest = id;
    }
  }
  return { ms: worst, slowest };
}

/**
 * How long until every affected device's retained availability said `online` again after the fault
 * (0 when it never stopped saying so). Only devices whose availability was known to be `online` when the
 * fault began are measured (after a broker restart it can be unknown for long, see RELIABILITY.md);
 * undefined when none was. null when some device's never said `online` again.
 */
export function availabilityRecovery(recorder: Recording, fault: FaultRecord): number | null | undefined {
  let worst: number | undefined;
  for (const id of fault.affected) {
    const changes = recorder.availability.get(id) ?? [];
    const at = (time: number) => changes.filter((change) => change.at <= time).at(-1)?.value;
    if (at(fault.start) !== 'online') continue;
    worst ??= 0;
    if (at(fault.end) === 'online') continue;
    const back = changes.find((change) => change.at > fault.end && change.value === 'online');
    if (!back) return null;
    worst = Math.max(worst, back.at - fault.measureFrom);
  }
  return worst;
}

export function recoveryStats(recorder: Recording, faults: readonly FaultRecord[]): RecoveryStats[] {
  const kinds = [...new Set(faults.map((fault) => fault.kind))];
  return kinds.map((kind) => {
    const ofKind = faults.filter((fault) => fault.kind === kind);
    const times = ofKind.map((fault) => faultRecovery(recorder, fault).ms);
    const recovered = times.filter((ms): ms is number => ms !== null);
    const availability = ofKind.map((fault) => availabilityRecovery(recorder, fault));
    const available = availability.filter((ms): ms is number => typeof ms === 'number');
    return {
      kind,
      injected: ofKind.length,
      recovered: recovered.length,
      p50Ms: median(recovered),
      maxMs: recovered.length === 0 ? null : Math.max(...recovered),
      unrecovered: ofKind.length - recovered.length,
      availabilityP50Ms: percentile(available, 50),
      availabilityMaxMs: available.length === 0 ? null : Math.max(...available),
      availabilityNeverBack: availability.filter((ms) => ms === null).length,
      clearedBySoak: ofKind.filter((fault) => fault.clearedBySoak).length,
    };
  });
}

/** Time per value of a timeline over [from, to], leaving out the `excluded` windows. */
export function timeShares(
  changes: readonly Change[],
  from: number,
  to: number,
  excluded: readonly { start: number; end: number }[],
): { eligibleMs: number; byValue: Record<string, number> } {
  const points = new Set<number>([from, to]);
  for (const change of changes) if (change.at > from && change.at < to) points.add(change.at);
  for (const window of excluded) {
    for (const edge of [window.start, window.end]) if (edge > from && edge < to) points.add(edge);
  }
  const sorted = [...points].sort((a, b) => a - b);
  const byValue: Record<string, number> = {};
  let eligibleMs = 0;
  let index = 0;
  let value = 'unknown';
  for (let i = 0; i + 1 < sorted.length; i++) {
    const start = sorted[i] as number;
    const end = sorted[i + 1] as number;
    while (index < changes.length && (changes[index] as Change).at <= start)
      value = (changes[index++] as Change).value;
    const middle = (start + end) / 2;
    if (excluded.some((window) => middle >= window.start && middle < window.end)) continue;
    eligibleMs += end - start;
    byValue[value] = (byValue[value] ?? 0) + (end - start);
  }
  return { eligibleMs, byValue };
}

export function memorySeries(input: AnalysisInput): MemorySeries[] {
  return input.series.map((series) => {
    const warm = series.samples.filter((s) => s.t >= series.startedAt + input.warmupMs);
    const spanMs = warm.length > 1 ? (warm.at(-1)?.t ?? 0) - (warm[0]?.t ?? 0) : 0;
    // Medians of five samples: one garbage-collection peak must not decide either end.
    const judged = warm.length >= 10 && spanMs >= 45_000;
    const baseline = judged ? median(warm.slice(0, 5).map((s) => s.rssKiB)) : null;
    const end = judged ? median(warm.slice(-5).map((s) => s.rssKiB)) : null;
    const all = series.samples;
    // A trend over a few minutes is mostly garbage-collection noise: only from ten minutes on.
    const trend =
      judged && spanMs >= 600_000 ? slope(warm.map((s) => [s.t / 3_600_000, s.rssKiB / MiB] as const)) : null;
    let lastMinute = -1;
    const timeline: [number, number, number][] = [];
    for (const sample of all) {
      const minute = Math.floor(sample.t / 60_000);
      if (minute === lastMinute && sample !== all.at(-1)) continue;
      lastMinute = minute;
      timeline.push([Math.round(sample.t / 1000), Math.round(sample.rssKiB / MiB), sample.fds]);
    }
    return {
      pid: series.pid,
      startedAtS: Math.round(series.startedAt / 1000),
      samples: all.length,
      judged,
      baselineMiB: baseline === null ? null : round1(baseline / MiB),
      endMiB: end === null ? null : round1(end / MiB),
      maxMiB: round1(Math.max(0, ...all.map((s) => s.rssKiB)) / MiB),
      growthMiB: baseline === null || end === null ? null : round1((end - baseline) / MiB),
      trendMiBPerHour: trend === null ? null : round1(trend),
      peakGrowthMiB: peakGrowth(warm, spanMs),
      fdsFirst: all[0]?.fds ?? 0,
      fdsMax: Math.max(0, ...all.map((s) => s.fds)),
      fdsLast: all.at(-1)?.fds ?? 0,
      timeline,
    };
  });
}

function peakGrowth(warm: readonly { t: number; rssKiB: number }[], spanMs: number): number | null {
  const window = 300_000;
  if (warm.length === 0 || spanMs < 2 * window) return null;
  const first = warm[0]?.t ?? 0;
  const last = warm.at(-1)?.t ?? 0;
  const peak = (from: number, to: number) =>
    Math.max(...warm.filter((s) => s.t >= from && s.t <= to).map((s) => s.rssKiB));
  return round1((peak(last - window, last) - peak(first, first + window)) / MiB);
}

/** Least-squares slope of y over x. */
export function slope(points: readonly (readonly [number, number])[]): number | null {
  const n = points.length;
  if (n < 2) return null;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const [x, y] of points) {
    covariance += (x - meanX) * (y - meanY);
    variance += (x - meanX) ** 2;
  }
  return variance === 0 ? null : covariance / variance;
}

export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

export function supervision(recorder: Recording): {
  restarts: number;
  restartsByActor: Record<string, number>;
  ladderSteps: Record<string, number>;
  escalations: number;
  eventsByType: Record<string, number>;
} {
  const restartsByActor: Record<string, number> = {};
  const ladderSteps: Record<string, number> = {};
  const eventsByType: Record<string, number> = {};
  for (const event of recorder.events) {
    eventsByType[event.type] = (eventsByType[event.type] ?? 0) + 1;
    if (event.type === 'restart') {
      const actor = String(event.data.actorId ?? '?');
      restartsByActor[actor] = (restartsByActor[actor] ?? 0) + 1;
    }
    if (event.type === 'recovery') {
      const key = `${String(event.data.step ?? '?')} ${String(event.data.outcome ?? '?')}`;
      ladderSteps[key] = (ladderSteps[key] ?? 0) + 1;
    }
  }
  return {
    restarts: eventsByType.restart ?? 0,
    restartsByActor,
    ladderSteps,
    escalations: eventsByType.escalated ?? 0,
    eventsByType,
  };
}
