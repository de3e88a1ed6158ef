import { cpus } from 'node:os';
import {
  type AnalysisInput,
  availabilityRecovery,
  type DeviceReadings,
  deviceReadings,
  faultRecovery,
  type FaultSummary,
  type MemorySeries,
  memorySeries,
  type RecoveryStats,
  recoveryStats,
  round1,
  supervision,
  timeShares,
} from './analysis.js';
import type { GatewayCrash } from './gateway.js';
import { firstTakenSince } from './recorder.js';

// The soak's verdict and figures (one JSON object), and the table printed after it. The verdict fails on
// a lost reading, a gateway crash, an RSS growth beyond the bound, or a device that does not read again
// after the last fault; everything else (slow recoveries, bad commands accepted, fd growth) is a
// warning, reported but not failing.

export interface SoakReport {
  verdict: 'pass' | 'fail';
  failures: string[];
  warnings: string[];
  run: {
    seed: number;
    minutes: number;
    ble: boolean;
    interrupted: boolean;
    durationS: number;
    faultPhaseS: number;
    dir: string;
    machine: { cpus: number; model: string; loadStart: number; loadEnd: number; node: string };
  };
  readings: {
    definition: string;
    committed: number | null;
    received: number;
    duplicates: number;
    reordered: number;
    lost: number;
    queuedAtEnd: number;
    malformed: number;
    devices: DeviceReadings[];
    bleAdvertisements: number | undefined;
  };
  online: {
    bridgeOnlinePct: number | null;
    eligibleS: number;
    injectedOutageS: number;
    healthPct: Record<string, number>;
  };
  recovery: RecoveryStats[];
  faults: FaultSummary[];
  supervision: ReturnType<typeof supervision>;
  memory: { boundMiB: number; warmupS: number; maxGrowthMiB: number | null; processes: MemorySeries[] };
  badCommands: {
    bursts: number;
    sent: number;
    answeredWithError: number;
    accepted: number;
    unanswered: number;
    failures: string[];
  };
  crashes: GatewayCrash[];
}

export interface ReportInput extends AnalysisInput {
  options: { minutes: number; seed: number; ble: boolean; rssBoundMiB: number };
  dir: string;
  interrupted: boolean;
  loadStart: number;
  /** When the run ended and the load then (absent in raw.json of older runs). */
  endedAt?: number;
  loadEnd?: number;
  bleAdvertisements: number | undefined;
}

const DEFINITION =
  'Per device, the gateway numbers its readings 1, 2, 3… (seq). After the soak its database gives the last ' +
  'number it handed out; a reading is lost when its number never reached the recorder and is not still ' +
  'queued in the outbox. Readings a simulator served that the gateway never read (meter unreachable, ' +
  'advertisement missed) have no number and are not counted.';

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

export function buildReport(input: ReportInput): SoakReport {
  const { recorder } = input;
  const devices = deviceReadings(input);
  const outages = input.faults
    .filter((fault) => fault.outage)
    .map((fault) => ({ start: fault.start, end: fault.end }));
  const state = timeShares(recorder.bridgeState, input.phase.from, input.phase.to, outages);
  const health = timeShares(recorder.health, input.phase.from, input.phase.to, outages);
  const pct = (ms: number, of: number) => (of === 0 ? 0 : Math.round((ms / of) * 10_000) / 100);
  const memory = memorySeries(input);
  const judged = memory.filter((series) => series.judged && series.growthMiB !== null);
  const maxGrowth = judged.length === 0 ? null : Math.max(...judged.map((series) => series.growthMiB ?? 0));
  const recovery = recoveryStats(recorder, input.faults);
  const faults: FaultSummary[] = input.faults.map((fault) => {
    const measured = faultRecovery(recorder, fault);
    return {
      kind: fault.kind,
      detail: fault.detail,
      atS: round1((fault.start - input.origin) / 1000),
      durationS: round1((fault.end - fault.start) / 1000),
      recoveryMs: measured.ms,
      availabilityMs: availabilityRecovery(recorder, fault),
      affected: fault.affected.length,
      slowest: measured.slowest,
      problems: fault.problems,
    };
  });
  const bursts = input.bursts;
  const badCommands = {
    bursts: bursts.length,
    sent: sum(bursts.map((b) => b.sent)),
    answeredWithError: sum(bursts.map((b) => b.answeredWithError)),
    accepted: sum(bursts.map((b) => b.accepted)),
    unanswered: sum(bursts.map((b) => b.unanswered)),
    failures: [...new Set(bursts.flatMap((b) => b.failures))],
  };

  const failures: string[] = [];
  const warnings: string[] = [];
  const lost = sum(devices.map((d) => d.lost));
  if (lost > 0) {
    const which = devices.filter((d) => d.lost > 0).map((d) => `${d.id} (seq ${d.lostSeqs.join(', ')})`);
    failures.push(`${lost} readings lost: ${which.join('; ')}`);
  }
  if (input.database === undefined && !input.interrupted)
    failures.push('the gateway database could not be read: nothing to count against');
  for (const crash of input.crashes) {
    failures.push(
      `gateway crashed at +${round1(crash.t / 1000)} s (pid ${crash.pid}, exit code ${crash.code}, signal ${crash.signal})`,
    );
  }
  for (const series of judged) {
    if ((series.growthMiB ?? 0) > input.rssBoundMiB) {
      failures.push(
        `gateway pid ${series.pid}: RSS grew ${series.growthMiB} MiB after warm-up (bound ${input.rssBoundMiB} MiB)`,
      );
    }
  }
  const lastEnd = Math.max(input.phase.from, ...input.faults.map((fault) => fault.end));
  const silent = [...recorder.readings.keys()].filter(
    (id) => firstTakenSince(recorder.readings.get(id) ?? [], lastEnd) === undefined,
  );
  if (!input.interrupted && silent.length > 0) {
    failures.push(`devices not reading again after the last fault: ${silent.sort().join(', ')}`);
  }
  if (input.interrupted) warnings.push('interrupted before the end: the figures cover the part that ran');
  for (const stats of recovery) {
    if (stats.unrecovered > 0)
      warnings.push(
        `${stats.kind}: ${stats.unrecovered} of ${stats.injected} faults without a recovery of every device`,
      );
    if (stats.availabilityNeverBack > 0) {
      warnings.push(
        `${stats.kind}: after ${stats.availabilityNeverBack} of ${stats.injected} faults some device's availability never said online again`,
      );
    }
    if (stats.clearedBySoak > 0)
      warnings.push(
        `${stats.kind}: the gateway did not repair ${stats.clearedBySoak} (the soak cleared them)`,
      );
  }
  if (badCommands.accepted > 0 || badCommands.unanswered > 0) {
    warnings.push(
      `bad commands: ${badCommands.accepted} accepted, ${badCommands.unanswered} unanswered (${badCommands.failures.join(', ')})`,
    );
  }
  for (const series of memory) {
    if (series.fdsLast - series.fdsFirst > 20)
      warnings.push(`gateway pid ${series.pid}: open fds ${series.fdsFirst} → ${series.fdsLast}`);
  }
  for (const fault of faults)
    for (const problem of fault.problems)
      warnings.push(`injecting ${fault.kind} at +${fault.atS} s: ${problem}`);
  if (recorder.malformedReadings > 0)
    warnings.push(`${recorder.malformedReadings} reading payloads without seq/ts`);

  const database = input.database;
  return {
    verdict: failures.length === 0 ? 'pass' : 'fail',
    failures,
    warnings,
    run: {
      seed: input.options.seed,
      minutes: input.options.minutes,
      ble: input.options.ble,
      interrupted: input.interrupted,
      durationS: round1(((input.endedAt ?? input.phase.to) - input.origin) / 1000),
      faultPhaseS: round1((input.phase.to - input.phase.from) / 1000),
      dir: input.dir,
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model ?? '?',
        loadStart: round1(input.loadStart),
        loadEnd: round1(input.loadEnd ?? 0),
        node: process.version,
      },
    },
    readings: {
      definition: DEFINITION,
      committed: database ? sum([...database.lastSeq.values()]) : null,
      received: sum(devices.map((d) => d.received)),
      duplicates: sum(devices.map((d) => d.duplicates)),
      reordered: sum(devices.map((d) => d.reordered)),
      lost,
      queuedAtEnd: sum(devices.map((d) => d.queuedAtEnd)),
      malformed: recorder.malformedReadings,
      devices,
      bleAdvertisements: input.bleAdvertisements,
    },
    online: {
      bridgeOnlinePct: state.eligibleMs === 0 ? null : pct(state.byValue.online ?? 0, state.eligibleMs),
      eligibleS: round1(state.eligibleMs / 1000),
      injectedOutageS: round1(sum(outages.map((o) => o.end - o.start)) / 1000),
      healthPct: Object.fromEntries(
        Object.entries(health.byValue).map(([status, ms]) => [status, pct(ms, health.eligibleMs)]),
      ),
    },
    recovery,
    faults,
    supervision: supervision(recorder),
    memory: {
      boundMiB: input.rssBoundMiB,
      warmupS: input.warmupMs / 1000,
      maxGrowthMiB: maxGrowth,
      processes: memory,
    },
    badCommands,
    crashes: [...input.crashes],
  };
}

function table(rows: readonly (readonly (string | number)[])[]): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => String(row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) =>
          typeof cell === 'number'
            ? String(cell).padStart(widths[column] ?? 0)
            : String(cell).padEnd(widths[column] ?? 0),
        )
        .join('  '),
    )
    .join('\n');
}

const seconds = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);

/** The human-readable summary printed after the JSON. */
export function formatReport(report: SoakReport): string {
  const r = report.readings;
  const lines: string[] = [];
  lines.push(
    `SOAK ${report.verdict.toUpperCase()}  seed ${report.run.seed}, ${report.run.minutes} min, BLE ${report.run.ble ? 'on' : 'off'}, fault phase ${report.run.faultPhaseS} s, total ${report.run.durationS} s`,
  );
  lines.push(
    `machine: ${report.run.machine.cpus} × ${report.run.machine.model}, load ${report.run.machine.loadStart} → ${report.run.machine.loadEnd}, node ${report.run.machine.node}`,
  );
  lines.push('', 'readings (lost = numbered by the gateway, never received, not still queued)');
  lines.push(
    table([
      ['device', 'numbered', 'received', 'duplicates', 'lost', 'queued'],
      ...r.devices.map((d) => [d.id, d.committed ?? '?', d.received, d.duplicates, d.lost, d.queuedAtEnd]),
      ['total', r.committed ?? '?', r.received, r.duplicates, r.lost, r.queuedAtEnd],
    ]),
  );
  if (r.bleAdvertisements !== undefined) {
    const sensors = r.devices.filter((d) => d.driver === 'ble' && d.id !== 'ble_hci0');
    const numbered = sensors.reduce((n, d) => n + (d.committed ?? 0), 0);
    lines.push(
      `served: the fake BlueZ sent ${r.bleAdvertisements} advertisements, the gateway numbered ${numbered} BLE sensor readings`,
    );
  }
  lines.push(
    '',
    'recovery per fault kind (fault over → every affected device published a reading taken after it)',
  );
  lines.push(
    table([
      ['fault', 'injected', 'p50', 'max', 'not recovered', 'availability p50', 'max', 'never online'],
      ...report.recovery.map((s) => [
        s.kind,
        s.injected,
        seconds(s.p50Ms),
        seconds(s.maxMs),
        s.unrecovered,
        seconds(s.availabilityP50Ms),
        seconds(s.availabilityMaxMs),
        s.availabilityNeverBack,
      ]),
    ]),
  );
  const o = report.online;
  lines.push(
    '',
    `bridge online ${o.bridgeOnlinePct ?? '—'} % of ${o.eligibleS} s outside ${o.injectedOutageS} s of injected broker/gateway outages`,
  );
  lines.push(
    `bridge/health: ${Object.entries(o.healthPct)
      .map(([status, p]) => `${status} ${p} %`)
      .join(', ')}`,
  );
  const s = report.supervision;
  lines.push(
    `restarts ${s.restarts}, escalations ${s.escalations}, ladder steps: ${
      Object.entries(s.ladderSteps)
        .map(([k, n]) => `${k} ×${n}`)
        .join(', ') || 'none'
    }`,
  );
  const b = report.badCommands;
  lines.push(
    `bad commands: ${b.sent} sent in ${b.bursts} bursts, ${b.answeredWithError} answered with an error, ${b.accepted} accepted, ${b.unanswered} unanswered`,
  );
  lines.push(
    '',
    `memory (RSS after ${report.memory.warmupS} s of warm-up, bound ${report.memory.boundMiB} MiB)`,
  );
  lines.push(
    table([
      [
        'pid',
        'from',
        'samples',
        'baseline',
        'end',
        'max',
        'growth',
        'trend',
        'peak growth',
        'fds first/max/last',
      ],
      ...report.memory.processes.map((p) => [
        p.pid,
        `+${p.startedAtS} s`,
        p.samples,
        p.baselineMiB === null ? '—' : `${p.baselineMiB} MiB`,
        p.endMiB === null ? '—' : `${p.endMiB} MiB`,
        `${p.maxMiB} MiB`,
        p.growthMiB === null ? 'not judged' : `${p.growthMiB} MiB`,
        p.trendMiBPerHour === null ? '—' : `${p.trendMiBPerHour} MiB/h`,
        p.peakGrowthMiB === null ? '—' : `${p.peakGrowthMiB} MiB`,
        `${p.fdsFirst}/${p.fdsMax}/${p.fdsLast}`,
      ]),
    ]),
  );
  for (const p of report.memory.processes) {
    const points = p.timeline.map(([t, rss, fds]) => `+${t} s ${rss} MiB ${fds} fd`).join(', ');
    lines.push(`  pid ${p.pid} over time: ${points}`);
  }
  if (report.crashes.length > 0) lines.push('', `crashes: ${report.crashes.length} (last lines in the JSON)`);
  if (report.failures.length > 0) lines.push('', 'FAILURES', ...report.failures.map((f) => `  - ${f}`));
  if (report.warnings.length > 0) lines.push('', 'warnings', ...report.warnings.map((w) => `  - ${w}`));
  lines.push('', `logs and database: ${report.run.dir}`);
  return lines.join('\n');
}
