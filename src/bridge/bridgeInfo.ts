import { type DeviceConfig, type FieldbridgeConfig, maskSecrets } from '../config/index.js';

/** `<base>/bridge/info`: what is running, with the config (secrets masked). */
export function bridgeInfo(config: FieldbridgeConfig, devices: Iterable<DeviceConfig>, version: string) {
  return {
    version,
    drivers: [...new Set([...devices].map((device) => device.driver))],
    config: maskSecrets(config),
  };
}

/** `<base>/bridge/devices`: the devices the gateway runs. */
export function deviceList(devices: Iterable<DeviceConfig>) {
  return [...devices].map((d) => ({
    id: d.id,
    name: d.name ?? d.id,
    driver: d.driver,
    transport: d.transport,
    bus: d.bus,
  }));
}
