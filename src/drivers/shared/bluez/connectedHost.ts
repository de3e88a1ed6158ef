import type { OpenContext } from '../../contract.js';
import { perGateway } from '../perGateway.js';
import type { BluezClient, DbusTimeouts } from './dbus/client.js';
import { DbusCallStats } from './dbus/stats.js';
import { DEVICE1, deviceProps, PROPERTIES } from './dbus/values.js';
import { GattAdapter, type ScanControl } from './gatt/index.js';
import { GattFailure, gattFailureOf } from './gatt/failures.js';
import { AdapterConnection, type ConnectionLease } from './adapterConnection.js';
import { PowerCycleBudget } from './powerCycles.js';
import { delay } from '../wait.js';

// One connected-BLE host per adapter and gateway (OpenContext): the GattAdapter (its lock, its cached
// proxies) every runtime that connects to devices on that adapter shares (a Renogy bus today), so that
// their connects are serialised by one lock, and the discovery of the BLE line on the same adapter,
// which its runtime lends here while it runs, is paused around each connect (gatt/adapter.ts says why).
// The host also carries what the line and the connected devices share of the adapter: its one D-Bus
// connection (adapterConnection.ts), on which the host holds a lease while it has a GattAdapter, and
// the count of its power cycles, under one hourly limit (powerCycles.ts).
//
// Why a host keyed by the OpenContext rather than the BLE bus itself: a bus is run by the driver of its
// devices, and connected devices are another driver's, on another bus of the same radio; both buses
// open with the same context, which lives as long as the gateway.

/** What the BLE line's runtime lends the connected devices of its adapter. */
export interface LineControl extends ScanControl {
  /** The line's power cycle of the adapter (its session, its watchdog told). */
  powerCycle(signal: AbortSignal): Promise<void>;
}

export interface HostOptions {
  /** /org/bluez/<adapter> is on this bus (a private one in tests and simulations); the system bus when absent. */
  busAddress: () => Promise<string | undefined>;
  timeouts?: Partial<DbusTimeouts> | undefined;
  log?: { warn(message: string): void; debug(message: string): void };
  /** The adapter's shared connection; one of the host's own (from the options above) when absent. */
  connection?: AdapterConnection | undefined;
}

/** The GattAdapter of one connection, and the host's lease on that connection. */
interface Opened {
  lease: ConnectionLease;
  client: BluezClient;
  gatt: GattAdapter;
}

export class ConnectedHost {
  readonly adapter: string;
  readonly adapterPath: string;
  /** The adapter's one D-Bus connection in this gateway (the BLE line's session holds it too). */
  readonly connection: AdapterConnection;
  /** The power cycles of this adapter, by the line or by a connected device: one hourly limit. */
  readonly powerCycles: PowerCycleBudget;
  /**
   * The D-Bus calls made for the connected devices (their connects, GATT calls and lookups; their scans
   * and power cycles when no line runs), apart from the line's own on the same connection: the driver
   * of the devices reports them under its name (a power cycle the line runs for them is the line's).
   */
  readonly calls = new DbusCallStats();
  readonly #options: HostOptions;
  #line: LineControl | undefined;
  #opened: Promise<Opened> | undefined;
  #closed = false;

  constructor(adapter: string, options: HostOptions) {
    this.adapter = adapter;
    this.adapterPath = `/org/bluez/${adapter}`;
    this.#options = options;
    this.connection = options.connection ?? new AdapterConnection(adapter, options);
    this.powerCycles = new PowerCycleBudget(adapter);
  }

  /** The adapter's GattAdapter, (re)opened when its D-Bus connection ended (bluetoothd restart). */
  async gatt(): Promise<GattAdapter> {
    return (await this.#current()).gatt;
  }

  /** The name a device advertises (Device1.Name or Alias), undefined when BlueZ has none or no such device. */
  async deviceName(mac: string, signal: AbortSignal): Promise<string | undefined> {
    const { client, gatt } = await this.#current();
    const path = gatt.devicePath(mac);
    try {
      const [props] = await client.callBluez(
        { path, interface: PROPERTIES, member: 'GetAll', signature: 's', body: [DEVICE1] },
        signal,
      );
      return deviceProps(props).name;
    } catch (error) {
      if (gattFailureOf(error, { operation: 'GetAll', path, signal }).kind === 'not_found') return undefined;
      throw error;
    }
  }

  /**
   * Waits until BlueZ knows the device again (it was removed, or never heard since bluetoothd started):
   * BlueZ makes its object when it hears it advertise. With a BLE line on the adapter its discovery
   * hears it; without one, this host scans itself for the while (between connects, LE only). Rejects
   * with `not_found` after `timeoutMs`.
   */
  async findDevice(mac: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const { client, gatt } = await this.#current();
    const known = (bounded: AbortSignal) => this.#exists(mac, bounded).catch(() => false);
    const look = async (bounded: AbortSignal) => {
      while (!(await known(bounded))) await delay(250, bounded);
    };
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    try {
      if (this.#line !== undefined) return await look(bounded);
      await gatt.exclusive(`looking for ${mac}`, bounded, async () => {
        await client.setDiscoveryFilter(this.adapterPath, bounded);
        await client.startDiscovery(this.adapterPath, bounded);
        try {
          await look(bounded);
        } finally {
          await client
            .stopDiscovery(this.adapterPath, AbortSignal.timeout(client.timeouts.methodMs))
            .catch(() => undefined);
        }
      });
    } catch (error) {
      if (signal.aborted) throw error;
      throw new GattFailure(
        'not_found',
        `${mac} was not heard within ${timeoutMs} ms (out of range, powered off, or held by another central)`,
      );
    }
  }

  async #exists(mac: string, signal: AbortSignal): Promise<boolean> {
    const { client, gatt } = await this.#current();
    const [props] = await client.callBluez(
      {
        path: gatt.devicePath(mac),
        interface: PROPERTIES,
        member: 'GetAll',
        signature: 's',
        body: [DEVICE1],
      },
      signal,
    );
    return deviceProps(props).address !== undefined;
  }

  /**
   * Drops the GattAdapter and lets the connection go (a restart of the bus: the next gatt() has fresh
   * proxies, on a fresh connection unless the BLE line holds the current one).
   */
  async reopen(): Promise<void> {
    const current = this.#opened;
    this.#opened = undefined;
    const opened = await current?.catch(() => undefined);
    await opened?.gatt.close();
    opened?.lease.release();
  }

  /** The BLE line lends its discovery and power cycle while its runtime runs. */
  lend(line: LineControl): void {
    this.#line = line;
  }

  /** Its runtime stopped (a newer runtime of the line may have lent itself already). */
  withdraw(line: LineControl): void {
    if (this.#line === line) this.#line = undefined;
  }

  /**
   * Runs `work` between connects on this adapter (the line's bring-up and recovery steps: a discovery
   * started while a connect is under way would abort it). Directly when nothing connects here yet.
   */
  async exclusive<T>(what: string, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    const opened = this.#opened === undefined ? undefined : await this.#opened.catch(() => undefined);
    return opened === undefined ? work() : opened.gatt.exclusive(what, signal, work);
  }

  /** Whether a BLE line scans on this adapter (its discovery is paused around connects). */
  get lineRuns(): boolean {
    return this.#line !== undefined;
  }

  /**
   * Power-cycles the adapter for a connected device (`by` names it): through the BLE line when it runs
   * (its session, its watchdog), else on the adapter's connection. Throws PowerCycleRefused, without
   * touching the adapter, when the adapter had its hourly limit of power cycles, whoever ran them (the
   * line's own count in the same budget): the radio is one.
   */
  async powerCycle(signal: AbortSignal, by: string, now: number): Promise<void> {
    this.powerCycles.take(by, now);
    const { client, gatt } = await this.#current();
    await gatt.exclusive(`power cycle ${this.adapter}`, signal, async () => {
      const line = this.#line;
      if (line !== undefined) return line.powerCycle(signal);
      await client.setPowered(this.adapterPath, false, signal);
      await client.setPowered(this.adapterPath, true, signal);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.reopen();
  }

  /** The GattAdapter on the open connection: a new one (and a new lease) when the connection dropped. */
  async #current(): Promise<Opened> {
    if (this.#closed) throw new Error(`connected BLE on ${this.adapter} is closed`);
    const current = this.#opened;
    if (current !== undefined) {
      const opened = await current.catch(() => undefined);
      if (opened !== undefined && !opened.client.closed) return opened;
      if (this.#opened === current) {
        this.#opened = undefined;
        await opened?.gatt.close();
        opened?.lease.release();
      }
    }
    this.#opened ??= this.#open();
    const opening = this.#opened;
    try {
      return await opening;
    } catch (error) {
      if (this.#opened === opening) this.#opened = undefined;
      throw error;
    }
  }

  async #open(): Promise<Opened> {
    const lease = await this.connection.acquire(this.calls);
    const client = lease.client;
    const scan: ScanControl = {
      pauseDiscovery: (signal) => this.#line?.pauseDiscovery(signal) ?? Promise.resolve(),
      resumeDiscovery: (signal) => this.#line?.resumeDiscovery(signal) ?? Promise.resolve(),
    };
    const gatt = new GattAdapter({
      client,
      adapterPath: this.adapterPath,
      scan,
      ...(this.#options.log ? { log: this.#options.log } : {}),
    });
    return { lease, client, gatt };
  }
}

const hostsOf = perGateway<ConnectedHost>(async (hosts) => {
  await Promise.all(hosts.map((host) => host.close()));
  for (const host of hosts) host.connection.close();
});

/**
 * The connected-BLE host of `adapter` in this gateway, with the adapter's one D-Bus connection: made on
 * first use (by the BLE line or by a connected device, whichever opens first; the options of the first
 * are kept), closed with the gateway.
 */
export function connectedHost(context: OpenContext, adapter: string, options: HostOptions): ConnectedHost {
  const hosts = hostsOf(context);
  let host = hosts.get(adapter);
  if (host === undefined) {
    host = new ConnectedHost(adapter, options);
    hosts.set(adapter, host);
  }
  return host;
}
