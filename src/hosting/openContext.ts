import type {
  ActorInspector,
  HeardDevice,
  JsonValue,
  OpenContext,
  TransportCall,
} from '../drivers/contract.js';
import { errorText } from '../errorText.js';
import type { GatewayClock } from '../machines/clock.js';

// The OpenContext of one gateway: the clock and sinks its bus openers get, and what they asked to be
// stopped with the gateway. Sinks are called from the runtimes' own callbacks, so a sink that throws
// must not break the runtime that reported.

export interface OpenContextSinks {
  heard?: (device: HeardDevice) => void;
  recordCall?: (call: TransportCall) => void;
  updateFound?: (deviceId: string, fields: Record<string, JsonValue>) => boolean;
}

export class GatewayOpenContext implements OpenContext {
  readonly #stops: (() => Promise<void>)[] = [];

  constructor(
    readonly clock: GatewayClock,
    private readonly sinks: OpenContextSinks = {},
    readonly inspect?: ActorInspector,
  ) {}

  heard(device: HeardDevice): void {
    this.#report('heard-device', () => this.sinks.heard?.(device));
  }

  recordCall(call: TransportCall): void {
    this.#report('transport-call', () => this.sinks.recordCall?.(call));
  }

  updateFound(deviceId: string, fields: Record<string, JsonValue>): boolean {
    try {
      return this.sinks.updateFound?.(deviceId, fields) ?? false;
    } catch (error) {
      process.emitWarning(`stored-device update failed: ${errorText(error)}`);
      return false;
    }
  }

  onClose(stop: () => Promise<void>): void {
    this.#stops.push(stop);
  }

  /** Stops what the openers kept; never rejects. */
  async close(): Promise<void> {
    const stops = this.#stops.splice(0);
    await Promise.all(stops.map((stop) => stop().catch(() => undefined)));
  }

  #report(what: string, deliver: () => void): void {
    try {
      deliver();
    } catch (error) {
      process.emitWarning(`${what} listener failed: ${errorText(error)}`);
    }
  }
}
