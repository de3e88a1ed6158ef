import { BluezClient, type DbusTimeouts } from './dbus/client.js';
import { DbusCallStats } from './dbus/stats.js';

// The one D-Bus connection of an adapter in a gateway, shared by everything that talks to BlueZ about
// that adapter: the BLE line's session (its discovery, its watchdog's reads) and the connected-BLE host
// (a Renogy bus's connects, links and cached proxies). One connection, because BlueZ keys a discovery
// session, a discovery filter and a notify session by the client's connection: two connections of one
// gateway would be two clients to bluetoothd, and the pause of the line's discovery around a connect
// would pause a scan that is not the one the connect races.
//
// Users hold it by a lease. The connection is opened by the first lease and closed when the last lease
// on it is released, so either user runs alone, starts first or restarts (restart_actor) without
// closing it under the other; when only one user restarts, it comes back on the same connection. When
// the connection drops (a dbus-daemon restart, a broken socket), the next lease opens a new one, once
// for every user asking at the same time. What a gateway keeps of it ends with its OpenContext.
//
// Each lease's client records the calls made through it in the stats its user gave (a view of the one
// connection, BluezClient.recordingInto): the line's calls are the BLE driver's, the connected devices'
// are theirs, each counted once, whether or not the other user runs.

export interface AdapterConnectionOptions {
  /** /org/bluez/<adapter> is on this bus (a private one in tests and simulations); the system bus when absent. */
  busAddress: () => Promise<string | undefined>;
  timeouts?: Partial<DbusTimeouts> | undefined;
  /** Where the calls of a lease taken without stats of its own are recorded (a fresh one when absent). */
  stats?: DbusCallStats | undefined;
}

/** A user's hold on the connection: the client it got, valid until released or dropped. */
export interface ConnectionLease {
  readonly client: BluezClient;
  /** Lets go (idempotent): the connection closes when no lease on it is left. */
  release(): void;
}

interface Lease extends ConnectionLease {
  /** The connection itself (`client` is the user's view of it). */
  readonly connection: BluezClient;
  released: boolean;
}

export class AdapterConnection {
  readonly adapter: string;
  /** The calls made through leases taken without stats of their own. */
  readonly stats: DbusCallStats;
  readonly #options: AdapterConnectionOptions;
  readonly #leases = new Set<Lease>();
  #client: BluezClient | undefined;
  #opening: Promise<BluezClient> | undefined;
  /** Leases being made: the connection they wait for must not be closed under them. */
  #acquiring = 0;
  #closed = false;
  #opened = 0;

  constructor(adapter: string, options: AdapterConnectionOptions) {
    this.adapter = adapter;
    this.#options = options;
    this.stats = options.stats ?? new DbusCallStats();
  }

  /** How many connections were opened so far: the first, and one for each drop since. */
  get opened(): number {
    return this.#opened;
  }

  /**
   * A lease on the open connection; opens it when there is none or the last one dropped. A connection
   * that drops while the lease is being made is opened again once; a second drop is an error. The calls
   * made through the lease's client (and those that open the connection for it) go to `stats`.
   */
  async acquire(stats: DbusCallStats = this.stats): Promise<ConnectionLease> {
    this.#acquiring += 1;
    try {
      for (let attempt = 0; ; attempt += 1) {
        const client = await this.#open(stats);
        if (!client.closed) return this.#lease(client, stats);
        if (attempt > 0) {
          throw new Error(`the D-Bus connection for ${this.adapter} dropped again as soon as it was opened`);
        }
      }
    } finally {
      this.#acquiring -= 1;
    }
  }

  /** Closes the connection whatever leases remain (the gateway stops). */
  close(): void {
    this.#closed = true;
    this.#leases.clear();
    this.#client?.close();
    this.#client = undefined;
  }

  #lease(client: BluezClient, stats: DbusCallStats): ConnectionLease {
    if (this.#closed) {
      throw new Error(`the D-Bus connection for ${this.adapter} is closed (the gateway is stopping)`);
    }
    const lease: Lease = {
      client: client.recordingInto(stats),
      connection: client,
      released: false,
      release: () => {
        if (lease.released) return;
        lease.released = true;
        this.#leases.delete(lease);
        this.#closeUnused();
      },
    };
    this.#leases.add(lease);
    return lease;
  }

  /** The current connection, or a new one (a single opening shared by every caller meanwhile). */
  #open(stats: DbusCallStats): Promise<BluezClient> {
    if (this.#closed) {
      return Promise.reject(
        new Error(`the D-Bus connection for ${this.adapter} is closed (the gateway is stopping)`),
      );
    }
    const current = this.#client;
    if (current !== undefined && !current.closed) return Promise.resolve(current);
    this.#opening ??= (async () => {
      const busAddress = await this.#options.busAddress();
      const client = await BluezClient.connect({
        busAddress,
        // Its setup calls (the match rules, who owns org.bluez) are made for the user that opens it.
        stats,
        ...(this.#options.timeouts ? { timeouts: this.#options.timeouts } : {}),
      });
      this.#opened += 1;
      if (this.#closed) {
        client.close();
        throw new Error(`the D-Bus connection for ${this.adapter} is closed (the gateway is stopping)`);
      }
      this.#client = client;
      return client;
    })().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  /** No lease on the current connection and none being made: it is closed (BlueZ ends our scan with it). */
  #closeUnused(): void {
    const client = this.#client;
    if (client === undefined || this.#acquiring > 0) return;
    for (const lease of this.#leases) if (lease.connection === client) return;
    this.#client = undefined;
    client.close();
  }
}
