import type { GatewayClock } from '../machines/clock.js';
import { errorText } from '../errorText.js';

// How a group of children stops, as an OTP supervisor stops its own: the last started first, each
// given its shutdown time and then left behind (the `shutdown` of a child spec in supervisor.erl), so
// one child that throws or hangs never keeps those started before it from stopping.

export interface StoppingChild {
  readonly id: string;
  stop(): void | Promise<unknown>;
  /** Its own bound, instead of the group's. */
  readonly shutdownMs?: number | undefined;
}

export type StopOutcome = 'stopped' | 'failed' | 'timed_out';

export interface OrderlyStopOptions {
  clock: Pick<GatewayClock, 'setTimeout' | 'clearTimeout'>;
  /** How long each child may take to stop. */
  shutdownMs: number;
  /** A child threw while stopping, or did not stop within its bound. */
  onProblem?: (id: string, problem: string, error?: unknown) => void;
}

/** Stops one child within its bound. */
export async function stopWithin(child: StoppingChild, options: OrderlyStopOptions): Promise<StopOutcome> {
  const boundMs = child.shutdownMs ?? options.shutdownMs;
  let timer: unknown;
  const bound = new Promise<StopOutcome>((resolve) => {
    timer = options.clock.setTimeout(() => resolve('timed_out'), boundMs);
  });
  const stopping = (async () => {
    await child.stop();
    return 'stopped' as const;
  })().catch((error: unknown) => {
    options.onProblem?.(child.id, `stopping it failed: ${errorText(error)}`, error);
    return 'failed' as const;
  });
  const outcome = await Promise.race([stopping, bound]);
  options.clock.clearTimeout(timer);
  if (outcome === 'timed_out')
    options.onProblem?.(child.id, `it did not stop within ${boundMs} ms; going on without it`);
  return outcome;
}

/** Stops `children` (given in start order) the last first, one after the other, each within its bound. */
export async function stopInReverse(
  children: readonly StoppingChild[],
  options: OrderlyStopOptions,
): Promise<Record<string, StopOutcome>> {
  const outcomes: Record<string, StopOutcome> = {};
  for (const child of [...children].reverse()) outcomes[child.id] = await stopWithin(child, options);
  return outcomes;
}
