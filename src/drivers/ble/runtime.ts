import { type GatewayClock, unref } from '../../machines/clock.js';
import type { AdapterCheck, WatchdogSettings } from './watchdogMachine.js';
import type { ActorInspector, BusCapabilities, BusEvent, BusRuntime, JsonValue } from '../contract.js';
import type { DbusTimeouts } from '../shared/bluez/dbus/client.js';
import type { DbusCallStats } from '../shared/bluez/dbus/stats.js';
import type { BleSensorSpec, HeardSensor } from './sensors.js';
import { type HeardNamedDevice, SensorWatch } from './sensorWatch.js';
import { AdapterMissingError, AdapterSession, type SessionEvents } from '../shared/bluez/session.js';
import { abortable, waitUntil } from '../shared/wait.js';
import { adapterState, AdapterWatch, type BleLog } from './watchdog.js';
import { errorText } from '../../errorText.js';
import type { ConnectedHost, LineControl } from '../shared/bluez/connectedHost.js';
import { AdapterConnection } from '../shared/bluez/adapterConnection.js';
import { PowerCycleBudget, PowerCycleRefused } from '../shared/bluez/powerCycles.js';

export type { BleLog } from './watchdog.js';
export type { HeardNamedDevice } from './sensorWatch.js';

// One BlueZ adapter and the BLE sensors heard on it. The adapter device (`ble_hci0`) owns the adapter:
// its connect brings it up (D-Bus connection, Powered, LE filter, StartDiscovery, Discovering verified),
// its watchdog runs while it is connected, its recovery steps are stop_discovery and power_cycle_adapter,
// and its disconnect stops discovery and leaves the bus, so a restart_actor really starts from a new
// connection. Sensors are passive (sensorWatch.ts): connected once the adapter is up, their readings arrive as link data,
// and one not heard for its `offlineAfterMs` is reported lost (its next connect waits until it is heard).
// bluetoothd leaving the bus or the adapter disappearing makes every device `reconnecting` (bus lost); the
// open connection keeps watching, and when the name or the adapter returns the adapter is brought up again
// at once and the bus is `present`, so everything resumes without waiting for backoffs.

export interface BleBusOptions {
  /** hci0. */
  adapter: string;
  /** The adapter device; without one, the first sensor brings the adapter up (and nothing watches it). */
  adapterDeviceId?: string | undefined;
  sensors: readonly BleSensorSpec[];
  /** The bus to use (unix:path=…); undefined or resolving to undefined: the system bus. */
  busAddress?: (() => Promise<string | undefined>) | undefined;
  watchdog: WatchdogSettings;
  clock: GatewayClock;
  /** Observes the watchdog's actor system (`--inspect`). */
  inspect?: ActorInspector | undefined;
  timeouts?: Partial<DbusTimeouts> | undefined;
  stats?: DbusCallStats | undefined;
  /** A sensor without a configured device, heard for the first time (auto-add, scans). */
  onHeard?: ((sensor: HeardSensor) => void) | undefined;
  /** A named device in no sensor format (HeardNamedDevice), once per run. */
  onHeardDevice?: ((device: HeardNamedDevice) => void) | undefined;
  log?: BleLog | undefined;
  /** Lends this line's discovery and power cycle to the connected devices of its adapter (connectedHost.ts). */
  host?: Pick<ConnectedHost, 'lend' | 'withdraw' | 'exclusive'> | undefined;
  /**
   * The power cycles of the adapter, shared with its connected devices (the host's): one hourly limit
   * for the radio; without it, the line counts its own.
   */
  powerCycles?: PowerCycleBudget | undefined;
  /**
   * The adapter's D-Bus connection in this gateway, shared with its connected devices (the host's);
   * without one, the line opens its own from `busAddress` and `timeouts`. Either way `stats` hears the
   * line's own calls only.
   */
  connection?: AdapterConnection | undefined;
  /** How often connected sensors are checked for silence (default 1000 ms). */
  silenceCheckMs?: number | undefined;
}

const quiet: BleLog = { info: () => undefined, warn: () => undefined, debug: () => undefined };

export class BleBusRuntime implements BusRuntime, LineControl {
  /** A scan of this line lists the sensors the adapter heard meanwhile (drivers/ble/lineScan.ts). */
  readonly capabilities: Partial<BusCapabilities> = { bleHeardSensors: this };
  readonly #options: BleBusOptions;
  readonly #log: BleLog;
  readonly #sensors: SensorWatch;
  readonly #watchers = new Set<(event: BusEvent) => void>();
  /** Woken whenever the adapter's state changes or the bus closes. */
  readonly #upWaiters = new Set<() => void>();
  #session: AdapterSession | undefined;
  #opening: Promise<AdapterSession> | undefined;
  #bringingUp: Promise<void> | undefined;
  /** Bumped whenever a session is dropped, so its late events are ignored. */
  #generation = 0;
  #up = false;
  /** bluetoothd, the adapter or the connection went away: watching for their return. */
  #waitingForReturn = false;
  /** The watchdog of the adapter device, running while that device is connected. */
  readonly #watch: AdapterWatch | undefined;
  readonly #connection: AdapterConnection;
  readonly #powerCycles: PowerCycleBudget;
  #closed = false;

  constructor(
    readonly busId: string,
    options: BleBusOptions,
  ) {
    this.#options = options;
    this.#log = options.log ?? quiet;
    this.#sensors = new SensorWatch({
      busId,
      adapter: options.adapter,
      sensors: options.sensors,
      clock: options.clock,
      silenceCheckMs: options.silenceCheckMs,
      onHeard: options.onHeard,
      onHeardDevice: options.onHeardDevice,
      emit: (event) => this.#emit(event),
      warn: (message) => this.#log.warn(message),
    });
    const deviceId = options.adapterDeviceId;
    this.#watch =
      deviceId === undefined
        ? undefined
        : new AdapterWatch({
            adapter: options.adapter,
            deviceId,
            settings: options.watchdog,
            clock: options.clock,
            inspect: options.inspect,
            check: (signal) => this.#check(signal),
            emit: (event) => this.#emit(event),
            log: this.#log,
          });
    this.#connection =
      options.connection ??
      new AdapterConnection(options.adapter, {
        busAddress: options.busAddress ?? (() => Promise.resolve(undefined)),
        timeouts: options.timeouts,
        stats: options.stats,
      });
    this.#powerCycles = options.powerCycles ?? new PowerCycleBudget(options.adapter);
    options.host?.lend(this);
  }

  get adapter(): string {
    return this.#options.adapter;
  }

  /**
   * LineControl: our discovery stopped for a connect on this adapter. Asked of the session whether or not
   * the line is up yet: a bring-up that already started discovery counts too (the session knows).
   */
  async pauseDiscovery(signal: AbortSignal): Promise<void> {
    const session = this.#session;
    if (session && !session.closed) await session.pauseDiscovery(signal);
  }

  async resumeDiscovery(signal: AbortSignal): Promise<void> {
    const session = this.#session;
    if (session && !session.closed) await session.resumeDiscovery(signal);
  }

  /** LineControl: a connected device's power_cycle_adapter, run as the line's own step. */
  async powerCycle(signal: AbortSignal): Promise<void> {
    const session = await this.#openSession();
    await session.powerCycle(signal);
    this.#setUp(true);
  }

  /** The adapter is up: discovery started and verified, not lost since. */
  get up(): boolean {
    return this.#up;
  }

  /** Every sensor heard in a known format since the bus opened (configured or not). */
  heard(): HeardSensor[] {
    return this.#sensors.heard();
  }

  get lastAdvertisementAt(): number | null {
    return this.#sensors.lastAdvertisementAt;
  }

  async connect(deviceId: string, signal: AbortSignal): Promise<void> {
    if (this.#closed) throw new Error(`${this.busId} is closed`);
    if (deviceId === this.#options.adapterDeviceId) {
      await this.#ensureUp(signal);
      this.#watch?.start();
      // Once the device is connected (the machine handles the connect's end first): its first state.
      unref(this.#options.clock.setTimeout(() => void this.#watch?.report(), 50));
      return;
    }
    const sensor = this.#sensors.sensor(deviceId);
    if (sensor.mac === '') {
      throw new Error(
        `${deviceId} has no mac: add mac: AA:BB:CC:DD:EE:FF (the sensor's Bluetooth address) to it`,
      );
    }
    if (this.#options.adapterDeviceId === undefined) await this.#ensureUp(signal);
    else await waitUntil(() => this.#up || this.#closed, this.#upWaiters, signal);
    if (this.#closed) throw new Error(`${this.busId} is closed`);
    await this.#sensors.connect(deviceId, signal);
  }

  async disconnect(deviceId: string): Promise<void> {
    if (deviceId !== this.#options.adapterDeviceId) {
      this.#sensors.disconnect(deviceId);
      return;
    }
    this.#watch?.stop();
    // After a loss the open connection is what sees bluetoothd or the adapter come back: kept.
    if (this.#waitingForReturn) return;
    // A working adapter let go (restart_actor, a supervisor restart): the next connect starts afresh.
    this.#setUp(false);
    await this.#dropSession()?.close();
  }

  async execute(
    deviceId: string,
    operation: string,
    _args: JsonValue,
    signal: AbortSignal,
  ): Promise<JsonValue> {
    if (deviceId !== this.#options.adapterDeviceId) {
      this.#sensors.sensor(deviceId);
      throw new Error(`BLE sensors only report by advertising; "${operation}" cannot be asked of them`);
    }
    if (operation !== 'get' && operation !== 'poll') {
      throw new Error(`the BLE adapter device supports "get" only, not "${operation}"`);
    }
    return adapterState(this.adapter, await this.#check(signal));
  }

  watchBus(onEvent: (event: BusEvent) => void): () => void {
    this.#watchers.add(onEvent);
    return () => this.#watchers.delete(onEvent);
  }

  async runRecoveryStep(step: string, deviceId: string, signal: AbortSignal): Promise<void> {
    if (deviceId !== this.#options.adapterDeviceId) {
      this.#sensors.sensor(deviceId);
      throw new Error(
        `${deviceId} is a BLE sensor: it has no recovery step of its own ("${step}" asked; it is heard whenever it advertises; the watchdog of adapter ${this.adapter} looks after the adapter)`,
      );
    }
    if (step !== 'stop_discovery' && step !== 'power_cycle_adapter') {
      throw new Error(`BLE has no recovery step "${step}" (known: stop_discovery, power_cycle_adapter)`);
    }
    this.#watch?.stepStarted(step);
    let ok = false;
    try {
      const session = await this.#openSession();
      // Never beside a connect of a connected device on this adapter (its discovery pause, its link).
      await this.#exclusive(step, signal, async () => {
        if (step === 'power_cycle_adapter') {
          this.#powerCycles.take(`the BLE line ${this.busId}`, this.#options.clock.now());
          await session.powerCycle(signal);
        } else if (this.#up) await session.restartDiscovery(signal);
        else await session.bringUp(signal);
      });
      this.#setUp(true);
      ok = true;
    } catch (error) {
      // Not run: the adapter's hourly limit is spent (by the connected devices too). The step fails, so
      // the ladder goes on to restart_actor instead of waiting for a cycle others may keep taking.
      if (error instanceof PowerCycleRefused) this.#log.warn(`${error.message}; the ladder goes on`);
      throw error;
    } finally {
      this.#watch?.stepDone(step, ok);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#options.host?.withdraw(this);
    this.#watch?.stop();
    this.#sensors.close();
    this.#watchers.clear();
    this.#setUp(false);
    await this.#dropSession()?.close();
  }

  /** Runs `work` between the connects of connected devices on this adapter (connectedHost.ts). */
  #exclusive<T>(what: string, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    const host = this.#options.host;
    return host === undefined ? work() : host.exclusive(what, signal, work);
  }

  #emit(event: BusEvent): void {
    for (const watcher of [...this.#watchers]) watcher(event);
  }

  #wake(waiters: Set<() => void>): void {
    for (const wake of [...waiters]) wake();
  }

  #setUp(up: boolean): void {
    this.#up = up;
    this.#wake(this.#upWaiters);
  }

  #dropSession(): AdapterSession | undefined {
    const session = this.#session;
    this.#session = undefined;
    this.#generation += 1;
    return session;
  }

  async #ensureUp(signal: AbortSignal): Promise<void> {
    if (this.#up && this.#session && !this.#session.closed) return;
    this.#bringingUp ??= this.#bringUp().finally(() => {
      this.#bringingUp = undefined;
    });
    await abortable(this.#bringingUp, signal);
  }

  async #bringUp(): Promise<void> {
    const session = await this.#openSession();
    try {
      await this.#exclusive('bringing the adapter up', undefined, () => session.bringUp(undefined));
    } catch (error) {
      // Missing bluetoothd or adapter: the connection watches for them and brings the adapter up on return.
      if (error instanceof AdapterMissingError) this.#waitingForReturn = true;
      throw error;
    }
    if (session !== this.#session) throw new Error('the adapter was let go while it was being brought up');
    this.#setUp(true);
    this.#log.info(`adapter ${this.adapter} is up and discovering (LE, every advertisement)`);
    if (this.#waitingForReturn) {
      this.#waitingForReturn = false;
      // Devices waiting out their backoff after the outage connect now.
      this.#emit({ type: 'present' });
    }
  }

  #openSession(): Promise<AdapterSession> {
    if (this.#session && !this.#session.closed) return Promise.resolve(this.#session);
    this.#opening ??= (async () => {
      const generation = ++this.#generation;
      const session = await AdapterSession.open(
        this.adapter,
        // Only the line's own calls go to its stats, not those of the connected devices sharing it.
        { shared: this.#connection, stats: this.#options.stats },
        this.#sessionEvents(() => generation === this.#generation),
        () => this.#options.clock.now(),
      );
      if (this.#closed || generation !== this.#generation) {
        await session.close();
        throw new Error(`${this.busId} was closed while connecting to D-Bus`);
      }
      this.#session = session;
      return session;
    })().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  #sessionEvents(current: () => boolean): SessionEvents {
    return {
      device: (path, merged, changed) => {
        if (current()) this.#sensors.onDevice(path, merged, changed);
      },
      adapterPresence: (present) => {
        if (!current()) return;
        if (!present) this.#lose(`adapter ${this.adapter} was removed`);
        else this.#returned(`adapter ${this.adapter} is back`);
      },
      owner: (owner) => {
        if (!current()) return;
        if (owner === '') this.#lose('bluetoothd left the bus (org.bluez has no owner)');
        else this.#returned('bluetoothd is back on the bus');
      },
      closed: (reason) => {
        if (!current() || this.#closed) return;
        this.#dropSession();
        this.#lose(`the D-Bus connection was lost: ${reason}`);
      },
    };
  }

  /** bluetoothd, the adapter or the connection is gone: every device reconnects; we watch for the return. */
  #lose(reason: string): void {
    const alreadyDown = this.#waitingForReturn && !this.#up;
    this.#waitingForReturn = true;
    this.#setUp(false);
    this.#watch?.stop();
    this.#sensors.disconnectAll();
    if (alreadyDown) return;
    this.#log.warn(`${reason}; every device on ${this.busId} waits for it to come back`);
    this.#emit({ type: 'lost', error: reason });
  }

  /** What was lost is back: bring the adapter up at once (the bring-up then says `present`). */
  #returned(what: string): void {
    if (!this.#waitingForReturn || this.#closed) return;
    this.#log.info(`${what}: bringing adapter ${this.adapter} up again`);
    void this.#ensureUp(AbortSignal.timeout(60_000)).catch((error: unknown) =>
      this.#log.debug(`bringing ${this.adapter} up after its return failed: ${errorText(error)}`),
    );
  }

  async #check(signal: AbortSignal): Promise<AdapterCheck> {
    const session = this.#session;
    if (!session || session.closed) {
      return {
        present: false,
        powered: false,
        discovering: false,
        discoveringSince: null,
        ...this.#advertisementFacts(),
      };
    }
    const observed = await session.observe(signal);
    return { ...observed, ...this.#advertisementFacts() };
  }

  /** Sensors configured here make silence suspicious even before the first advertisement. */
  #advertisementFacts(): Pick<AdapterCheck, 'lastAdvertisementAt' | 'expectsAdvertisements'> {
    return {
      lastAdvertisementAt: this.#sensors.lastAdvertisementAt,
      expectsAdvertisements: this.#sensors.expectsAdvertisements,
    };
  }
}
