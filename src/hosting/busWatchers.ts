import type { BusEvent } from '../drivers/contract.js';

// Who watches a bus runtime (its supervisor, normally one): every driver's watchBus/emit pair.
export class BusWatchers {
  readonly #watchers = new Set<(event: BusEvent) => void>();

  /** Adds a watcher; returns the function that removes it (BusRuntime.watchBus's contract). */
  add(onEvent: (event: BusEvent) => void): () => void {
    this.#watchers.add(onEvent);
    return () => this.#watchers.delete(onEvent);
  }

  emit(event: BusEvent): void {
    for (const watcher of this.#watchers) watcher(event);
  }

  clear(): void {
    this.#watchers.clear();
  }
}
