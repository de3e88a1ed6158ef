// What a call to bluetoothd is bounded by and how it fails, apart from the client so the layers above
// (the adapter session, connected BLE) name them without the connection itself.

export interface DbusTimeouts {
  /** Properties Get/Set and plain methods (SetDiscoveryFilter, StopDiscovery, GetManagedObjects). */
  methodMs: number;
  /** One StartDiscovery (bluetoothd may take a while to start a scan). */
  startDiscoveryMs: number;
  /** A whole discovery bring-up, its retries included. */
  bringUpMs: number;
}

export const DEFAULT_DBUS_TIMEOUTS: DbusTimeouts = {
  methodMs: 5_000,
  startDiscoveryMs: 10_000,
  bringUpMs: 30_000,
};

/** A D-Bus error answer, with its error name (org.bluez.Error.InProgress, …). */
export class DbusCallError extends Error {
  override readonly name = 'DbusCallError';
  constructor(
    readonly dbusName: string,
    message: string,
  ) {
    super(message);
  }
}

/** A call that got no answer within its bound. */
export class DbusTimeoutError extends Error {
  override readonly name = 'DbusTimeoutError';
}

/** One method call to bluetoothd, for callBluez. */
export interface BluezMethodCall {
  path: string;
  interface: string;
  member: string;
  /** D-Bus signature of `body` ('' when absent). */
  signature?: string;
  body?: unknown[];
  /** The call's bound; the method timeout when absent. */
  timeoutMs?: number;
}
