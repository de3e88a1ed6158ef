import { invalidCommand } from '../drivers/registry.js';
import type { JsonValue } from '../drivers/contract.js';
import type { DeviceConfig } from '../config/index.js';
import { parseDeviceCommand, type Parsed, type Transaction } from './requests.js';

// A `<base>/<id>/set` or `/get` message, checked all the way before it is queued for a device: the
// payload (size, JSON), the device (known), and the fields (the schema derived from the device's capabilities).

export interface CheckedCommand {
  deviceId: string;
  operation: 'set' | 'get';
  args: JsonValue;
  transaction?: Transaction;
}

export function checkDeviceCommand(
  devices: ReadonlyMap<string, DeviceConfig>,
  deviceId: string,
  operation: 'set' | 'get',
  payload: Buffer,
): Parsed<CheckedCommand> {
  const command = parseDeviceCommand(payload);
  if (!command.ok) return command;
  const { transaction } = command;
  const device = devices.get(deviceId);
  if (!device) return { ok: false, error: `unknown device "${deviceId}"`, transaction };
  const invalid = invalidCommand(device, operation, command.value);
  if (invalid) return { ok: false, error: invalid, transaction };
  return {
    ok: true,
    value: { deviceId, operation, args: command.value as JsonValue, transaction },
    transaction,
  };
}
