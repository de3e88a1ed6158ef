import type { BluezClient, BluezClientOptions, BluezEvent } from './dbus/client.js';
import { DbusCallError } from './dbus/client.js';
import type { DbusCallStats } from './dbus/stats.js';
import type { DeviceProps } from './dbus/values.js';
import { AdapterConnection, type ConnectionLease } from './adapterConnection.js';
import { boundedSignal, delay } from '../wait.js';

// One D-Bus connection's view of one adapter: what BlueZ says about it (present, powered, discovering,
// since when), the Device1 objects under it, and the adapter operations of the BLE driver, each verified
// (a StartDiscovery is done when Discovering reads true, not when the call returned) and bounded
// (every call by the client's table, a whole bring-up or recovery step by `bringUpMs`). The session
// holds a lease on the adapter's connection (adapterConnection.ts), which the connected devices of the
// adapter may share: a restart of the adapter's actor closes the session (its scan stopped, its lease
// released) and opens a new one, so nothing in here outlives the session, nor its connection.

export interface SessionEvents {
  /** A Device1 under this adapter changed; `merged` is everything known about it now. */
  device(path: string, merged: DeviceProps, changed: DeviceProps): void;
  /** The adapter object disappeared (dongle pulled) or returned. */
  adapterPresence(present: boolean): void;
  /** bluetoothd left the bus ('') or is back (its new unique name). */
  owner(owner: string): void;
  /** The D-Bus connection ended. */
  closed(reason: string): void;
}

/** The adapter's connection shared with others, and where the calls of this session on it go. */
export interface SharedConnection {
  readonly shared: AdapterConnection;
  readonly stats?: DbusCallStats | undefined;
}

export interface AdapterObservation {
  present: boolean;
  powered: boolean;
  discovering: boolean;
  /** When Discovering last went true, by this session's clock (ms); null when not discovering. */
  discoveringSince: number | null;
  /** Since when a connect has our discovery paused; null when not paused. */
  discoveryPausedSince: number | null;
}

const VERIFY_MS = 2_000;

/** The adapter or bluetoothd is not there: trying again at once will not help. */
export class AdapterMissingError extends Error {
  override readonly name = 'AdapterMissingError';
}

function isBluezError(error: unknown, suffix: string): boolean {
  return error instanceof DbusCallError && error.dbusName.endsWith(suffix);
}

export class AdapterSession {
  readonly path: string;
  readonly #client: BluezClient;
  readonly #lease: ConnectionLease;
  readonly #unsubscribe: () => void;
  #released = false;
  readonly #events: SessionEvents;
  readonly #now: () => number;
  readonly #devices = new Map<string, DeviceProps>();
  readonly #discoveringWaiters = new Set<() => void>();
  #present = false;
  #powered = false;
  #discovering = false;
  #discoveringSince: number | null = null;
  #pausedSince: number | null = null;
  /**
   * When the scan paused for a connect had started: a resume continues that scan for the watchdog, whose
   * "discovering for N s without a single advertisement" must not start over at every connect (with
   * connected devices polled more often than stuck_after_ms, a stuck scan would never be seen).
   */
  #scanSince: number | null = null;

  private constructor(lease: ConnectionLease, adapter: string, events: SessionEvents, now: () => number) {
    this.#lease = lease;
    this.#client = lease.client;
    this.path = `/org/bluez/${adapter}`;
    this.#events = events;
    this.#now = now;
    this.#unsubscribe = lease.client.onEvent((event) => this.#onEvent(event));
  }

  /**
   * A session on the adapter's shared connection (its calls recorded in `stats`, only this session's),
   * or on a connection of its own (client options), closed with the session.
   */
  static async open(
    adapter: string,
    connection: SharedConnection | BluezClientOptions,
    events: SessionEvents,
    now: () => number = Date.now,
  ): Promise<AdapterSession> {
    const lease =
      'shared' in connection
        ? await connection.shared.acquire(connection.stats)
        : await new AdapterConnection(adapter, {
            busAddress: () => Promise.resolve(connection.busAddress),
            timeouts: connection.timeouts,
            stats: connection.stats,
          }).acquire();
    return new AdapterSession(lease, adapter, events, now);
  }

  /** Closed by close(), or its connection ended. */
  get closed(): boolean {
    return this.#released || this.#client.closed;
  }

  get bluezOwner(): string {
    return this.#client.bluezOwner;
  }

  get present(): boolean {
    return this.#present;
  }

  get discovering(): boolean {
    return this.#discovering;
  }

  get discoveringSince(): number | null {
    return this.#discoveringSince;
  }

  /** The adapter's D-Bus connection, for the connected-BLE layer (gatt/adapter.ts) to share. */
  get client(): BluezClient {
    return this.#client;
  }

  /** Since when (this session's clock) a connect has our discovery paused; null when not paused. */
  get discoveryPausedSince(): number | null {
    return this.#pausedSince;
  }

  /**
   * ScanControl for connects: StopDiscovery of our session, if it is running. Discovering may stay true
   * (another client scanning); only our session matters to BlueZ's InProgress and to our own scan.
   */
  async pauseDiscovery(signal: AbortSignal): Promise<void> {
    if (this.#pausedSince !== null || !this.#discovering) return;
    this.#pausedSince = this.#now();
    this.#scanSince = this.#discoveringSince;
    await this.#client.stopDiscovery(this.path, signal).catch((error: unknown) => {
      // No session of ours any more: nothing to pause.
      if (!isBluezError(error, 'Error.Failed')) throw error;
    });
  }

  /** Starts our discovery again after pauseDiscovery (LE filter first: BlueZ may have dropped it). */
  async resumeDiscovery(signal: AbortSignal): Promise<void> {
    if (this.#pausedSince === null) return;
    this.#pausedSince = null;
    await this.#client.setDiscoveryFilter(this.path, signal);
    await this.#start(signal);
  }

  /** What is known about a device heard under this adapter. */
  device(path: string): DeviceProps | undefined {
    return this.#devices.get(path);
  }

  /**
   * Powered, LE filter, StartDiscovery, Discovering verified; retried on transient failures (a hung
   * call, NotReady right after power-on) until `bringUpMs`. Fails at once when bluetoothd or the adapter
   * is not there: the caller's backoff (or the return watch) decides when to look again.
   */
  async bringUp(signal: AbortSignal | undefined): Promise<void> {
    await this.#bounded('bringing the adapter up', signal, async (bounded) => {
      if ((await this.#client.nameOwner('org.bluez', bounded)) === '') {
        throw new AdapterMissingError('bluetoothd is not running (nobody owns org.bluez on the bus)');
      }
      await this.#retrying(bounded, async () => {
        await this.#load(bounded);
        if (!this.#powered) await this.#client.setPowered(this.path, true, bounded);
        await this.#client.setDiscoveryFilter(this.path, bounded);
        await this.#start(bounded);
      });
    });
  }

  /** Recovery step stop_discovery: StopDiscovery, StartDiscovery, verified (powered on first if off). */
  async restartDiscovery(signal: AbortSignal | undefined): Promise<void> {
    await this.#bounded('restarting discovery', signal, async (bounded) => {
      if (!this.#present) await this.#load(bounded);
      if (!(await this.#client.getAdapterFlag(this.path, 'Powered', bounded))) {
        await this.#client.setPowered(this.path, true, bounded);
      }
      await this.#client.stopDiscovery(this.path, bounded).catch((error: unknown) => {
        // No session of ours (bluetoothd dropped it) is what we wanted anyway.
        if (!isBluezError(error, 'Error.Failed') && !isBluezError(error, 'NotReady')) throw error;
      });
      await this.#client.setDiscoveryFilter(this.path, bounded);
      await this.#start(bounded);
    });
  }

  /** Recovery step power_cycle_adapter: Powered false → true, then discovery again, verified. */
  async powerCycle(signal: AbortSignal | undefined): Promise<void> {
    await this.#bounded('power-cycling the adapter', signal, async (bounded) => {
      if (!this.#present) await this.#load(bounded);
      await this.#client.setPowered(this.path, false, bounded);
      await this.#client.setPowered(this.path, true, bounded);
      await this.#retrying(bounded, async () => {
        await this.#client.setDiscoveryFilter(this.path, bounded);
        await this.#start(bounded);
      });
    });
  }

  /** For the watchdog: reads Powered and Discovering now (each Get bounded), so a mute D-Bus shows. */
  async observe(signal: AbortSignal | undefined): Promise<AdapterObservation> {
    if (!this.#present) {
      return {
        present: false,
        powered: false,
        discovering: false,
        discoveringSince: null,
        discoveryPausedSince: null,
      };
    }
    const powered = await this.#client.getAdapterFlag(this.path, 'Powered', signal);
    const discovering = await this.#client.getAdapterFlag(this.path, 'Discovering', signal);
    this.#powered = powered;
    this.#setDiscovering(discovering);
    return {
      present: true,
      powered,
      discovering,
      discoveringSince: this.#discoveringSince,
      discoveryPausedSince: this.#pausedSince,
    };
  }

  /**
   * Stops our scan (best effort, bounded) and lets the connection go: it leaves the bus unless the
   * connected devices of the adapter still hold it.
   */
  async close(): Promise<void> {
    if (this.#released) return;
    if (!this.#client.closed && this.#present) {
      await this.#client
        .stopDiscovery(this.path, AbortSignal.timeout(this.#client.timeouts.methodMs))
        .catch(() => undefined);
    }
    this.#release();
    this.#wakeDiscovering();
  }

  #release(): void {
    this.#released = true;
    this.#unsubscribe();
    this.#lease.release();
  }

  async #bounded(
    what: string,
    signal: AbortSignal | undefined,
    work: (bounded: AbortSignal) => Promise<void>,
  ) {
    const bounded = boundedSignal(signal, this.#client.timeouts.bringUpMs, what);
    try {
      await work(bounded);
    } catch (error) {
      // The bound's own message says more than the call it cut short.
      if (bounded.aborted && !signal?.aborted) throw bounded.reason instanceof Error ? bounded.reason : error;
      throw error;
    }
  }

  async #retrying(signal: AbortSignal, attempt: () => Promise<void>): Promise<void> {
    for (;;) {
      try {
        await attempt();
        return;
      } catch (error) {
        // Missing hardware or a closed connection will not change by trying again right now.
        if (signal.aborted || this.closed || error instanceof AdapterMissingError) throw error;
        await delay(300, signal);
      }
    }
  }

  /** GetManagedObjects: the adapter's presence and flags, and the devices BlueZ has cached. */
  async #load(signal: AbortSignal): Promise<void> {
    const objects = await this.#client.getManagedObjects(signal);
    const adapter = objects.get(this.path)?.adapter;
    if (!adapter) {
      const others = [...objects].filter(([, o]) => o.adapter).map(([path]) => path.split('/').pop());
      this.#present = false;
      throw new AdapterMissingError(
        `adapter ${this.path.split('/').pop()} is not there (BlueZ has ${others.length > 0 ? others.join(', ') : 'no adapter'})`,
      );
    }
    this.#present = true;
    this.#powered = adapter.powered ?? false;
    this.#setDiscovering(adapter.discovering ?? false);
    for (const [path, object] of objects) {
      if (object.device && path.startsWith(`${this.path}/`)) {
        this.#devices.set(path, { ...this.#devices.get(path), ...object.device });
      }
    }
  }

  /** StartDiscovery (our session may exist already), then Discovering must read true. */
  async #start(signal: AbortSignal): Promise<void> {
    await this.#client.startDiscovery(this.path, signal).catch((error: unknown) => {
      if (!isBluezError(error, 'InProgress')) throw error;
    });
    if (await this.#client.getAdapterFlag(this.path, 'Discovering', signal)) {
      this.#setDiscovering(true);
      return;
    }
    await this.#waitDiscovering(signal);
  }

  async #waitDiscovering(signal: AbortSignal): Promise<void> {
    if (this.#discovering) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => done(new Error(`StartDiscovery returned but Discovering stayed false for ${VERIFY_MS} ms`)),
        VERIFY_MS,
      );
      const wake = () => {
        if (this.#discovering) done();
        else if (this.closed)
          done(new Error('the session or its D-Bus connection ended while starting discovery'));
      };
      const onAbort = () => done(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      const done = (error?: Error) => {
        clearTimeout(timer);
        this.#discoveringWaiters.delete(wake);
        signal.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve();
      };
      this.#discoveringWaiters.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #setDiscovering(discovering: boolean): void {
    if (discovering && !this.#discovering) {
      this.#discoveringSince = this.#pausedSince === null ? (this.#scanSince ?? this.#now()) : this.#now();
      this.#scanSince = null;
    }
    if (!discovering) this.#discoveringSince = null;
    this.#discovering = discovering;
    this.#wakeDiscovering();
  }

  #wakeDiscovering(): void {
    for (const wake of [...this.#discoveringWaiters]) wake();
  }

  #onEvent(event: BluezEvent): void {
    switch (event.type) {
      case 'adapter':
        if (event.path !== this.path) return;
        if (event.changed.powered !== undefined) this.#powered = event.changed.powered;
        if (event.changed.discovering !== undefined) this.#setDiscovering(event.changed.discovering);
        return;
      case 'device': {
        if (!event.path.startsWith(`${this.path}/`)) return;
        const merged = { ...this.#devices.get(event.path), ...event.changed };
        this.#devices.set(event.path, merged);
        this.#events.device(event.path, merged, event.changed);
        return;
      }
      case 'added':
        if (event.path === this.path && event.object.adapter) {
          this.#present = true;
          this.#powered = event.object.adapter.powered ?? false;
          this.#setDiscovering(event.object.adapter.discovering ?? false);
          this.#events.adapterPresence(true);
        } else if (event.object.device && event.path.startsWith(`${this.path}/`)) {
          const merged = { ...this.#devices.get(event.path), ...event.object.device };
          this.#devices.set(event.path, merged);
          this.#events.device(event.path, merged, event.object.device);
        }
        return;
      case 'removed':
        if (event.path === this.path && event.adapter) {
          this.#present = false;
          this.#setDiscovering(false);
          this.#devices.clear();
          this.#events.adapterPresence(false);
        } else if (event.device) {
          this.#devices.delete(event.path);
        }
        return;
      case 'owner':
        if (event.owner === '') {
          this.#present = false;
          this.#setDiscovering(false);
          this.#devices.clear();
        }
        this.#events.owner(event.owner);
        return;
      case 'closed':
        this.#present = false;
        this.#setDiscovering(false);
        // A dropped connection is nobody's any more: the next session's lease opens a new one.
        this.#lease.release();
        this.#events.closed(event.reason);
        return;
    }
  }
}
