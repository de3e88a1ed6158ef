// The power cycles of one adapter in a gateway, whoever runs them: the BLE line's ladder (its watchdog,
// a request over MQTT) and the ladders of the connected devices on the adapter (Renogy). The radio is
// one, so is its hourly limit: every power_cycle_adapter step takes a cycle here before it powers the
// adapter off. A step refused here did not run: it fails with PowerCycleRefused, so the ladder that
// asked goes on to its next rung (restart_actor) instead of asking again for a cycle it cannot have.
// (A ladder's own limit on the step, counted by the supervisor, makes it wait instead: that is the
// same device asking too often, not the radio being shared.)

/** Power cycles of one adapter allowed in any hour, by everything on it together. */
export const ADAPTER_POWER_CYCLES_PER_HOUR = 10;

const HOUR_MS = 3_600_000;

/** A power cycle refused because the adapter had its hourly limit of them: the step did not run. */
export class PowerCycleRefused extends Error {
  override readonly name = 'PowerCycleRefused';
  /** When the oldest cycle of the hour leaves it (ms, the caller's clock). */
  readonly retryAt: number;

  constructor(message: string, retryAt: number) {
    super(message);
    this.retryAt = retryAt;
  }
}

export class PowerCycleBudget {
  readonly adapter: string;
  readonly maxPerHour: number;
  readonly #cycles: { at: number; by: string }[] = [];

  constructor(adapter: string, maxPerHour = ADAPTER_POWER_CYCLES_PER_HOUR) {
    this.adapter = adapter;
    this.maxPerHour = maxPerHour;
  }

  /** Power cycles of the adapter in the hour before `now`. */
  recent(now: number): number {
    this.#forget(now);
    return this.#cycles.length;
  }

  /**
   * Counts a power cycle `by` someone at `now`, or throws PowerCycleRefused (counting nothing) when the
   * adapter had `maxPerHour` of them in the hour before.
   */
  take(by: string, now: number): void {
    this.#forget(now);
    if (this.#cycles.length >= this.maxPerHour) {
      const retryAt = (this.#cycles[0]?.at ?? now) + HOUR_MS;
      throw new PowerCycleRefused(
        `power_cycle_adapter refused for ${by}: adapter ${this.adapter} was power-cycled ${this.#cycles.length} times in the last hour (${this.#whom()}; limit ${this.maxPerHour}, shared by the BLE line and the connected devices of the adapter); the next is allowed in ${Math.ceil((retryAt - now) / 1000)} s`,
        retryAt,
      );
    }
    this.#cycles.push({ at: now, by });
  }

  #forget(now: number): void {
    while ((this.#cycles[0]?.at ?? now) <= now - HOUR_MS) this.#cycles.shift();
  }

  /** "7 by Renogy device solar, 3 by the BLE line ble:hci0". */
  #whom(): string {
    const counts = new Map<string, number>();
    for (const { by } of this.#cycles) counts.set(by, (counts.get(by) ?? 0) + 1);
    return [...counts].map(([by, count]) => `${count} by ${by}`).join(', ');
  }
}
