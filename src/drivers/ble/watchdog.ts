import { type Actor, createActor, fromPromise } from 'xstate';
import type { GatewayClock } from '../../machines/clock.js';
import {
  type AdapterCheck,
  bleWatchdogMachine,
  type WatchdogEmitted,
  type WatchdogSettings,
} from './watchdogMachine.js';
import type { ActorInspector, BusEvent, JsonValue } from '../contract.js';

// Runs the pure watchdog machine (src/drivers/ble/watchdogMachine.ts) for one connected adapter: its `check` is
// the runtime's bounded look at the adapter, and what it emits becomes bus events: `recover` for the
// supervisor's ladder, the adapter device's state (healthy checks) or failures (which make it degraded),
// and a log line at the start of an unhealthy episode and when a request was refused.

export interface BleLog {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

export interface AdapterWatchBinding {
  adapter: string;
  /** The adapter device the ladder and the state belong to. */
  deviceId: string;
  settings: WatchdogSettings;
  clock: GatewayClock;
  /** Observes the watchdog's actor system (`--inspect`). */
  inspect?: ActorInspector | undefined;
  check(signal: AbortSignal): Promise<AdapterCheck>;
  emit(event: BusEvent): void;
  log: BleLog;
}

/** The adapter device's state, as published on `<base>/ble_hci0`. */
export function adapterState(adapter: string, check: AdapterCheck): JsonValue {
  const last = check.lastAdvertisementAt;
  return {
    adapter,
    powered: check.powered,
    discovering: check.discovering,
    last_advertisement: last === null ? null : new Date(last).toISOString(),
  };
}

export class AdapterWatch {
  readonly #binding: AdapterWatchBinding;
  #actor: Actor<ReturnType<typeof bleWatchdogMachine.provide>> | undefined;
  /** An unhealthy episode is in progress (its first problem was logged). */
  #episode = false;

  constructor(binding: AdapterWatchBinding) {
    this.#binding = binding;
  }

  start(): void {
    if (this.#actor) return;
    const { settings, clock, inspect } = this.#binding;
    const logic = bleWatchdogMachine.provide({
      actors: { check: fromPromise<AdapterCheck>(({ signal }) => this.#binding.check(signal)) },
    });
    const actor = createActor(logic, { input: settings, clock, ...(inspect ? { inspect } : {}) });
    for (const type of ['recover', 'healthy', 'unhealthy', 'holding'] as const) {
      actor.on(type, (event) => this.#onEmitted(event));
    }
    this.#episode = false;
    this.#actor = actor;
    actor.start();
  }

  stop(): void {
    this.#actor?.stop();
    this.#actor = undefined;
  }

  stepStarted(step: string): void {
    this.#actor?.send({ type: 'STEP_STARTED', step });
  }

  stepDone(step: string, ok: boolean): void {
    this.#actor?.send({ type: 'STEP_DONE', step, ok });
  }

  /** Publishes the adapter's state now (right after it connected, before the first check). */
  async report(): Promise<void> {
    if (!this.#actor) return;
    try {
      const check = await this.#binding.check(AbortSignal.timeout(5_000));
      this.#data(check);
    } catch {
      // The watchdog's own checks report a mute D-Bus; this first state is only a courtesy.
    }
  }

  #data(check: AdapterCheck): void {
    const { adapter, deviceId } = this.#binding;
    this.#binding.emit({
      type: 'device',
      deviceId,
      event: { type: 'data', operation: 'watchdog', result: adapterState(adapter, check) },
    });
  }

  #onEmitted(event: WatchdogEmitted): void {
    const { adapter, deviceId, log } = this.#binding;
    switch (event.type) {
      case 'recover':
        this.#binding.emit({ type: 'recover', deviceId, reason: event.reason });
        return;
      case 'healthy':
        if (event.recovered || this.#episode) log.info(`adapter ${adapter} is healthy again`);
        this.#episode = false;
        this.#data(event.check);
        return;
      case 'unhealthy':
        if (!this.#episode) {
          this.#episode = true;
          log.warn(`adapter ${adapter}: ${event.problem}; asking for the next recovery step`);
        }
        this.#binding.emit({ type: 'device', deviceId, event: { type: 'failure', error: event.problem } });
        return;
      case 'holding':
        log.warn(
          `adapter ${adapter} is still unhealthy (${event.problem}) but no recovery step started: the next step is rate limited or another one runs; waiting instead of asking again`,
        );
        return;
    }
  }
}
