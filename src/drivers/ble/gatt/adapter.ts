import { type BluezClient, type BluezEvent, DbusCallError } from '../dbus/client.js';
import { ADAPTER1, DEVICE1, deviceProps, PROPERTIES } from '../dbus/values.js';
import { BusLock } from '../../shared/busLock.js';
import { boundedSignal } from '../../shared/wait.js';
import { errorText } from '../../../errorText.js';
import { GattFailure, gattFailureOf } from './failures.js';
import { GattLink } from './link.js';
import { type CharacteristicPair, deviceOfPath, GattTree } from './tree.js';
import { waitForResolved } from './resolve.js';

// Connected BLE on one adapter, on the adapter's one D-Bus connection: connects (one at a time, with
// this process's discovery paused around each, see ScanControl), the links they give, RemoveDevice for
// the recovery ladder, and the object tree the links look their characteristics up in. Every failure
// is a GattFailure with a named kind.
//
// Why connects are serialised and discovery is paused: BlueZ answers a second Device1.Connect while one
// is pending with org.bluez.Error.InProgress (src/device.c dev_connect), a StartDiscovery/StopDiscovery
// while one of the same client is pending with InProgress too (src/adapter.c), and field reports
// (renogy.md §5.3; bleak #1673, #1689; bluez #569) show LE connects aborted (le-connection-abort-by-
// local) when the controller is scanning, and scanning not always resumed after an LE connect; a scan
// resumed right after LE Connection Complete can kill the link before its first ATT exchange
// (stoprocent/noble#136). So the one owner of the adapter stops its own discovery, connects, waits until
// ServicesResolved and starts discovery again, its LE filter first (bluez #763: a connect may drop the
// filter; #2309: a discovery without one scans passively). Only the connect is inside the pause: once
// the services are resolved, scanning runs beside the link, and the passive sensors on the adapter are
// deaf only for that window (typically well under a second; bounded by the connect's timeoutMs).

/** This process's discovery, as the BLE line runs it (AdapterSession implements it). */
export interface ScanControl {
  /** Stops our discovery if it runs; resolves once StopDiscovery was answered. */
  pauseDiscovery(signal: AbortSignal): Promise<void>;
  /** Starts it again if pauseDiscovery stopped it. */
  resumeDiscovery(signal: AbortSignal): Promise<void>;
}

export interface ConnectOptions {
  /** Hard bound of the whole connect: Connect, services resolved, characteristics found. */
  timeoutMs: number;
  /** Bound of the wait for ServicesResolved after the link is up (default: what is left of timeoutMs). */
  resolveTimeoutMs?: number;
  signal?: AbortSignal;
  /** Pairs that must be there (services_missing otherwise). */
  require?: readonly CharacteristicPair[];
}

export interface GattAdapterOptions {
  client: BluezClient;
  /** /org/bluez/hci0 */
  adapterPath: string;
  /** Discovery to pause around connects; none: nothing scans on this adapter. */
  scan?: ScanControl;
  now?: () => number;
  /**
   * A failed connect to a device not heard advertising for this long (while it was heard before) is
   * blamed on another central holding it: a connected peripheral stops advertising. Default 30 s.
   */
  takenAfterSilentMs?: number;
  log?: { warn(message: string): void; debug(message: string): void };
}

export class GattAdapter {
  readonly adapterPath: string;
  readonly #client: BluezClient;
  readonly #options: GattAdapterOptions;
  readonly #tree: GattTree;
  readonly #lock = new BusLock();
  readonly #links = new Map<string, GattLink>();
  readonly #unsubscribe: () => void;
  readonly #now: () => number;
  #closed = false;
  /** The Disconnect of the last link that failed while connecting: the next connect waits for it. */
  #settling: Promise<void> = Promise.resolve();

  constructor(options: GattAdapterOptions) {
    this.adapterPath = options.adapterPath;
    this.#client = options.client;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#tree = new GattTree(this.#now);
    this.#unsubscribe = options.client.onEvent((event) => this.#onEvent(event));
  }

  /** The Device1 object path of a MAC address on this adapter. */
  devicePath(mac: string): string {
    return `${this.adapterPath}/dev_${mac.toUpperCase().replace(/:/g, '_')}`;
  }

  /** The live link to a device, if any. */
  link(devicePath: string): GattLink | undefined {
    return this.#links.get(devicePath);
  }

  /** When the device last advertised (heard through this adapter's connection). */
  lastHeard(devicePath: string): number | undefined {
    return this.#tree.lastHeard(devicePath);
  }

  /**
   * Anything that must not overlap a connect on this radio (a discovery restart, a power cycle): runs
   * after the connects queued before it. Abort while waiting leaves the queue.
   */
  exclusive<T>(what: string, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    return this.#lock.run(what, signal, work);
  }

  /**
   * Connects (or takes over an existing link of BlueZ), waits for the services and checks `require`.
   * Serialised with every other connect and exclusive() of this adapter; our discovery is paused for it.
   */
  async connect(devicePath: string, options: ConnectOptions): Promise<GattLink> {
    if (this.#closed)
      throw new GattFailure('adapter_unavailable', `${this.adapterPath}: connected BLE is closed`);
    const existing = this.#links.get(devicePath);
    if (existing !== undefined && !existing.closed) return existing;
    try {
      return await this.#lock.run(`connect ${devicePath}`, options.signal, () => {
        // Another caller connected it while this one waited for the lock.
        const made = this.#links.get(devicePath);
        if (made !== undefined && !made.closed) return Promise.resolve(made);
        return this.#withDiscoveryPaused(options.signal, () => this.#connect(devicePath, options));
      });
    } catch (error) {
      throw gattFailureOf(error, { operation: 'Connect', path: devicePath, signal: options.signal });
    }
  }

  /** Adapter1.RemoveDevice: BlueZ drops the device object and its cache (disconnecting it first). */
  async removeDevice(devicePath: string, signal?: AbortSignal): Promise<void> {
    await this.#lock.run(`remove ${devicePath}`, signal, async () => {
      this.#links.get(devicePath)?.lost(new GattFailure('disconnected', `${devicePath} is being removed`));
      try {
        await this.#client.callBluez(
          {
            path: this.adapterPath,
            interface: ADAPTER1,
            member: 'RemoveDevice',
            signature: 'o',
            body: [devicePath],
          },
          signal,
        );
      } catch (error) {
        const failure = gattFailureOf(error, { operation: 'RemoveDevice', path: devicePath, signal });
        // Not there is what removing wanted.
        if (failure.kind !== 'not_found') throw failure;
      }
    });
  }

  /** Lets every link go (best effort) and stops following the bus; the D-Bus connection is the caller's. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#links.values()].map((link) => link.disconnect()));
    this.#unsubscribe();
  }

  async #withDiscoveryPaused<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    const scan = this.#options.scan;
    if (scan === undefined) return work();
    const bound = this.#client.timeouts.methodMs;
    try {
      await scan.pauseDiscovery(boundedSignal(signal, bound, 'pausing discovery'));
    } catch (error) {
      // The connect may still work; its own failure says more than this one would.
      this.#options.log?.warn(
        `${this.adapterPath}: could not pause discovery before a connect: ${errorText(error)}`,
      );
    }
    try {
      return await work();
    } finally {
      await scan
        .resumeDiscovery(
          boundedSignal(undefined, this.#client.timeouts.startDiscoveryMs, 'resuming discovery'),
        )
        .catch((error: unknown) =>
          this.#options.log?.warn(
            `${this.adapterPath}: discovery did not resume after a connect (the watchdog will see it): ${errorText(error)}`,
          ),
        );
    }
  }

  async #connect(devicePath: string, options: ConnectOptions): Promise<GattLink> {
    // A late Connected=false of the last failed attempt must not end this new link.
    await this.#settling;
    const started = this.#now();
    const bounded = boundedSignal(options.signal, options.timeoutMs, `connecting to ${devicePath}`);
    const failWith = (
      error: unknown,
      operation: string,
      timeoutKind: 'connect_timeout' | 'services_timeout',
    ) => {
      if (bounded.aborted && !options.signal?.aborted) {
        return new GattFailure(timeoutKind, `${operation} on ${devicePath}: ${errorText(bounded.reason)}`);
      }
      return gattFailureOf(error, { operation, path: devicePath, signal: options.signal });
    };

    let state;
    try {
      const [props] = await this.#client.callBluez(
        { path: devicePath, interface: PROPERTIES, member: 'GetAll', signature: 's', body: [DEVICE1] },
        bounded,
      );
      state = deviceProps(props);
      this.#tree.apply({ type: 'device', path: devicePath, changed: { connected: false, ...state } });
    } catch (error) {
      throw failWith(error, 'Properties.GetAll(Device1)', 'connect_timeout');
    }
    if (state.address === undefined) throw new GattFailure('not_found', `BlueZ has no device ${devicePath}`);

    const link = new GattLink(devicePath, {
      client: this.#client,
      tree: this.#tree,
      released: (ended) => {
        if (this.#links.get(devicePath) === ended) this.#links.delete(devicePath);
      },
    });
    this.#links.set(devicePath, link);
    // Whether bluetoothd may hold a link or a connect attempt of ours: only then is Disconnect sent on a
    // failure (Disconnect is device-wide: after another client's InProgress it would cancel theirs).
    let ours = state.connected === true;
    try {
      if (!ours) {
        try {
          await this.#client.callBluez(
            { path: devicePath, interface: DEVICE1, member: 'Connect', timeoutMs: options.timeoutMs },
            bounded,
          );
        } catch (error) {
          const failure = failWith(error, 'Connect', 'connect_timeout');
          // dbusmock (and BlueZ for BR/EDR) answer AlreadyConnected where BlueZ's LE path answers success.
          if (failure.dbusName !== 'org.bluez.Error.AlreadyConnected') {
            // A BlueZ answer left nothing of ours; a Connect we abandoned (our bound, our caller) may
            // still be pending in bluetoothd, and Disconnect cancels it.
            ours = !(error instanceof DbusCallError);
            throw this.#blame(failure, devicePath, started);
          }
        }
        ours = true;
      }
      const resolveSignal =
        options.resolveTimeoutMs === undefined
          ? bounded
          : boundedSignal(bounded, options.resolveTimeoutMs, `waiting for the services of ${devicePath}`);
      try {
        await waitForResolved(this.#tree, link, (listener) => this.#client.onEvent(listener), resolveSignal);
        this.#tree.load(await this.#client.getManagedObjects(bounded), devicePath);
      } catch (error) {
        if (resolveSignal.aborted && !options.signal?.aborted) {
          throw new GattFailure('services_timeout', `${devicePath}: ${errorText(resolveSignal.reason)}`);
        }
        throw failWith(error, 'waiting for services', 'services_timeout');
      }
      for (const pair of options.require ?? []) link.characteristic(pair);
      return link;
    } catch (error) {
      // Never leave a half-made link held: the device accepts one central and the phone app is another.
      if (ours) this.#settling = link.disconnect();
      else link.lost(gattFailureOf(error, { operation: 'Connect', path: devicePath }));
      throw error;
    }
  }

  /** A connect that failed on a device gone silent since it was last heard: another central has it. */
  #blame(failure: GattFailure, devicePath: string, started: number): GattFailure {
    if (failure.kind !== 'connect_aborted' && failure.kind !== 'connect_timeout') return failure;
    const heard = this.#tree.lastHeard(devicePath);
    const silentFor = heard === undefined ? undefined : started - heard;
    if (silentFor === undefined || silentFor < (this.#options.takenAfterSilentMs ?? 30_000)) return failure;
    return new GattFailure(
      'taken_by_other_central',
      `${failure.message}; the device has not advertised for ${Math.round(silentFor / 1000)} s: another central (the phone app?) probably holds it`,
      failure.dbusName,
    );
  }

  #onEvent(event: BluezEvent): void {
    this.#tree.apply(event);
    switch (event.type) {
      case 'characteristic': {
        const owner = this.#tree.characteristic(event.path)?.devicePath ?? deviceOfPath(event.path);
        if (event.changed.value === undefined || owner === undefined) return;
        this.#links.get(owner)?.deliver(event.path, event.changed.value);
        return;
      }
      case 'device':
        if (event.changed.connected === false) {
          this.#links.get(event.path)?.lost(new GattFailure('disconnected', `${event.path} disconnected`));
        }
        return;
      case 'removed': {
        if (event.path === this.adapterPath || event.device) {
          const reason = event.device ? `${event.path} was removed` : `${this.adapterPath} was removed`;
          for (const [path, link] of this.#links) {
            if (path === event.path || event.path === this.adapterPath) {
              link.lost(new GattFailure(event.device ? 'not_found' : 'adapter_unavailable', reason));
            }
          }
        }
        return;
      }
      case 'owner':
      case 'closed':
        if (event.type === 'owner' && event.owner !== '') return;
        for (const link of [...this.#links.values()]) {
          link.lost(new GattFailure('adapter_unavailable', 'bluetoothd or the D-Bus connection went away'));
        }
        return;
      case 'added':
      case 'adapter':
        return;
    }
  }
}
