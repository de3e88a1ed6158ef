// The demo: what `npm start` runs when there is no config file, so a fresh checkout shows the whole
// pipeline (supervised devices → SQLite outbox → MQTT → Home Assistant discovery) with nothing else
// installed: a broker (embedded, or the one already running), its own database, and a simulated
// device of every driver. The demo is described by its environment alone (demoEnvironment in
// src/cli/demo.ts decides it once), so start, check-config and export show the same demo.

import { parseConfig } from './load.js';
import { maskUrlPassword } from './mask.js';
import type { FieldbridgeConfig } from './schema.js';

/**
 * The demo's own database: a real config started later in the same directory (default
 * ./data/fieldbridge.db) never sees the demo's devices, found sensors or queued messages.
 */
export const DEMO_DATABASE = './data/demo.db';
/** Port of the demo's embedded broker unless FIELDBRIDGE_MQTT_PORT says otherwise. */
export const DEMO_EMBEDDED_PORT = 1883;
/** Base topic and client id on a broker the demo did not start (a real fieldbridge may use it too). */
export const DEMO_TOPIC = 'fieldbridge-demo';

export type DemoBroker =
  /** The embedded broker on 127.0.0.1:port. */
  | { kind: 'embedded'; port: number }
  /** The embedded broker's port was taken: the broker listening there. */
  | { kind: 'found'; url: string; port: number }
  /** --mqtt URL or FIELDBRIDGE_MQTT_URL. */
  | { kind: 'given'; url: string; from: string };

/** What the machine offers the demo. */
export interface DemoEnvironment {
  broker: DemoBroker;
  /**
   * dbus-daemon is installed: BLE sensors advertise on a simulated BlueZ and are found by auto_add;
   * without it, one simulated BLE thermometer.
   */
  bluez: boolean;
}

function mqttSection(broker: DemoBroker): string {
  if (broker.kind === 'embedded') return `mqtt: { embedded_port: ${broker.port} }`;
  const topic = JSON.stringify(DEMO_TOPIC);
  return `mqtt: { server: ${JSON.stringify(broker.url)}, base_topic: ${topic}, client_id: ${topic} }`;
}

/** The demo's config file, as YAML. */
export function demoConfigYaml(environment: DemoEnvironment): string {
  return [
    mqttSection(environment.broker),
    `persistence: { path: ${DEMO_DATABASE} }`,
    'devices:',
    '  - { id: demo_climate, name: Demo climate sensor and lamp, driver: simulated }',
    // M-Bus meters speaking M-Bus on the meter simulator, in-process (1: heat meter, 2: water meter).
    '  - { id: demo_heat_meter, name: Demo heat meter, driver: mbus, transport: simulated, address: 1 }',
    '  - { id: demo_water_meter, name: Demo water meter, driver: mbus, transport: simulated, address: 2 }',
    '  - { id: demo_dali_lamp, name: Demo DALI lamp, driver: dali, transport: simulated, address: 0 }',
    ...(environment.bluez
      ? ['ble:', '  - { adapter: hci0, transport: simulated }']
      : [
          '  - { id: demo_thermometer, name: Demo BLE thermometer, driver: ble, transport: simulated, poll_interval_ms: 5000 }',
        ]),
    '',
  ].join('\n');
}

export function demoConfig(environment: DemoEnvironment): FieldbridgeConfig {
  return parseConfig(demoConfigYaml(environment), {}, '(demo)');
}

function brokerLine(broker: DemoBroker, base: string): string {
  switch (broker.kind) {
    case 'embedded':
      return `an embedded MQTT broker on mqtt://127.0.0.1:${broker.port} (watch it: mosquitto_sub -h 127.0.0.1 -p ${broker.port} -t '${base}/#' -v)`;
    case 'found':
      return `port ${broker.port} is taken, so the demo uses the MQTT broker already there: ${broker.url}, topics under ${base}/ (--mqtt URL or FIELDBRIDGE_MQTT_URL picks another)`;
    case 'given':
      return `the MQTT broker ${maskUrlPassword(broker.url)} (${broker.from}), topics under ${base}/`;
  }
}

/** What the demo prints at start (and check-config, export): where to look. */
export function demoBanner(config: FieldbridgeConfig, environment: DemoEnvironment): string {
  const devices = config.devices.map((device) => device.id);
  const sensors = config.ble.map(
    (line) => `BLE sensors on a simulated BlueZ adapter (${line.adapter}), added by auto_add`,
  );
  return [
    'fieldbridge: no fieldbridge.yaml here, running the demo:',
    `  - ${brokerLine(environment.broker, config.mqtt.base_topic)}`,
    `  - its own database ${config.persistence.path} (your own config keeps to persistence.path, ./data/fieldbridge.db by default)`,
    `  - ${devices.length} simulated devices: ${devices.join(', ')}`,
    ...sensors.map((line) => `  - ${line}`),
    '  Copy fieldbridge.example.yaml to fieldbridge.yaml to configure your own devices.',
  ].join('\n');
}
