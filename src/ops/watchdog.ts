import type { SdNotify } from './sdNotify.js';

// The systemd watchdog is only worth something if WATCHDOG=1 means "really alive": a bare timer would
// keep pinging from a process whose supervisor died or whose event loop is blocked for seconds. Each
// tick asks the probes (event-loop lag measured by this very timer, the supervision tree, the health
// check) and pings only when all pass; when one fails it says which, once, and systemd restarts the
// service after WatchdogSec without pings.

export interface Probe {
  name: string;
  /** Undefined when healthy, else why not. */
  check(): string | undefined;
}

export interface WatchdogOptions {
  notify: SdNotify;
  intervalMs: number;
  probes: readonly Probe[];
  /** Event-loop lag beyond which the process counts as stuck. */
  maxLagMs?: number;
  log: (message: string) => void;
  now?: () => number;
}

export class SystemdWatchdog {
  #timer: ReturnType<typeof setInterval> | undefined;
  #expectedAt = 0;
  #failing: string | undefined;

  constructor(private readonly options: WatchdogOptions) {}

  start(): void {
    const now = this.options.now ?? Date.now;
    this.#expectedAt = now() + this.options.intervalMs;
    this.#timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.#timer.unref();
  }

  /** One check-and-ping (also called by tests). Returns why it did not ping, if it did not. */
  async tick(): Promise<string | undefined> {
    const now = (this.options.now ?? Date.now)();
    const lag = now - this.#expectedAt;
    this.#expectedAt = now + this.options.intervalMs;
    const maxLag = this.options.maxLagMs ?? Math.max(1_000, this.options.intervalMs);
    const problems = [
      ...(lag > maxLag ? [`event loop blocked for ${lag} ms`] : []),
      ...this.options.probes.flatMap((probe) => {
        const why = probe.check();
        return why === undefined ? [] : [`${probe.name}: ${why}`];
      }),
    ];
    if (problems.length > 0) {
      const why = problems.join('; ');
      if (why !== this.#failing) this.options.log(`not pinging the systemd watchdog: ${why}`);
      this.#failing = why;
      return why;
    }
    if (this.#failing !== undefined) this.options.log('pinging the systemd watchdog again');
    this.#failing = undefined;
    await this.options.notify.watchdog();
    return undefined;
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
