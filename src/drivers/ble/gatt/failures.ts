import { DbusCallError, DbusTimeoutError } from '../dbus/client.js';
import { errorText } from '../../../errorText.js';

// Every way a connected-BLE operation fails, as one named kind, so the runtime's recovery ladder and
// its logs speak of `connect_aborted` or `taken_by_other_central` and never parse D-Bus texts. The
// mapping follows BlueZ's own errors (src/error.c, src/device.c, src/gatt-client.c): an LE connect that
// fails answers org.bluez.Error.Failed with a "le-connection-…" reason, a second Connect while one is
// pending answers InProgress, a GATT call on a device without a link answers Failed "Not connected".

export type GattFailureKind =
  /** Connect answered Failed: le-connection-abort-by-local (RF, coexistence, scanning) and the like. */
  | 'connect_aborted'
  /** org.bluez.Error.InProgress: a connect (or discovery start/stop) of someone is already under way. */
  | 'in_progress'
  /** Connect got no answer within our bound (or BlueZ's own le-connection-timeout). */
  | 'connect_timeout'
  /** The link came up but ServicesResolved did not within its bound. */
  | 'services_timeout'
  /** ServicesResolved, yet a required (service, characteristic) pair is not among the GATT objects. */
  | 'services_missing'
  /** Connect failed and the device stopped advertising meanwhile: another central holds it (inferred). */
  | 'taken_by_other_central'
  /** BlueZ has no such device object (never heard, or removed). */
  | 'not_found'
  /** The link dropped, or a call found the device not connected. */
  | 'disconnected'
  /** The adapter is off or gone, bluetoothd is not on the bus, or our D-Bus connection ended. */
  | 'adapter_unavailable'
  /** The characteristic does not allow it (no notify flag, not writable). */
  | 'not_supported'
  /** A GATT call (write, StartNotify, read) got no answer within its bound. */
  | 'call_timeout'
  /** The caller gave up (its AbortSignal fired). */
  | 'aborted'
  /** Anything else BlueZ answered; the message keeps its words. */
  | 'failed';

export class GattFailure extends Error {
  override readonly name = 'GattFailure';
  constructor(
    readonly kind: GattFailureKind,
    message: string,
    /** The D-Bus error name behind it, when there was one. */
    readonly dbusName?: string,
  ) {
    super(message);
  }
}

/** What a failure is about, for the message ("Connect to /org/bluez/hci0/dev_…"). */
export interface FailureContext {
  /** `Connect`, `WriteValue`, `StartNotify`, `ReadValue`, `RemoveDevice`, … */
  operation: string;
  path: string;
  signal?: AbortSignal | undefined;
}

const LE_TIMEOUT = 'le-connection-timeout';

function kindOfDbusError(error: DbusCallError, operation: string): GattFailureKind {
  const name = error.dbusName;
  const text = error.message;
  if (name === 'org.bluez.Error.InProgress') return 'in_progress';
  if (name === 'org.bluez.Error.NotConnected') return 'disconnected';
  if (name === 'org.bluez.Error.NotReady') return 'adapter_unavailable';
  if (name === 'org.bluez.Error.DoesNotExist') return 'not_found';
  if (name === 'org.bluez.Error.NotSupported' || name === 'org.bluez.Error.NotPermitted')
    return 'not_supported';
  if (name.endsWith('.UnknownObject') || name.endsWith('.UnknownMethod')) return 'not_found';
  if (name.endsWith('.ServiceUnknown') || name.endsWith('.NameHasNoOwner') || name.endsWith('.NoReply')) {
    return 'adapter_unavailable';
  }
  if (name === 'org.bluez.Error.Failed') {
    if (/not connected/i.test(text)) return 'disconnected';
    if (text.includes(LE_TIMEOUT)) return 'connect_timeout';
    // Input/output error: the kernel refused the LE connect at once (adapter off or gone; BlueZ's
    // device_connect_le returns -EIO, dev_connect answers strerror of it).
    if (/le-connection-adapter-not-powered|Resource Not Ready|Input\/output error/i.test(text)) {
      return 'adapter_unavailable';
    }
    if (operation === 'Connect') return 'connect_aborted';
  }
  return 'failed';
}

/** The named failure of any error a GATT operation threw (a GattFailure passes through unchanged). */
export function gattFailureOf(error: unknown, context: FailureContext): GattFailure {
  if (error instanceof GattFailure) return error;
  const where = `${context.operation} on ${context.path}`;
  if (context.signal?.aborted) {
    return new GattFailure('aborted', `${where} was abandoned: ${errorText(context.signal.reason)}`);
  }
  if (error instanceof DbusTimeoutError) {
    const kind = context.operation === 'Connect' ? 'connect_timeout' : 'call_timeout';
    return new GattFailure(kind, error.message);
  }
  if (error instanceof DbusCallError) {
    return new GattFailure(kindOfDbusError(error, context.operation), error.message, error.dbusName);
  }
  if (/D-Bus connection/i.test(errorText(error))) {
    return new GattFailure('adapter_unavailable', `${where}: ${errorText(error)}`);
  }
  return new GattFailure('failed', `${where}: ${errorText(error)}`);
}
