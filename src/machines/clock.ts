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
