import type { GatewayClock } from '../../machines/clock.js';
import type { BusEvent, BusRuntime, JsonValue } from '../contract.js';
import { type LightSet, lightSet } from './capabilities.js';
import { SIMULATED_LIGHT } from './simulatedCapabilities.js';
import { seededRandom } from './random.js';

// A bus of simulated devices behind the real BusRuntime contract, with fault injection. It backs the
// `transport: simulated` option of every driver until that driver brings a protocol-level simulator,
// the tests of the machines and supervisors, and the actor-tree benchmark. All waiting goes through the
// injected clock, so tests run it on a SimulatedClock.

export interface SimulationOptions {
  connectDelayMs: number;
  operationDelayMs: number;
  /** Probability that a connect or an operation fails. */
  failureRate: number;
  /** Probability that a connect or an operation never answers (until aborted). */
  hangRate: number;
  /** A connected device loses its link after this long; 0 = never. */
  disconnectEveryMs: number;
}

export const DEFAULT_SIMULATION: SimulationOptions = {
  connectDelayMs: 50,
  operationDelayMs: 5,
  failureRate: 0,
  hangRate: 0,
  disconnectEveryMs: 0,
};

type Outcome = 'ok' | 'fail' | 'hang';

/** The lamp of a simulated device, in the shape of Home Assistant's JSON-schema light state. */
interface SimulatedLight {
  state: 'ON' | 'OFF';
  brightness: number;
}

interface SimulatedDevice {
  options: SimulationOptions;
  connected: boolean;
  readings: number;
  /** Absent for a device that has no lamp (a meter or a sensor simulated without its protocol). */
  light: SimulatedLight | undefined;
  /** What the last `set` asked of a device without a lamp (the machine tests' generic device echoes it). */
  lastSet: JsonValue;
  dropTimer: unknown;
  /** Outcomes forced by a test, taken before the random ones. */
  scripted: Outcome[];
}

const round1 = (value: number) => Math.round(value * 10) / 10;

/** A lamp's new state after a `set`: ON without a brightness goes back to its last level (full at first). */
function applySimulatedLight(light: SimulatedLight, command: LightSet): SimulatedLight {
  const { brightness } = command;
  if (command.state === 'OFF' || brightness === 0) return { state: 'OFF', brightness: light.brightness };
  if (brightness !== undefined) return { state: 'ON', brightness };
  if (command.state === 'ON') return { state: 'ON', brightness: light.brightness || 254 };
  return light;
}

/** The n-th reading of a simulated device: slowly drifting climate values and a growing energy counter. */
export function simulatedReading(n: number): { temperature: number; humidity: number; energy: number } {
  return {
    temperature: round1(21 + 2 * Math.sin(n / 30)),
    humidity: round1(45 + 5 * Math.cos(n / 45)),
    energy: round1(n * 12.5),
  };
}

export class SimulatedBusRuntime implements BusRuntime {
  private readonly devices = new Map<string, SimulatedDevice>();
  private readonly busWatchers = new Set<(event: BusEvent) => void>();
  private readonly random: () => number;
  private present = true;
  /** Every call, in order, for tests that check what the machines asked for. */
  readonly calls: string[] = [];
  recordCalls = false;

  constructor(
    readonly busId: string,
    private readonly clock: GatewayClock,
    seed = 1,
    /** The recovery steps it runs (its driver's ladder but restart_actor); absent: any (machine tests). */
    private readonly steps?: readonly string[],
  ) {
    this.random = seededRandom(seed);
  }

  /**
   * Adds a device; `withLight` gives it a dimmable lamp (off at first) whose state every poll and
   * command reports, so a Home Assistant light always finds its `state` and `brightness`.
   */
  addDevice(deviceId: string, options: Partial<SimulationOptions> = {}, withLight = false): void {
    this.devices.set(deviceId, {
      options: { ...DEFAULT_SIMULATION, ...options },
      connected: false,
      readings: 0,
      light: withLight ? { state: 'OFF', brightness: 0 } : undefined,
      lastSet: null,
      dropTimer: undefined,
      scripted: [],
    });
  }

  /** Forces the outcome of the next connects/operations of a device (tests). */
  script(deviceId: string, ...outcomes: Outcome[]): void {
    this.device(deviceId).scripted.push(...outcomes);
  }

  /** Unplugs the whole bus: connected devices lose their link, connects fail until `plug()`. */
  unplug(reason = 'simulated unplug'): void {
    this.present = false;
    // One bus-wide event, not one per device: the supervisor tells every device.
    for (const device of this.devices.values()) device.connected = false;
    for (const watcher of this.busWatchers) watcher({ type: 'lost', error: reason });
  }

  plug(): void {
    this.present = true;
    for (const watcher of this.busWatchers) watcher({ type: 'present' });
  }

  /** Drops one device's link as if its cable was pulled. */
  dropDevice(deviceId: string, reason = 'simulated link loss'): void {
    this.dropLink(deviceId, this.device(deviceId), reason);
  }

  /** A spontaneous reading from a connected device (an advertisement, an unsolicited frame). */
  pushData(deviceId: string, result: JsonValue, operation = 'reading'): void {
    if (!this.device(deviceId).connected) return;
    for (const watcher of this.busWatchers)
      watcher({ type: 'device', deviceId, event: { type: 'data', operation, result } });
  }

  isConnected(deviceId: string): boolean {
    return this.device(deviceId).connected;
  }

  async connect(deviceId: string, signal: AbortSignal): Promise<void> {
    const device = this.device(deviceId);
    this.record(`connect ${deviceId}`);
    if (!this.present) throw new Error(`${this.busId} is not present`);
    await this.perform(device, device.options.connectDelayMs, signal, 'connect');
    device.connected = true;
    if (device.options.disconnectEveryMs > 0) {
      device.dropTimer = this.clock.setTimeout(
        () => this.dropLink(deviceId, device, 'simulated periodic disconnect'),
        device.options.disconnectEveryMs,
      );
    }
  }

  async disconnect(deviceId: string): Promise<void> {
    const device = this.devices.get(deviceId);
    if (!device) return;
    this.record(`disconnect ${deviceId}`);
    device.connected = false;
    if (device.dropTimer !== undefined) this.clock.clearTimeout(device.dropTimer);
    device.dropTimer = undefined;
  }

  async execute(
    deviceId: string,
    operation: string,
    args: JsonValue,
    signal: AbortSignal,
  ): Promise<JsonValue> {
    const device = this.device(deviceId);
    this.record(`${operation} ${deviceId}`);
    if (!device.connected) throw new Error(`${deviceId} is not connected`);
    await this.perform(device, device.options.operationDelayMs, signal, operation);
    switch (operation) {
      case 'poll':
        device.readings += 1;
        return { ...simulatedReading(device.readings), ...device.light };
      case 'set':
        if (!device.light) {
          device.lastSet = args;
          return args;
        }
        device.light = applySimulatedLight(device.light, lightSet(SIMULATED_LIGHT, args));
        return { ...device.light };
      case 'get':
        return device.light ? { ...device.light } : device.lastSet;
      default:
        throw new Error(`simulated device does not support operation "${operation}"`);
    }
  }

  watchBus(onEvent: (event: BusEvent) => void): () => void {
    this.busWatchers.add(onEvent);
    return () => this.busWatchers.delete(onEvent);
  }

  /** Recovery steps act on the bus (reopen the port, find the adapter again): they work while it is plugged in. */
  async runRecoveryStep(step: string, deviceId: string, signal: AbortSignal): Promise<void> {
    this.record(`recover ${step} ${deviceId}`);
    this.device(deviceId);
    if (this.steps && !this.steps.includes(step)) {
      throw new Error(`${this.busId} has no recovery step "${step}" (known: ${this.steps.join(', ')})`);
    }
    await new Promise<void>((resolve, reject) => {
      const timer = this.clock.setTimeout(resolve, DEFAULT_SIMULATION.operationDelayMs);
      signal.addEventListener('abort', () => {
        this.clock.clearTimeout(timer);
        reject(new Error(`${step} aborted`));
      });
    });
    if (!this.present) throw new Error(`${step}: ${this.busId} is not present`);
  }

  async close(): Promise<void> {
    for (const [id] of this.devices) await this.disconnect(id);
    this.busWatchers.clear();
  }

  private device(deviceId: string): SimulatedDevice {
    const device = this.devices.get(deviceId);
    if (!device) throw new Error(`no simulated device "${deviceId}" on ${this.busId}`);
    return device;
  }

  private record(call: string): void {
    if (this.recordCalls) this.calls.push(call);
  }

  private dropLink(deviceId: string, device: SimulatedDevice, reason: string): void {
    if (!device.connected) return;
    device.connected = false;
    for (const watcher of this.busWatchers)
      watcher({ type: 'device', deviceId, event: { type: 'lost', error: reason } });
  }

  private nextOutcome(device: SimulatedDevice): Outcome {
    const scripted = device.scripted.shift();
    if (scripted) return scripted;
    const draw = this.random();
    if (draw < device.options.hangRate) return 'hang';
    if (draw < device.options.hangRate + device.options.failureRate) return 'fail';
    return 'ok';
  }

  /** Waits `delayMs` on the clock, then succeeds, fails or hangs as the fault injection decides. */
  private perform(
    device: SimulatedDevice,
    delayMs: number,
    signal: AbortSignal,
    what: string,
  ): Promise<void> {
    const outcome = this.nextOutcome(device);
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(new Error(`${what} aborted`));
      // A hung operation arms no timer: only the abort ends it.
      const timer =
        outcome === 'hang'
          ? undefined
          : this.clock.setTimeout(() => {
              signal.removeEventListener('abort', onAbort);
              if (outcome === 'fail') reject(new Error(`simulated ${what} failure`));
              else resolve();
            }, delayMs);
      const onAbort = () => {
        if (timer !== undefined) this.clock.clearTimeout(timer);
        reject(new Error(`${what} aborted`));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
