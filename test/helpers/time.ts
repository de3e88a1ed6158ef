import { SimulatedClock } from 'xstate';
import type { GatewayClock } from '../../src/machines/clock.js';

/** A SimulatedClock that also satisfies the gateway's clock type (it already has now()). */
export function simulatedClock(): SimulatedClock & GatewayClock {
  return new SimulatedClock() as SimulatedClock & GatewayClock;
}

/** Lets promise chains started by the last step settle (actors resolve through microtasks). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Moves simulated time forward in steps, settling promises between steps so chained timers fire in order. */
export async function advance(clock: SimulatedClock, ms: number, stepMs = 10): Promise<void> {
  let remaining = ms;
  await settle();
  while (remaining > 0) {
    const step = Math.min(stepMs, remaining);
    clock.increment(step);
    remaining -= step;
    await settle();
  }
}
