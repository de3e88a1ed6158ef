import type { Logger } from '../logging/index.js';
import type { GatewayClock } from '../machines/clock.js';
import { type StopOutcome, stopInReverse } from '../hosting/orderlyStop.js';

// The parts of the running gateway (database, MQTT, bridge, supervision tree, HTTP, timers...) as
// services started in order and stopped in the reverse order, so what a part uses is always running
// while it runs. A stop that throws is logged and one that hangs is cut off after its bound: either
// way the services before it still stop, and the process still ends.

export interface Service {
  readonly name: string;
  start?(): void | Promise<unknown>;
  stop?(): void | Promise<unknown>;
  /** How long its stop may take before the next one goes on without it (default: the runner's). */
  readonly stopTimeoutMs?: number;
}

export class Services {
  readonly #started: Service[] = [];
  readonly #clock: Pick<GatewayClock, 'setTimeout' | 'clearTimeout'>;
  readonly #log: Logger;
  readonly #stopTimeoutMs: number;

  constructor(options: {
    clock: Pick<GatewayClock, 'setTimeout' | 'clearTimeout'>;
    log: Logger;
    stopTimeoutMs: number;
  }) {
    this.#clock = options.clock;
    this.#log = options.log;
    this.#stopTimeoutMs = options.stopTimeoutMs;
  }

  /** Starts `service` after those started before it; it stops before them. */
  async start(service: Service): Promise<void> {
    await service.start?.();
    this.#started.push(service);
  }

  /** Stops every started service, the last started first, each within its bound. */
  stopAll(): Promise<Record<string, StopOutcome>> {
    const services = this.#started.splice(0);
    return stopInReverse(
      services.map((service) => ({
        id: service.name,
        stop: () => service.stop?.(),
        shutdownMs: service.stopTimeoutMs,
      })),
      {
        clock: this.#clock,
        shutdownMs: this.#stopTimeoutMs,
        onProblem: (name, problem, error) =>
          this.#log.warn(`${name}: ${problem}`, error === undefined ? {} : { error }),
      },
    );
  }
}
