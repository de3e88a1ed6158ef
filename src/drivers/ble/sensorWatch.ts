import { every, type GatewayClock } from '../../machines/clock.js';
import type { BusEvent } from '../contract.js';
import { type DeviceProps, macOfPath } from '../shared/bluez/dbus/values.js';
import { waitUntil } from '../shared/wait.js';
import { type BleSensorSpec, type HeardSensor, SensorDecoder } from './sensors.js';

// The passive side of a BLE line: what the adapter hears. Advertisements become readings of the
// connected sensors; a connected sensor not heard for its `offlineAfterMs` is reported lost, and its next
// connect waits until it is heard again; named devices in no sensor format are offered once per run to
// whichever driver knows them. The adapter itself (D-Bus, discovery, watchdog) is the runtime's.

/** A device heard advertising a name, in none of the sensor formats. */
export interface HeardNamedDevice {
  busId: string;
  adapter: string;
  mac: string;
  name: string;
  rssi: number | undefined;
}

export interface SensorWatchOptions {
  busId: string;
  adapter: string;
  sensors: readonly BleSensorSpec[];
  clock: GatewayClock;
  /** How often connected sensors are checked for silence (default 1000 ms). */
  silenceCheckMs?: number | undefined;
  /** A sensor without a configured device, heard for the first time (auto-add, scans). */
  onHeard?: ((sensor: HeardSensor) => void) | undefined;
  /** A named device in no sensor format, once per run. */
  onHeardDevice?: ((device: HeardNamedDevice) => void) | undefined;
  emit: (event: BusEvent) => void;
  warn: (message: string) => void;
}

export class SensorWatch {
  readonly #options: SensorWatchOptions;
  readonly #decoder: SensorDecoder;
  readonly #sensors = new Map<string, BleSensorSpec>();
  readonly #heardWaiters = new Set<() => void>();
  /** Connected sensors → when they connected (the start of their silence clock). */
  readonly #connected = new Map<string, number>();
  /** Sensors reported lost for silence: their next connect waits until they are heard. */
  readonly #silent = new Set<string>();
  readonly #lastHeard = new Map<string, number>();
  /** Named devices in no sensor format, reported once each (another driver may know them). */
  readonly #namedHeard = new Set<string>();
  #lastAdvertisementAt: number | null = null;
  /** Cancels the periodic silence check. */
  #silenceTimer: (() => void) | undefined;
  #closed = false;

  constructor(options: SensorWatchOptions) {
    this.#options = options;
    for (const sensor of options.sensors) this.#sensors.set(sensor.deviceId, sensor);
    this.#decoder = new SensorDecoder(
      { busId: options.busId, adapter: options.adapter },
      options.sensors,
      options.warn,
    );
  }

  /** Every sensor heard in a known format since the bus opened (configured or not). */
  heard(): HeardSensor[] {
    return this.#decoder.heard();
  }

  get lastAdvertisementAt(): number | null {
    return this.#lastAdvertisementAt;
  }

  /** Whether silence of the adapter is suspicious: it heard something, or sensors are configured. */
  get expectsAdvertisements(): boolean {
    return this.#lastAdvertisementAt !== null || this.#sensors.size > 0;
  }

  /** The configured sensor, or an error that names the device and the line. */
  sensor(deviceId: string): BleSensorSpec {
    const sensor = this.#sensors.get(deviceId);
    if (!sensor) throw new Error(`no BLE device "${deviceId}" on ${this.#options.busId}`);
    return sensor;
  }

  /** A sensor connects (the adapter is up): after a silence, only once it is heard again. */
  async connect(deviceId: string, signal: AbortSignal): Promise<void> {
    const sensor = this.sensor(deviceId);
    if (this.#silent.has(deviceId)) {
      const since = this.#options.clock.now();
      await waitUntil(
        () => this.#closed || (this.#lastHeard.get(sensor.mac) ?? 0) >= since,
        this.#heardWaiters,
        signal,
      );
    }
    if (this.#closed) throw new Error(`${this.#options.busId} is closed`);
    this.#silent.delete(deviceId);
    this.#connected.set(deviceId, this.#options.clock.now());
    this.#startSilenceCheck();
  }

  disconnect(deviceId: string): void {
    this.#connected.delete(deviceId);
  }

  /** The adapter is gone: no sensor is connected until it is back. */
  disconnectAll(): void {
    this.#connected.clear();
  }

  close(): void {
    this.#closed = true;
    this.#silenceTimer?.();
    this.#silenceTimer = undefined;
    for (const wake of [...this.#heardWaiters]) wake();
  }

  /** A Device1 appeared or changed on the adapter. */
  onDevice(path: string, merged: DeviceProps, changed: DeviceProps): void {
    const now = this.#options.clock.now();
    // Only what an advertisement carries: a connected device's Connected or ServicesResolved is no sign
    // that discovery delivers.
    if (
      changed.rssi === undefined &&
      changed.serviceData === undefined &&
      changed.manufacturerData === undefined
    ) {
      return;
    }
    this.#lastAdvertisementAt = now;
    const mac = merged.address ?? macOfPath(path);
    if (mac !== undefined) this.#heardNamed(mac, merged);
    if (changed.serviceData === undefined && changed.manufacturerData === undefined) return;
    if (mac === undefined) return;
    const outcome = this.#decoder.decode(mac, merged, now, (heard) => this.#options.onHeard?.(heard));
    if (this.#decoder.sensor(mac)) {
      this.#lastHeard.set(mac, now);
      for (const wake of [...this.#heardWaiters]) wake();
    }
    if (outcome.kind === 'none' || !this.#connected.has(outcome.deviceId)) return;
    const event =
      outcome.kind === 'reading'
        ? { type: 'data' as const, operation: 'advertisement', result: outcome.result }
        : { type: 'failure' as const, error: outcome.error };
    this.#options.emit({ type: 'device', deviceId: outcome.deviceId, event });
  }

  /**
   * A device advertising a name in none of the sensor formats: once per run, as a heard device another
   * driver's auto_add may recognise (a Renogy BT module by its name), never as a sensor.
   */
  #heardNamed(mac: string, merged: DeviceProps): void {
    if (merged.name === undefined || this.#namedHeard.has(mac) || this.#decoder.sensor(mac)) return;
    this.#namedHeard.add(mac);
    this.#options.onHeardDevice?.({
      busId: this.#options.busId,
      adapter: this.#options.adapter,
      mac,
      name: merged.name,
      rssi: merged.rssi,
    });
  }

  #startSilenceCheck(): void {
    if (this.#silenceTimer !== undefined || this.#closed) return;
    this.#silenceTimer = every(
      this.#options.clock,
      this.#options.silenceCheckMs ?? 1000,
      () => this.#checkSilence(),
      { unref: true },
    );
  }

  #checkSilence(): void {
    const now = this.#options.clock.now();
    for (const [deviceId, connectedAt] of this.#connected) {
      const sensor = this.#sensors.get(deviceId);
      if (!sensor || sensor.offlineAfterMs <= 0) continue;
      const last = Math.max(this.#lastHeard.get(sensor.mac) ?? 0, connectedAt);
      if (now - last <= sensor.offlineAfterMs) continue;
      this.#connected.delete(deviceId);
      this.#silent.add(deviceId);
      const problem = this.#decoder.problemOf(sensor.mac);
      const error =
        problem ??
        `not heard for ${Math.round((now - last) / 1000)} s (offline after ${sensor.offlineAfterMs} ms)`;
      this.#options.emit({ type: 'device', deviceId, event: { type: 'lost', error } });
    }
  }
}
