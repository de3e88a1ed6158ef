// What happened on the virtual DALI bus and in the fake adapter, in order: tests assert on it ("the
// second copy of SET MAX LEVEL arrived", "fault: answer dropped") and a failing test prints it.

export interface SimEvent {
  /** `info`: worth a log line always (faults, state changes, plug events); `debug`: every exchange. */
  level: 'info' | 'debug';
  message: string;
}

export interface LoggedEvent extends SimEvent {
  /** Clock time (ms) when it was logged. */
  at: number;
  /** Who logged it: the bus model, one adapter (its path), or the enumerator. */
  source: string;
}

/** A bounded, append-only log: a long soak keeps the last `limit` entries, not all of them. */
export class EventLog {
  readonly #entries: LoggedEvent[] = [];
  readonly #listeners = new Set<(event: LoggedEvent) => void>();
  readonly #limit: number;
  readonly #now: () => number;

  constructor(options: { limit?: number; now?: () => number } = {}) {
    this.#limit = options.limit ?? 5000;
    this.#now = options.now ?? Date.now;
  }

  record(source: string, event: SimEvent): void {
    const entry = { ...event, source, at: this.#now() };
    this.#entries.push(entry);
    if (this.#entries.length > this.#limit) this.#entries.splice(0, this.#entries.length - this.#limit);
    for (const listener of this.#listeners) listener(entry);
  }

  recordAll(source: string, events: readonly SimEvent[]): void {
    for (const event of events) this.record(source, event);
  }

  /** Every entry kept, oldest first (a copy). */
  get entries(): LoggedEvent[] {
    return [...this.#entries];
  }

  /** Messages only, optionally of one level: handy in `expect(...).toContain(...)`. */
  messages(level?: SimEvent['level']): string[] {
    return this.#entries
      .filter((entry) => level === undefined || entry.level === level)
      .map((entry) => entry.message);
  }

  /** Returns a function that removes the listener. */
  onEvent(listener: (event: LoggedEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  clear(): void {
    this.#entries.length = 0;
  }
}
