import { readFileSync } from 'node:fs';

// CPU time of the processes a benchmark run involves (this one, the broker, the subscriber), so a rate
// can be read as "CPU per message" in each of them: on a small machine the rates of two paths differ by
// what they cost and by what the other processes leave them, and only CPU time tells the two apart.

/** Linux clock ticks per second (USER_HZ): /proc/<pid>/stat counts utime and stime in them. */
const TICKS_PER_SECOND = 100;

/** user + system CPU seconds of a process so far, from /proc (10 ms resolution); NaN when unknown. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may contain spaces) start after the last ')': state is field 3,
    // utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

export type CpuSeconds = Record<string, number>;

/** Measures CPU seconds spent by named processes (`self` is this one) between start and stop. */
export class CpuMeter {
  readonly #pids: Record<string, number | undefined>;
  readonly #start: CpuSeconds;

  constructor(pids: Record<string, number | undefined>) {
    this.#pids = pids;
    this.#start = this.#read();
  }

  stop(): CpuSeconds {
    const end = this.#read();
    return Object.fromEntries(
      Object.keys(end).map((name) => [name, (end[name] as number) - (this.#start[name] as number)]),
    );
  }

  #read(): CpuSeconds {
    const { user, system } = process.cpuUsage();
    const seconds: CpuSeconds = { self: (user + system) / 1e6 };
    for (const [name, pid] of Object.entries(this.#pids)) {
      seconds[name] = pid === undefined ? Number.NaN : processCpuSeconds(pid);
    }
    return seconds;
  }
}

/** "self 21 µs, broker 9 µs, subscriber 14 µs per message; total 1.7 cores" */
export function describeCpu(cpu: CpuSeconds, messages: number, wallSeconds: number): string {
  const perMessage = Object.entries(cpu)
    .map(([name, seconds]) => `${name} ${((seconds / messages) * 1e6).toFixed(1)}`)
    .join(', ');
  const total = Object.values(cpu).reduce((sum, seconds) => sum + seconds, 0);
  return `${perMessage} µs CPU per message; ${(total / wallSeconds).toFixed(2)} cores busy`;
}
