import { every, type GatewayClock, systemClock } from '../machines/clock.js';
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
  /** What the ticks are timed with: the wall clock, or a SimulatedClock in tests. */
  clock?: GatewayClock;
  /** The time, when it is not the clock's. */
  now?: () => number;
}

export class SystemdWatchdog {
  /** Cancels the ticks. */
  #timer: (() => void) | undefined;
  #expectedAt = 0;
  #failing: string | undefined;

  readonly #clock: GatewayClock;
  readonly #now: () => number;

  constructor(private readonly options: WatchdogOptions) {
    const clock = options.clock ?? systemClock;
    this.#clock = clock;
    this.#now = options.now ?? (() => clock.now());
  }

  start(): void {
    this.#expectedAt = this.#now() + this.options.intervalMs;
    this.#timer = every(this.#clock, this.options.intervalMs, () => void this.tick(), {
      unref: true,
    });
  }

  /** One check-and-ping (also called by tests). Returns why it did not ping, if it did not. */
  async tick(): Promise<string | undefined> {
    const now = this.#now();
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
    this.#timer?.();
    this.#timer = undefined;
  }
}
