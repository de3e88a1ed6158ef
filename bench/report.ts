import { cpus, totalmem } from 'node:os';

// How every benchmark prints: one line per figure with the goal or baseline it is compared to, so a
// reader sees at once what was measured, against what, and on which machine.

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** What the figure is compared with: "goal" (a target to meet) or a named baseline measured alongside. */
  baselineName: string;
  baseline: number;
  /** Whether smaller values are better (times, memory) or larger (rates). */
  better: 'lower' | 'higher';
}

export function machineDescription(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

function format(value: number): string {
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(2);
}

/** Prints a table of figures; the ratio is value/baseline; "meets" is only for goals, not baselines. */
export function printFigures(title: string, figures: readonly Figure[]): void {
  console.log(`\n## ${title}\n`);
  console.log('| figure | value | compared with | ratio | meets goal |');
  console.log('|---|---|---|---|---|');
  for (const f of figures) {
    const ratio = f.value / f.baseline;
    const better = f.better === 'lower' ? f.value <= f.baseline : f.value >= f.baseline;
    const meets = f.baselineName !== 'goal' ? '—' : better ? 'yes' : 'NO';
    console.log(
      `| ${f.name} | ${format(f.value)} ${f.unit} | ${f.baselineName}: ${format(f.baseline)} ${f.unit} | ${ratio.toFixed(2)} | ${meets} |`,
    );
  }
}
