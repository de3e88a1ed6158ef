// Latency and failure counts of every D-Bus operation the BLE driver makes, so a slow or wedged
// bluetoothd shows up in numbers (Operations exposes them on /metrics) and not only as a timeout in a
// log line. Latencies are kept in a ring per operation (the last SAMPLES calls), which is enough for
// p50/p95/p99 of what the gateway does now without growing with uptime.

const SAMPLES = 512;

export type CallOutcome = 'ok' | 'error' | 'timeout';

export interface OperationStats {
  calls: number;
  errors: number;
  timeouts: number;
  /** Milliseconds, over the last calls kept; null before the first answered call. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

class Operation {
  calls = 0;
  errors = 0;
  timeouts = 0;
  readonly #samples: number[] = [];
  #next = 0;

  add(ms: number): void {
    if (this.#samples.length < SAMPLES) this.#samples.push(ms);
    else this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % SAMPLES;
  }

  snapshot(): OperationStats {
    const sorted = [...this.#samples].sort((a, b) => a - b);
    const at = (q: number) =>
      sorted.length === 0
        ? null
        : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null);
    return {
      calls: this.calls,
      errors: this.errors,
      timeouts: this.timeouts,
      p50: at(0.5),
      p95: at(0.95),
      p99: at(0.99),
      max: sorted.length === 0 ? null : (sorted.at(-1) ?? null),
    };
  }
}

export type CallListener = (operation: string, ms: number, outcome: CallOutcome) => void;

export class DbusCallStats {
  readonly #operations = new Map<string, Operation>();
  readonly #listeners = new Set<CallListener>();

  /** Hears every call as it is recorded (the Prometheus histogram); returns the function that stops it. */
  listen(listener: CallListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** One finished call; a call that timed out counts with its bound as its latency. */
  record(operation: string, ms: number, outcome: CallOutcome): void {
    let entry = this.#operations.get(operation);
    if (!entry) {
      entry = new Operation();
      this.#operations.set(operation, entry);
    }
    entry.calls += 1;
    if (outcome === 'error') entry.errors += 1;
    if (outcome === 'timeout') entry.timeouts += 1;
    entry.add(ms);
    for (const listener of this.#listeners) listener(operation, ms, outcome);
  }

  /** Every operation seen so far, by name (`Adapter1.StartDiscovery`, `Properties.Get(Powered)`, …). */
  snapshot(): Record<string, OperationStats> {
    return Object.fromEntries(
      [...this.#operations].sort(([a], [b]) => a.localeCompare(b)).map(([name, op]) => [name, op.snapshot()]),
    );
  }

  reset(): void {
    this.#operations.clear();
  }
}
