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

export interface AdapterConnectionOptions {
  /** /org/bluez/<adapter> is on this bus (a private one in tests and simulations); the system bus when absent. */
  busAddress: () => Promise<string | undefined>;
  timeouts?: Partial<DbusTimeouts> | undefined;
  /** Where every call on the connection is recorded (a fresh one when absent). */
  stats?: DbusCallStats | undefined;
}

/** A user's hold on the connection: the client it got, valid until released or dropped. */
export interface ConnectionLease {
  readonly client: BluezClient;
  /** Lets go (idempotent): the connection closes when no lease on it is left. */
  release(): void;
}

interface Lease extends ConnectionLease {
  released: boolean;
}

export class AdapterConnection {
  readonly adapter: string;
  /** Every call made on the connection, whoever made it. */
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
   * that drops while the lease is being made is opened again once; a second drop is an error.
   */
  async acquire(): Promise<ConnectionLease> {
    this.#acquiring += 1;
    try {
      for (let attempt = 0; ; attempt += 1) {
        const client = await this.#open();
        if (!client.closed) return this.#lease(client);
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

  #lease(client: BluezClient): ConnectionLease {
    if (this.#closed) {
      throw new Error(`the D-Bus connection for ${this.adapter} is closed (the gateway is stopping)`);
    }
    const lease: Lease = {
      client,
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
  #open(): Promise<BluezClient> {
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
        stats: this.stats,
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
    for (const lease of this.#leases) if (lease.client === client) return;
    this.#client = undefined;
    client.close();
  }
}

/**
 * A user's view of the adapter's connection: the shared one when given, else one of its own from
 * `own`; with `own.stats` hearing every call on it (on a shared connection, the other users' calls
 * too: they are calls to the same bluetoothd) until `stopStats`.
 */
export function connectionOf(
  shared: AdapterConnection | undefined,
  adapter: string,
  own: AdapterConnectionOptions,
): { connection: AdapterConnection; stopStats: () => void } {
  const connection = shared ?? new AdapterConnection(adapter, own);
  const stats = own.stats;
  if (stats === undefined || stats === connection.stats) return { connection, stopStats: () => undefined };
  return {
    connection,
    stopStats: connection.stats.listen((operation, ms, outcome) => stats.record(operation, ms, outcome)),
  };
}
