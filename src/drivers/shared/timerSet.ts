// The timers a simulated device has scheduled (answers due, bytes still on the wire), kept so that a
// disconnect, an unplug or a stop cancels every one of them at once and nothing fires afterwards.

export class TimerSet {
  readonly #timers = new Set<NodeJS.Timeout>();

  /** Runs `action` after `ms`, unless cancelled or cleared first. */
  after(ms: number, action: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      action();
    }, ms);
    this.#timers.add(timer);
    return timer;
  }

  cancel(timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    this.#timers.delete(timer);
  }

  /** Cancels every timer still pending. */
  clear(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
