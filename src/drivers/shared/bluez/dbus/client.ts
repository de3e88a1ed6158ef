import type { EventEmitter } from 'node:events';
import dbus from 'dbus-next';
import { type CallOutcome, DbusCallStats } from './stats.js';
import {
  type BluezMethodCall,
  DbusCallError,
  DbusTimeoutError,
  DEFAULT_DBUS_TIMEOUTS,
  type DbusTimeouts,
} from './calls.js';
import { BUS_NAME, BUS_PATH, type BluezEvent, bluezEventOf, MATCH_RULES } from './signals.js';
import {
  ADAPTER1,
  BLUEZ,
  type BluezObject,
  managedObjects,
  OBJECT_MANAGER,
  PROPERTIES,
  unwrap,
} from './values.js';
import { errorText } from '../../../../errorText.js';

export type { BluezEvent } from './signals.js';
// The bounds and errors of a call live in calls.ts; importers of the client get them from here too.
export * from './calls.js';

// The BLE driver's D-Bus client: one connection to the system bus (or `bus_address`), BlueZ's calls with
// a hard timeout each (dbus-next has none: a wedged bluetoothd would leave a call pending forever), and
// BlueZ's signals as typed events. It uses dbus-next's low-level API only: proxies drop the signals of a
// restarted bluetoothd until they see its NameOwnerChanged, so the match rules and the name watch are
// made here, and a timed-out call's reply handler is removed so hung calls do not pile up.

export interface BluezClientOptions {
  /** unix:path=… of another bus; the system bus when absent. */
  busAddress?: string | undefined;
  timeouts?: Partial<DbusTimeouts>;
  stats?: DbusCallStats;
}

type MessageBus = ReturnType<typeof dbus.sessionBus>;
type Message = InstanceType<typeof dbus.Message>;

interface CallSpec {
  destination?: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: unknown[];
}

/** dbus-next internals reached through a narrow view: the pending-reply table and the raw connection. */
interface BusInternals {
  _methodReturnHandlers: Record<number, unknown>;
  _connection: EventEmitter;
  name: string | null;
}

/** What every view of one connection shares (recordingInto): it is one connection to one bluetoothd. */
interface ConnectionState {
  readonly listeners: Set<(event: BluezEvent) => void>;
  /** Our own pending calls, so a lost connection fails them at once instead of at their timeout. */
  readonly pending: Set<(error: Error) => void>;
  closed: string | undefined;
  /** The unique name owning org.bluez, '' while nobody does; undefined until known. */
  owner: string | undefined;
}

export class BluezClient {
  readonly #bus: MessageBus;
  readonly #timeouts: DbusTimeouts;
  /** Where this view's calls are recorded (each user of a shared connection has its own). */
  readonly #stats: DbusCallStats;
  readonly #state: ConnectionState;

  private constructor(bus: MessageBus, timeouts: DbusTimeouts, stats: DbusCallStats, state: ConnectionState) {
    this.#bus = bus;
    this.#timeouts = timeouts;
    this.#stats = stats;
    this.#state = state;
  }

  /**
   * The same connection (its calls, events and end), its calls recorded in `stats`: how the users of a
   * shared connection each count their own calls, once, under their own name.
   */
  recordingInto(stats: DbusCallStats): BluezClient {
    return new BluezClient(this.#bus, this.#timeouts, stats, this.#state);
  }

  /** Connects, adds the match rules and learns who owns org.bluez; bounded by the method timeout. */
  static async connect(options: BluezClientOptions = {}): Promise<BluezClient> {
    const bus = options.busAddress ? dbus.sessionBus({ busAddress: options.busAddress }) : dbus.systemBus();
    const client = new BluezClient(
      bus,
      { ...DEFAULT_DBUS_TIMEOUTS, ...options.timeouts },
      options.stats ?? new DbusCallStats(),
      { listeners: new Set(), pending: new Set(), closed: undefined, owner: undefined },
    );
    // An error event without a listener would throw from the socket's callback and end the process.
    bus.on('error', (error: unknown) => client.#lose(`D-Bus connection error: ${errorText(error)}`));
    const where = options.busAddress ?? 'the system bus';
    const bound = client.#timeouts.methodMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(
          () => reject(new DbusTimeoutError(`no answer from ${where} within ${bound} ms`)),
          bound,
        );
        bus.once('connect', () => resolve());
        bus.once('error', (error: unknown) =>
          reject(new Error(`cannot connect to ${where}: ${errorText(error)}`)),
        );
      });
      const internals = bus as unknown as BusInternals;
      internals._connection.on('end', () => client.#lose(`${where} closed the connection`));
      bus.on('message', (message: Message) => client.#onMessage(message));
      for (const rule of MATCH_RULES) {
        await client.#call(
          'AddMatch',
          {
            destination: BUS_NAME,
            path: BUS_PATH,
            interface: BUS_NAME,
            member: 'AddMatch',
            signature: 's',
            body: [rule],
          },
          bound,
        );
      }
      client.#state.owner = await client.nameOwner(BLUEZ);
      return client;
    } catch (error) {
      client.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  get closed(): boolean {
    return this.#state.closed !== undefined;
  }

  /** The unique name owning org.bluez now ('' when bluetoothd is not on the bus). */
  get bluezOwner(): string {
    return this.#state.owner ?? '';
  }

  /** Replies dbus-next is still waiting for (hung calls whose handler was not dropped would show here). */
  get pendingReplies(): number {
    return Object.keys((this.#bus as unknown as BusInternals)._methodReturnHandlers).length;
  }

  get timeouts(): DbusTimeouts {
    return this.#timeouts;
  }

  onEvent(listener: (event: BluezEvent) => void): () => void {
    this.#state.listeners.add(listener);
    return () => this.#state.listeners.delete(listener);
  }

  async nameOwner(name: string, signal?: AbortSignal): Promise<string> {
    try {
      const [owner] = await this.#call(
        'GetNameOwner',
        {
          destination: BUS_NAME,
          path: BUS_PATH,
          interface: BUS_NAME,
          member: 'GetNameOwner',
          signature: 's',
          body: [name],
        },
        this.#timeouts.methodMs,
        signal,
      );
      return typeof owner === 'string' ? owner : '';
    } catch (error) {
      if (error instanceof DbusCallError && error.dbusName.endsWith('NameHasNoOwner')) return '';
      throw error;
    }
  }

  async getManagedObjects(signal?: AbortSignal): Promise<Map<string, BluezObject>> {
    const [objects] = await this.#call(
      'ObjectManager.GetManagedObjects',
      { path: '/', interface: OBJECT_MANAGER, member: 'GetManagedObjects' },
      this.#timeouts.methodMs,
      signal,
    );
    return managedObjects(objects);
  }

  /** Adapter1.Powered or Adapter1.Discovering, read now (also the watchdog's "does D-Bus answer"). */
  async getAdapterFlag(
    path: string,
    name: 'Powered' | 'Discovering',
    signal?: AbortSignal,
  ): Promise<boolean> {
    const [value] = await this.#call(
      `Properties.Get(${name})`,
      { path, interface: PROPERTIES, member: 'Get', signature: 'ss', body: [ADAPTER1, name] },
      this.#timeouts.methodMs,
      signal,
    );
    const plain = unwrap(value);
    if (typeof plain !== 'boolean') throw new Error(`Adapter1.${name} of ${path} is not a boolean`);
    return plain;
  }

  async setPowered(path: string, on: boolean, signal?: AbortSignal): Promise<void> {
    await this.#call(
      'Properties.Set(Powered)',
      {
        path,
        interface: PROPERTIES,
        member: 'Set',
        signature: 'ssv',
        body: [ADAPTER1, 'Powered', new dbus.Variant('b', on)],
      },
      this.#timeouts.methodMs,
      signal,
    );
  }

  /** LE only, and every advertisement reported (not only the first of each device). */
  async setDiscoveryFilter(path: string, signal?: AbortSignal): Promise<void> {
    const filter = { Transport: new dbus.Variant('s', 'le'), DuplicateData: new dbus.Variant('b', true) };
    await this.#call(
      'Adapter1.SetDiscoveryFilter',
      { path, interface: ADAPTER1, member: 'SetDiscoveryFilter', signature: 'a{sv}', body: [filter] },
      this.#timeouts.methodMs,
      signal,
    );
  }

  async startDiscovery(path: string, signal?: AbortSignal): Promise<void> {
    await this.#call(
      'Adapter1.StartDiscovery',
      { path, interface: ADAPTER1, member: 'StartDiscovery' },
      this.#timeouts.startDiscoveryMs,
      signal,
    );
  }

  async stopDiscovery(path: string, signal?: AbortSignal): Promise<void> {
    await this.#call(
      'Adapter1.StopDiscovery',
      { path, interface: ADAPTER1, member: 'StopDiscovery' },
      this.#timeouts.methodMs,
      signal,
    );
  }

  /**
   * Any other org.bluez method (Device1.Connect, GattCharacteristic1.WriteValue, Adapter1.RemoveDevice…)
   * with the same hard timeout and stats as the calls above; the stats key is `Interface.Member` with
   * the interface's last name part. Returns the reply's body.
   */
  async callBluez(call: BluezMethodCall, signal?: AbortSignal): Promise<unknown[]> {
    const shortInterface = call.interface.split('.').pop() ?? call.interface;
    return this.#call(
      `${shortInterface}.${call.member}`,
      {
        path: call.path,
        interface: call.interface,
        member: call.member,
        signature: call.signature,
        body: call.body,
      },
      call.timeoutMs ?? this.#timeouts.methodMs,
      signal,
    );
  }

  /** Leaves the bus (BlueZ ends our discovery session when we go). Idempotent. */
  close(): void {
    if (this.#state.closed === undefined) this.#state.closed = 'closed';
    this.#failPending(new Error('the D-Bus connection was closed'));
    this.#state.listeners.clear();
    try {
      this.#bus.disconnect();
    } catch {
      // Already gone: nothing left to release.
    }
  }

  /** One call with a hard timeout; the operation name keys the stats. */
  async #call(
    operation: string,
    spec: CallSpec,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<unknown[]> {
    const started = performance.now();
    const finish = (outcome: CallOutcome) =>
      this.#stats.record(operation, performance.now() - started, outcome);
    if (this.#state.closed !== undefined) {
      finish('error');
      throw new Error(`${operation}: the D-Bus connection is gone (${this.#state.closed})`);
    }
    signal?.throwIfAborted();
    const message = new dbus.Message({
      destination: spec.destination ?? BLUEZ,
      path: spec.path,
      interface: spec.interface,
      member: spec.member,
      signature: spec.signature ?? '',
      body: spec.body ?? [],
    });
    const reply = this.#bus.call(message);
    // The serial is assigned synchronously by call(); it keys dbus-next's pending-reply table.
    const serial = message.serial;
    let timer: NodeJS.Timeout | undefined;
    let fail: (error: Error) => void = () => undefined;
    const stopped = new Promise<never>((_resolve, reject) => {
      fail = reject;
      timer = setTimeout(
        () =>
          reject(
            new DbusTimeoutError(
              `${operation} on ${spec.path} got no answer within ${timeoutMs} ms (bluetoothd may be hung)`,
            ),
          ),
        timeoutMs,
      );
    });
    const onAbort = () =>
      fail(signal?.reason instanceof Error ? signal.reason : new Error(`${operation} aborted`));
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#state.pending.add(fail);
    // A reply after our timeout (or after close) has nobody waiting: not an unhandled rejection.
    reply.catch(() => undefined);
    try {
      const answer = await Promise.race([reply, stopped]);
      finish('ok');
      return answer?.body ?? [];
    } catch (error) {
      const timedOut = error instanceof DbusTimeoutError;
      finish(timedOut ? 'timeout' : 'error');
      if (serial !== null) delete (this.#bus as unknown as BusInternals)._methodReturnHandlers[serial];
      if (error instanceof dbus.DBusError) {
        throw new DbusCallError(
          error.type,
          `${operation} on ${spec.path} failed: ${error.text} (${error.type})`,
        );
      }
      throw error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.#state.pending.delete(fail);
    }
  }

  #failPending(error: Error): void {
    for (const fail of [...this.#state.pending]) fail(error);
    this.#state.pending.clear();
  }

  #lose(reason: string): void {
    if (this.#state.closed !== undefined) return;
    this.#state.closed = reason;
    this.#failPending(new Error(reason));
    this.#emit({ type: 'closed', reason });
    this.#state.listeners.clear();
    try {
      this.#bus.disconnect();
    } catch {
      // The socket is already broken.
    }
  }

  #emit(event: BluezEvent): void {
    for (const listener of [...this.#state.listeners]) listener(event);
  }

  #onMessage(message: Message): void {
    if (message.type !== dbus.MessageType.SIGNAL) return;
    const event = bluezEventOf(
      {
        interface: message.interface,
        member: message.member,
        path: message.path,
        sender: message.sender,
        body: (message.body ?? []) as unknown[],
      },
      this.#state.owner,
    );
    if (event?.type === 'owner') this.#state.owner = event.owner;
    if (event) this.#emit(event);
  }
}
