import { cpus, totalmem } from 'node:os';

// How every benchmark prints: one line per figure with the goal or baseline it is compared to, so a
// reader sees at once what was measured, against what, and on which machine.

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** What the figure is compared with, e.g. "goal" or "raw XState". */
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

/** Prints a table of figures; the ratio is value/baseline, and "ok" says whether the goal is met. */
export function printFigures(title: string, figures: readonly Figure[]): void {
  console.log(`\n## ${title}\n`);
  console.log('| figure | value | baseline | ratio | meets |');
  console.log('|---|---|---|---|---|');
  for (const f of figures) {
    const ratio = f.value / f.baseline;
    const meets = f.better === 'lower' ? f.value <= f.baseline : f.value >= f.baseline;
    console.log(
      `| ${f.name} | ${format(f.value)} ${f.unit} | ${f.baselineName}: ${format(f.baseline)} ${f.unit} | ${ratio.toFixed(2)} | ${meets ? 'yes' : 'NO'} |`,
    );
  }
}
