// Machines read time through the actor system's clock, so tests drive every timer and every deadline
// with one SimulatedClock and production uses the wall clock. XState's own default clock has no
// `now()`, which is why the gateway always creates its actors with `systemClock`.

/** The clock XState schedules with (its own `Clock` type is not exported), plus the time. */
export interface GatewayClock {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- XState's Clock signature, matched structurally.
  setTimeout(fn: (...args: any[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
  now(): number;
}

export const systemClock: GatewayClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

export function nowOf(system: { _clock: unknown }): number {
  const clock = system._clock as Partial<GatewayClock>;
  return typeof clock.now === 'function' ? clock.now() : Date.now();
}

/**
 * Calls `fn` every `ms` on `clock` (which, like XState's, has no setInterval) until the returned
 * function is called. The next call is scheduled before this one runs, as setInterval would.
 * `unref`: on the wall clock, the timer alone does not keep the process alive (a watch that only
 * matters while something else runs).
 */
export function every(
  clock: Pick<GatewayClock, 'setTimeout' | 'clearTimeout'>,
  ms: number,
  fn: () => void,
  options: { unref?: boolean } = {},
): () => void {
  let timer: unknown;
  let cancelled = false;
  const schedule = () => {
    timer = clock.setTimeout(() => {
      if (cancelled) return;
      schedule();
      fn();
    }, ms);
    if (options.unref) unref(timer);
  };
  schedule();
  return () => {
    cancelled = true;
    clock.clearTimeout(timer);
  };
}

/** A wall-clock timer (from systemClock) no longer keeps the process alive; other clocks' are left as they are. */
export function unref(timer: unknown): void {
  (timer as Partial<NodeJS.Timeout> | undefined)?.unref?.();
}

/** Resolves after `ms` on `clock`. */
export function sleep(clock: Pick<GatewayClock, 'setTimeout'>, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
