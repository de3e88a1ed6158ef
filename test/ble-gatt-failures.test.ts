import { describe, expect, it } from 'vitest';
import { DbusCallError, DbusTimeoutError } from '../src/drivers/ble/dbus/client.js';
import { GattFailure, gattFailureOf } from '../src/drivers/ble/gatt/failures.js';
import { deviceOfPath, fullUuid } from '../src/drivers/ble/gatt/tree.js';

// The named failure of every answer BlueZ gives a connected-BLE call, by its error name and text as
// bluetoothd sends them (src/error.c, src/error.h, src/device.c, src/gatt-client.c), and the UUID and
// object-path helpers the lookups by (service, characteristic) pair stand on.

const DEVICE = '/org/bluez/hci0/dev_C4_EC_00_00_00_01';
const bluez = (name: string, text: string) => new DbusCallError(name, `call failed: ${text} (${name})`);
const kindOf = (error: unknown, operation = 'Connect', signal?: AbortSignal) =>
  gattFailureOf(error, { operation, path: DEVICE, signal }).kind;

describe('connected BLE failure kinds', () => {
  it.each([
    ['org.bluez.Error.Failed', 'le-connection-abort-by-local', 'Connect', 'connect_aborted'],
    ['org.bluez.Error.Failed', 'le-connection-abort-by-remote', 'Connect', 'connect_aborted'],
    ['org.bluez.Error.Failed', 'br-connection-canceled', 'Connect', 'connect_aborted'],
    ['org.bluez.Error.Failed', 'le-connection-timeout', 'Connect', 'connect_timeout'],
    ['org.bluez.Error.Failed', 'Input/output error', 'Connect', 'adapter_unavailable'],
    ['org.bluez.Error.Failed', 'Not connected', 'WriteValue', 'disconnected'],
    ['org.bluez.Error.Failed', 'Failed to initiate write', 'WriteValue', 'failed'],
    ['org.bluez.Error.InProgress', 'In Progress', 'Connect', 'in_progress'],
    ['org.bluez.Error.InProgress', 'Operation already in progress', 'StartNotify', 'in_progress'],
    ['org.bluez.Error.NotConnected', 'Not Connected', 'StartNotify', 'disconnected'],
    ['org.bluez.Error.NotReady', 'Resource Not Ready', 'Connect', 'adapter_unavailable'],
    ['org.bluez.Error.DoesNotExist', 'Does Not Exist', 'RemoveDevice', 'not_found'],
    ['org.bluez.Error.NotSupported', 'Operation is not supported', 'StartNotify', 'not_supported'],
    ['org.bluez.Error.NotPermitted', 'Write acquired', 'WriteValue', 'not_supported'],
    ['org.freedesktop.DBus.Error.UnknownObject', 'No such object', 'Properties.GetAll', 'not_found'],
    [
      'org.freedesktop.DBus.Error.ServiceUnknown',
      'org.bluez is not on the bus',
      'Connect',
      'adapter_unavailable',
    ],
  ])('%s "%s" on %s → %s', (name, text, operation, kind) => {
    const failure = gattFailureOf(bluez(name, text), { operation, path: DEVICE });
    expect(failure.kind).toBe(kind);
    expect(failure.dbusName).toBe(name);
    expect(failure.message).toContain(text);
  });

  it('a call without an answer: connect_timeout for Connect, call_timeout for the rest', () => {
    expect(kindOf(new DbusTimeoutError('no answer within 300 ms'))).toBe('connect_timeout');
    expect(kindOf(new DbusTimeoutError('no answer within 300 ms'), 'WriteValue')).toBe('call_timeout');
  });

  it("the caller's abort wins over what the call threw; a GattFailure passes unchanged", () => {
    expect(kindOf(new Error('aborted'), 'Connect', AbortSignal.abort(new Error('stopping')))).toBe('aborted');
    const failure = new GattFailure('services_missing', 'no ffd1');
    expect(gattFailureOf(failure, { operation: 'Connect', path: DEVICE })).toBe(failure);
    expect(kindOf(new Error('Connect: the D-Bus connection is gone (closed)'))).toBe('adapter_unavailable');
    expect(kindOf(new Error('something else'))).toBe('failed');
  });
});

describe('UUIDs and object paths', () => {
  it('takes 16- and 32-bit UUIDs on the Bluetooth base, full ones in lower case, and refuses others', () => {
    expect(fullUuid('ffd1')).toBe('0000ffd1-0000-1000-8000-00805f9b34fb');
    expect(fullUuid('0xFFF1')).toBe('0000fff1-0000-1000-8000-00805f9b34fb');
    expect(fullUuid('0000C411')).toBe('0000c411-0000-1000-8000-00805f9b34fb');
    expect(fullUuid('F000FFD1-0451-4000-B000-000000000000')).toBe('f000ffd1-0451-4000-b000-000000000000');
    expect(() => fullUuid('ffd')).toThrow(/not a Bluetooth UUID/);
  });

  it('finds the device of a GATT object path', () => {
    expect(deviceOfPath(`${DEVICE}/service000c/char000d`)).toBe(DEVICE);
    expect(deviceOfPath(DEVICE)).toBe(DEVICE);
    expect(deviceOfPath('/org/bluez/hci0')).toBeUndefined();
  });
});
