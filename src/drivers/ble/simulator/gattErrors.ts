import { DBusError } from './dbusService.js';

// BlueZ's errors of connected devices, with its names and texts (src/error.c; the "le-connection-…"
// reasons of org.bluez.Error.Failed from src/error.h).

export const bluezErrors = {
  failed: (text: string) => new DBusError('org.bluez.Error.Failed', text),
  inProgress: () => new DBusError('org.bluez.Error.InProgress', 'In Progress'),
  notSupported: () => new DBusError('org.bluez.Error.NotSupported', 'Operation is not supported'),
  notPermitted: (text: string) => new DBusError('org.bluez.Error.NotPermitted', text),
  invalidArguments: () =>
    new DBusError('org.bluez.Error.InvalidArguments', 'Invalid arguments in method call'),
};
