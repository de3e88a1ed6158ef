import { z } from 'zod';
import type { DeviceConfig } from '../../config/index.js';
import type { DriverRequest } from '../contract.js';

// `<base>/bridge/request/adapter/power_cycle`: the adapter device's `power_cycle_adapter` rung, asked for
// by hand (a controller that stopped reporting anything the watchdog can see). It answers "ok" once
// the step was handed to the supervisor; what the step did is published on bridge/event.

/**
 * The adapter device (role: adapter) of a BLE adapter, named as the adapter (`hci0`) or as the
 * device's id, on whatever bus it runs (a simulated line's adapter runs on `ble:simulated`).
 */
function bleAdapterDevice(
  devices: ReadonlyMap<string, DeviceConfig>,
  name: string,
): { device: DeviceConfig } | { error: string } {
  const adapters = [...devices.values()].filter((d) => d.driver === 'ble' && d.role === 'adapter');
  const byId = adapters.find((d) => d.id === name);
  if (byId) return { device: byId };
  const matches = adapters.filter((d) => d.driver === 'ble' && d.adapter === name);
  if (matches.length === 1) return { device: matches[0] as DeviceConfig };
  if (matches.length > 1) {
    const ids = matches.map((d) => d.id).join(', ');
    return { error: `adapter ${name} has more than one adapter device (${ids}): name one by its id` };
  }
  if (adapters.length === 0) return { error: 'no BLE adapter is configured (add a line under ble:)' };
  const known = adapters.map((d) => (d.driver === 'ble' ? `${d.adapter} (device ${d.id})` : d.id));
  return { error: `no BLE adapter ${name} is configured (adapters: ${known.join(', ')})` };
}

const powerCycleFields = z.strictObject({ adapter: z.string().min(1).default('hci0') });

export const powerCycleRequest: DriverRequest = {
  schema: powerCycleFields,
  run(fields, { devices, recover }) {
    const { adapter } = powerCycleFields.parse(fields);
    const found = bleAdapterDevice(devices, adapter);
    if ('error' in found) return found;
    recover(found.device.id, 'power_cycle_adapter', 'requested over MQTT');
    return { data: { adapter, id: found.device.id } };
  },
};
