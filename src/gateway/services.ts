import { errorText } from '../errorText.js';
import type { Logger } from '../logging/index.js';
import type { GatewayClock } from '../machines/clock.js';

// The parts of the running gateway (database, MQTT, bridge, supervision tree, HTTP, timers...) as
// services started in order and stopped in the reverse order, so what a part uses is always running
// while it runs. A stop that throws is logged and one that hangs is cut off after its bound: either
// way the services before it still stop, and the process still ends.

export interface Service {
  readonly name: string;
  start?(): void | Promise<void>;
  stop?(): void | Promise<void>;
  /** How long its stop may take before the next one goes on without it (default: the runner's). */
  readonly stopTimeoutMs?: number;
}

export type StopOutcome = 'stopped' | 'failed' | 'timed_out';

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
  async stopAll(): Promise<Record<string, StopOutcome>> {
    const outcomes: Record<string, StopOutcome> = {};
    for (let service = this.#started.pop(); service; service = this.#started.pop()) {
      outcomes[service.name] = await this.#stop(service);
    }
    return outcomes;
  }

  async #stop(service: Service): Promise<StopOutcome> {
    const boundMs = service.stopTimeoutMs ?? this.#stopTimeoutMs;
    let timer: unknown;
    const bound = new Promise<StopOutcome>((resolve) => {
      timer = this.#clock.setTimeout(() => resolve('timed_out'), boundMs);
    });
    const stopping = (async () => {
      await service.stop?.();
      return 'stopped' as const;
    })().catch((error: unknown) => {
      this.#log.warn(`stopping the ${service.name} failed: ${errorText(error)}`, { error });
      return 'failed' as const;
    });
    const outcome = await Promise.race([stopping, bound]);
    this.#clock.clearTimeout(timer);
    if (outcome === 'timed_out')
      this.#log.warn(`the ${service.name} did not stop within ${boundMs} ms; going on without it`);
    return outcome;
  }
}
