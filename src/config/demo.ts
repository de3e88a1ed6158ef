// The demo: what `npm start` runs when there is no config file, so a fresh checkout shows the whole
// pipeline (supervised devices → SQLite outbox → MQTT → Home Assistant discovery) with nothing else
// installed: the embedded broker, the database in ./data, and a simulated device of every driver.

import { parseConfig } from './load.js';
import type { FieldbridgeConfig } from './schema.js';

export interface DemoOptions {
  /** BLE sensors on a fake BlueZ inside the gateway (needs dbus-daemon) instead of a software thermometer. */
  bluez?: boolean;
}

/**
 * The demo's devices; `mbusLink` puts the meters on the M-Bus simulator's serial line, `bluez` the BLE
 * sensors on a simulated BlueZ adapter (found by auto_add, as a user's thermometers would be).
 */
export function demoConfigYaml(mbusLink?: string, options: DemoOptions = {}): string {
  const meters = mbusLink
    ? [
        `  - { id: demo_heat_meter, name: Demo heat meter, driver: mbus, port: '${mbusLink}', address: 1 }`,
        `  - { id: demo_water_meter, name: Demo water meter, driver: mbus, port: '${mbusLink}', address: 2 }`,
      ]
    : [
        '  - { id: demo_heat_meter, name: Demo heat meter, driver: mbus, transport: simulated, poll_interval_ms: 15000 }',
      ];
  return [
    'devices:',
    '  - { id: demo_climate, name: Demo climate sensor and lamp, driver: simulated }',
    ...meters,
    '  - { id: demo_dali_lamp, name: Demo DALI lamp, driver: dali, transport: simulated, address: 0 }',
    ...(options.bluez
      ? []
      : [
          '  - { id: demo_thermometer, name: Demo BLE thermometer, driver: ble, transport: simulated, poll_interval_ms: 5000 }',
        ]),
    ...(options.bluez ? ['ble:', '  - { adapter: hci0, transport: simulated }'] : []),
    '',
  ].join('\n');
}

export function demoConfig(mbusLink?: string, options: DemoOptions = {}): FieldbridgeConfig {
  return parseConfig(demoConfigYaml(mbusLink, options), {}, '(demo)');
}

/** What the demo prints at start: where to look. */
export function demoBanner(config: FieldbridgeConfig): string {
  const base = config.mqtt.base_topic;
  return [
    'fieldbridge: no fieldbridge.yaml here, running the demo:',
    `  - an embedded MQTT broker on mqtt://127.0.0.1:1883 (watch it: mosquitto_sub -h 127.0.0.1 -t '${base}/#' -v)`,
    `  - the database in ${config.persistence.path}`,
    `  - ${config.devices.length} simulated devices: ${config.devices.map((d) => d.id).join(', ')}`,
    '  Copy fieldbridge.example.yaml to fieldbridge.yaml to configure your own devices.',
  ].join('\n');
}
