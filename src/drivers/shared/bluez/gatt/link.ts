import dbus from 'dbus-next';
import type { BluezClient } from '../dbus/client.js';
import { bytesOf, DEVICE1, GATT_CHARACTERISTIC1 } from '../dbus/values.js';
import { GattFailure, gattFailureOf } from './failures.js';
import { type CharacteristicEntry, type CharacteristicPair, type GattTree, pairText } from './tree.js';

// One connection to one device, from a successful connect to its end: the characteristics found by
// (service, characteristic) pair and remembered (their object paths are the "proxies" of this link),
// StartNotify, WriteValue (with or without response), ReadValue, the notifications of the
// characteristics it started, and the end of the link. A link never comes back: after it was lost or
// let go, the runtime connects again and gets a new one, so a stale link cannot be used by mistake.

export interface GattNotification {
  /** The pair the notification came on, as the caller named it at startNotify. */
  pair: CharacteristicPair;
  /** One ATT notification (at most MTU − 3 bytes: a long answer arrives in several). */
  value: Uint8Array;
}

export interface WriteOptions {
  /** Write command (WriteValue type "command"): no ATT answer, as Renogy's modules want. */
  withoutResponse?: boolean;
  signal?: AbortSignal;
}

export interface ReadOptions {
  signal?: AbortSignal;
  /** The ReadValue call's bound; the client's method timeout when absent. */
  timeoutMs?: number;
}

/** What a link needs of its adapter. */
export interface LinkContext {
  client: BluezClient;
  tree: GattTree;
  /** Called once when the link ends (lost or let go), so the adapter stops routing to it. */
  released(link: GattLink): void;
}

export class GattLink {
  readonly devicePath: string;
  readonly #context: LinkContext;
  readonly #resolved = new Map<string, CharacteristicEntry>();
  /** Characteristic object path → the pair it was started under. */
  readonly #notifying = new Map<string, CharacteristicPair>();
  readonly #notificationListeners = new Set<(notification: GattNotification) => void>();
  readonly #lostListeners = new Set<(failure: GattFailure) => void>();
  /** Woken when the link ends either way (the async iterables end then). */
  readonly #endWaiters = new Set<() => void>();
  #ended: GattFailure | undefined;
  #disconnecting: Promise<void> | undefined;

  constructor(devicePath: string, context: LinkContext) {
    this.devicePath = devicePath;
    this.#context = context;
  }

  /** Whether the link is gone (lost, or disconnect() called). */
  get closed(): boolean {
    return this.#ended !== undefined;
  }

  /** Why the link ended, once it did. */
  get endedBy(): GattFailure | undefined {
    return this.#ended;
  }

  /** The characteristic of the pair; services_missing when absent, failed when the pair is ambiguous. */
  characteristic(pair: CharacteristicPair): CharacteristicEntry {
    this.#throwIfEnded('looking up a characteristic');
    const key = pairText(pair);
    const cached = this.#resolved.get(key);
    if (cached !== undefined && this.#context.tree.characteristic(cached.path) !== undefined) return cached;
    const found = this.#context.tree.find(this.devicePath, pair);
    if (found.length === 0) {
      const count = this.#context.tree.gattObjectCount(this.devicePath);
      throw new GattFailure(
        'services_missing',
        `${this.devicePath} has no ${key} (${count === 0 ? 'no GATT objects at all' : `${count} other GATT objects`})`,
      );
    }
    if (found.length > 1) {
      throw new GattFailure('failed', `${this.devicePath} has ${found.length} characteristics for ${key}`);
    }
    const [entry] = found as [CharacteristicEntry];
    this.#resolved.set(key, entry);
    return entry;
  }

  /**
   * The characteristics with this UUID under any service that have `flag` (read, notify, …), as pairs
   * to use with the other calls; none when the device has no such characteristic. For characteristics
   * whose service is not known: a device may put them under a service of its own.
   */
  pairsWithCharacteristic(characteristic: string, flag: string): CharacteristicPair[] {
    this.#throwIfEnded('looking up a characteristic');
    return this.#context.tree
      .findAnywhere(this.devicePath, characteristic)
      .filter((entry) => entry.flags.includes(flag))
      .map((entry) => ({ service: entry.serviceUuid, characteristic: entry.uuid }));
  }

  async startNotify(pair: CharacteristicPair, signal?: AbortSignal): Promise<void> {
    const entry = this.characteristic(pair);
    if (!entry.flags.includes('notify') && !entry.flags.includes('indicate')) {
      throw new GattFailure('not_supported', `${entry.path} (${pairText(pair)}) does not notify`);
    }
    // Routed from now on: a notification may come before StartNotify's answer.
    this.#notifying.set(entry.path, pair);
    try {
      await this.#gattCall('StartNotify', entry.path, [], '', signal);
    } catch (error) {
      this.#notifying.delete(entry.path);
      throw error;
    }
  }

  async write(pair: CharacteristicPair, bytes: Uint8Array, options: WriteOptions = {}): Promise<void> {
    const entry = this.characteristic(pair);
    const type = options.withoutResponse ? 'command' : 'request';
    await this.#gattCall(
      'WriteValue',
      entry.path,
      [Buffer.from(bytes), { type: new dbus.Variant('s', type) }],
      'aya{sv}',
      options.signal,
    );
  }

  /** ReadValue, bounded by `timeoutMs` (default: the client's method timeout). */
  async read(pair: CharacteristicPair, options: ReadOptions = {}): Promise<Uint8Array> {
    const entry = this.characteristic(pair);
    const [value] = await this.#gattCall('ReadValue', entry.path, [{}], 'a{sv}', options.signal, {
      timeoutMs: options.timeoutMs,
    });
    const bytes = bytesOf(value);
    if (bytes === undefined) throw new GattFailure('failed', `ReadValue on ${entry.path} answered no bytes`);
    return bytes;
  }

  /** Every notification of the characteristics started on this link; none after the link ended. */
  onNotification(listener: (notification: GattNotification) => void): () => void {
    this.#notificationListeners.add(listener);
    return () => this.#notificationListeners.delete(listener);
  }

  /** Once, when the link drops by itself (not after disconnect()). */
  onLost(listener: (failure: GattFailure) => void): () => void {
    this.#lostListeners.add(listener);
    return () => this.#lostListeners.delete(listener);
  }

  /**
   * The notifications as an async iterable, from the moment of this call (not of the first next(), so
   * nothing sent right after a write is missed); ends when the link ends or `signal` fires.
   */
  notifications(signal?: AbortSignal): AsyncGenerator<GattNotification> {
    const queue: GattNotification[] = [];
    const waiting: { wake?: () => void } = {};
    const wake = () => waiting.wake?.();
    const stopNotifications = this.onNotification((notification) => {
      queue.push(notification);
      wake();
    });
    this.#endWaiters.add(wake);
    signal?.addEventListener('abort', wake);
    const stop = () => {
      stopNotifications();
      this.#endWaiters.delete(wake);
      signal?.removeEventListener('abort', wake);
    };
    return this.#drain(queue, waiting, stop, signal);
  }

  async *#drain(
    queue: GattNotification[],
    waiting: { wake?: () => void },
    stop: () => void,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<GattNotification> {
    try {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (this.closed || signal?.aborted) return;
        await new Promise<void>((resolve) => (waiting.wake = resolve));
        waiting.wake = undefined;
      }
    } finally {
      stop();
    }
  }

  /**
   * Lets the device go: Device1.Disconnect (bounded by the method timeout), idempotent, never rejects.
   * No notification or loss is reported after it is called.
   */
  disconnect(): Promise<void> {
    this.#disconnecting ??= (async () => {
      this.#end(new GattFailure('disconnected', `${this.devicePath} was let go`), false);
      try {
        await this.#context.client.callBluez({
          path: this.devicePath,
          interface: DEVICE1,
          member: 'Disconnect',
        });
      } catch {
        // Already gone, adapter gone, bluetoothd hung: the link is over for us either way.
      }
    })();
    return this.#disconnecting;
  }

  /** From the adapter: a value arrived on `path`. */
  deliver(path: string, value: Uint8Array): void {
    const pair = this.#notifying.get(path);
    if (pair === undefined || this.closed) return;
    for (const listener of [...this.#notificationListeners]) listener({ pair, value });
  }

  /** From the adapter: the link dropped (Connected false, device removed, bluetoothd gone). */
  lost(failure: GattFailure): void {
    this.#end(failure, true);
  }

  #end(failure: GattFailure, report: boolean): void {
    if (this.#ended !== undefined) return;
    this.#ended = failure;
    const listeners = [...this.#lostListeners];
    this.#notificationListeners.clear();
    this.#lostListeners.clear();
    this.#context.released(this);
    for (const wake of [...this.#endWaiters]) wake();
    this.#endWaiters.clear();
    if (report) for (const listener of listeners) listener(failure);
  }

  #throwIfEnded(what: string): void {
    if (this.#ended !== undefined) {
      throw new GattFailure('disconnected', `${what} on a link that ended: ${this.#ended.message}`);
    }
  }

  async #gattCall(
    operation: string,
    path: string,
    body: unknown[],
    signature: string,
    signal: AbortSignal | undefined,
    bound: { timeoutMs?: number | undefined } = {},
  ): Promise<unknown[]> {
    this.#throwIfEnded(operation);
    try {
      return await this.#context.client.callBluez(
        {
          path,
          interface: GATT_CHARACTERISTIC1,
          member: operation,
          signature,
          body,
          ...(bound.timeoutMs === undefined ? {} : { timeoutMs: bound.timeoutMs }),
        },
        signal,
      );
    } catch (error) {
      const failure = gattFailureOf(error, { operation, path, signal });
      // A call that found the link gone ends it here too (the signal may still be on its way).
      if (failure.kind === 'disconnected' || failure.kind === 'adapter_unavailable') this.lost(failure);
      throw failure;
    }
  }
}
