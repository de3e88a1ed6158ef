// Secrets must never reach a terminal, a log or a bug report: check-config prints the effective config
// through maskSecrets, and error messages describe secret values by kind only (see isSecretPath).

import { DRIVER_MODULES, DRIVERS } from '../drivers/registry.js';
import type { FieldbridgeConfig } from './schema.js';

export const MASK = '***';

/** Whether a device key is secret for some driver (the drivers' `secretKeys`, e.g. a BLE bind_key). */
function isSecretDeviceKey(key: PropertyKey | undefined): boolean {
  return DRIVER_MODULES.some((driver) => driver.config.secretKeys?.some((secret) => secret === key) ?? false);
}

/**
 * Paths whose values are secret: mqtt.password, mqtt.embedded_users[].password, mqtt.server (may embed
 * credentials), http.token, and the device keys the drivers declare secret (devices[].bind_key).
 */
export function isSecretPath(path: readonly PropertyKey[]): boolean {
  const [section, second, third] = path;
  if (section === 'mqtt') {
    return (
      second === 'password' || second === 'server' || (second === 'embedded_users' && path[3] === 'password')
    );
  }
  if (section === 'http') return second === 'token';
  return section === 'devices' && isSecretDeviceKey(third);
}

/** `mqtt://user:secret@host` → `mqtt://user:***@host`; other URLs unchanged. */
export function maskUrlPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = MASK;
    return parsed.toString();
  } catch {
    return url;
  }
}

/** A deep copy of the config with every secret that is set replaced by `***`. */
export function maskSecrets(config: FieldbridgeConfig): unknown {
  const masked = structuredClone(config);
  if (masked.mqtt.password !== undefined) masked.mqtt.password = MASK;
  for (const login of masked.mqtt.embedded_users) login.password = MASK;
  if (masked.mqtt.server !== undefined) masked.mqtt.server = maskUrlPassword(masked.mqtt.server);
  if (masked.http.token !== undefined) masked.http.token = MASK;
  for (const device of masked.devices) {
    for (const key of DRIVERS[device.driver].config.secretKeys ?? []) {
      if (Reflect.get(device, key) !== undefined) Reflect.set(device, key, MASK);
    }
  }
  return masked;
}
