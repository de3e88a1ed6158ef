import { readdir, readFile } from 'node:fs/promises';

// Resource samples of the gateway process from /proc: VmRSS (resident memory) and the number of open
// file descriptors, every few seconds. Each gateway process (a SIGKILL starts a new one) is its own
// series, because a fresh process starts small again and would hide a leak in the one before.

export interface ResourceSample {
  /** ms since the soak started. */
  t: number;
  rssKiB: number;
  fds: number;
}

export interface ProcessSeries {
  pid: number;
  startedAt: number;
  samples: ResourceSample[];
}

export async function sampleProcess(pid: number): Promise<{ rssKiB: number; fds: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    if (!match) return undefined;
    const fds = (await readdir(`/proc/${pid}/fd`)).length;
    return { rssKiB: Number(match[1]), fds };
  } catch {
    // The process is gone (between a kill and its restart): no sample.
    return undefined;
  }
}

export class ResourceSampler {
  readonly series: ProcessSeries[] = [];
  readonly #origin: number;
  #timer: NodeJS.Timeout | undefined;
  readonly #current: () => { pid: number; t: number } | undefined;

  /** `current`: the running gateway process and when it was started (ms since the soak started). */
  constructor(origin: number, current: () => { pid: number; t: number } | undefined) {
    this.#origin = origin;
    this.#current = current;
  }

  start(intervalMs: number): void {
    this.#timer = setInterval(() => void this.sample(), intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async sample(): Promise<void> {
    const process = this.#current();
    if (process === undefined) return;
    const measured = await sampleProcess(process.pid);
    if (!measured) return;
    let current = this.series.at(-1);
    if (current?.pid !== process.pid) {
      current = { pid: process.pid, startedAt: process.t, samples: [] };
      this.series.push(current);
    }
    current.samples.push({ t: Date.now() - this.#origin, ...measured });
  }
}
