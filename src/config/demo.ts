// The demo: what `npm start` runs when there is no config file, so a fresh checkout shows the whole
// pipeline (supervised devices → SQLite outbox → MQTT → Home Assistant discovery) with nothing else
// installed: a broker (embedded, or the one already running), its own database, and a simulated
// device of every driver. The demo is described by its environment alone (demoEnvironment in
// src/cli/demo.ts decides it once), so start, check-config and export show the same demo.

import { DRIVER_MODULES } from '../drivers/registry.js';
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
   * The drivers whose fuller demo this machine can run (DriverDemo.available: BLE sensors advertising
   * on a simulated BlueZ when dbus-daemon is installed, rather than one simulated thermometer).
   */
  available: readonly string[];
}

function mqttSection(broker: DemoBroker): string {
  if (broker.kind === 'embedded') return `mqtt: { embedded_port: ${broker.port} }`;
  const topic = JSON.stringify(DEMO_TOPIC);
  return `mqtt: { server: ${JSON.stringify(broker.url)}, base_topic: ${topic}, client_id: ${topic} }`;
}

/** The demo's config file, as YAML: every driver's demo devices, each on its simulated transport. */
export function demoConfigYaml(environment: DemoEnvironment): string {
  const parts = DRIVER_MODULES.flatMap((driver) =>
    driver.demo ? [driver.demo.config(environment.available.includes(driver.name))] : [],
  );
  return [
    mqttSection(environment.broker),
    `persistence: { path: ${DEMO_DATABASE} }`,
    'devices:',
    ...parts.flatMap((part) => part.devices.map((device) => `  - ${device}`)),
    ...parts.flatMap((part) => part.sections ?? []),
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
  const more = DRIVER_MODULES.flatMap((driver) => driver.demo?.banner?.(config) ?? []);
  return [
    'fieldbridge: no fieldbridge.yaml here, running the demo:',
    `  - ${brokerLine(environment.broker, config.mqtt.base_topic)}`,
    `  - its own database ${config.persistence.path} (your own config keeps to persistence.path, ./data/fieldbridge.db by default)`,
    `  - ${devices.length} simulated devices: ${devices.join(', ')}`,
    ...more.map((line) => `  - ${line}`),
    '  Copy fieldbridge.example.yaml to fieldbridge.yaml to configure your own devices.',
  ].join('\n');
}
