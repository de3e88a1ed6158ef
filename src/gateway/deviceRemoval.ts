import type { FieldbridgeConfig } from '../config/index.js';
import { closestMatch } from '../config/fields/suggest.js';
import type { DiscoveredDeviceStore } from '../persistence/index.js';
import { forgetKeyOf } from '../drivers/registry.js';

// Forgetting a device found by a scan or by BLE auto_add: `<base>/bridge/request/device/remove`,
// `POST /devices/<id>/remove` and `fieldbridge remove-device` all end here. The device leaves the
// found-devices table, the config it extended is applied again (its actor stops, and the bridge empties
// its retained topics and discovery configs, see Bridge.forgetDevices), and a device whose driver has a
// forget key (a BLE sensor's MAC) is remembered by it, so that the driver's auto-adding (BLE auto_add)
// does not add it back the next time it hears it. A device of the config file is the
// file's: the answer says to edit it.

export type RemoveOutcome =
  /** `data` has the driver's ForgetKey field (`mac`) when it remembers the device. */
  | { ok: true; data: { id: string; driver: string } & Record<string, string> }
  | { ok: false; error: string; reason: 'unknown' | 'configured' };

export interface RemovalDependencies {
  /** The config file's config (without the found devices). */
  fileConfig: () => FieldbridgeConfig;
  /** The config file, or a label such as "(demo)". */
  configSource: string;
  /** The devices running now (configured and found). */
  running: () => FieldbridgeConfig;
  discovered: Pick<DiscoveredDeviceStore, 'list' | 'remove' | 'forget'>;
  transaction: <T>(fn: () => T) => T;
  /** Applies the config without the removed device; the bridge cleans up after the devices it drops. */
  apply: () => void;
  /** Empties the retained topics of devices that were not running (left out, or shadowed). */
  forget: (deviceIds: readonly string[]) => void;
  now?: () => number;
}

function refusal(reason: 'unknown' | 'configured', error: string): RemoveOutcome {
  return { ok: false, error, reason };
}

export function removeFoundDevice(id: string, deps: RemovalDependencies): RemoveOutcome {
  const where = deps.configSource.startsWith('(') ? `the ${deps.configSource} config` : deps.configSource;
  if (deps.fileConfig().devices.some((device) => device.id === id)) {
    return refusal(
      'configured',
      `device "${id}" is configured in ${where}, not found by a scan: edit the config file to remove it ` +
        '(a reload then stops it and empties its topics)',
    );
  }
  const found = deps.discovered.list().find((device) => device.id === id);
  const running = deps.running().devices.find((device) => device.id === id);
  if (!found) {
    if (running) {
      return refusal(
        'configured',
        `device "${id}" is the adapter of a ${running.driver}: line in ${where}: edit the config file ` +
          '(remove the line) to remove it',
      );
    }
    const close = closestMatch(
      id,
      deps.discovered.list().map((device) => device.id),
    );
    return refusal(
      'unknown',
      `unknown device "${id}": no device was found by a scan under this id${close ? ` (did you mean "${close}"?)` : ''}`,
    );
  }
  const driver = typeof found.config.driver === 'string' ? found.config.driver : 'unknown';
  const key = forgetKeyOf(found.config)?.key;
  deps.transaction(() => {
    deps.discovered.remove(id);
    if (key !== undefined) deps.discovered.forget(driver, key.value, id, (deps.now ?? Date.now)());
  });
  if (running) deps.apply();
  else deps.forget([id]);
  return { ok: true, data: key === undefined ? { id, driver } : { id, driver, [key.field]: key.value } };
}
