import { connect } from 'node:net';
import { DRIVER_MODULES } from '../drivers/registry.js';
import { DEMO_EMBEDDED_PORT, type DemoBroker, type DemoEnvironment } from '../config/demo.js';
import { UsageError } from './io.js';

// The one place that decides which demo runs on this machine (src/config/demo.ts turns the decision
// into the config): start, check-config and export all ask here, so what check-config and export
// describe is the demo that start runs. Most people trying fieldbridge already run Mosquitto on 1883:
// then the demo uses that broker rather than failing on the embedded broker's port.

/** The broker the demo should use, given by the user: `--mqtt URL`, else FIELDBRIDGE_MQTT_URL. */
export const DEMO_MQTT_URL_ENV = 'FIELDBRIDGE_MQTT_URL';
/** Port of the demo's embedded broker (default 1883). */
export const DEMO_MQTT_PORT_ENV = 'FIELDBRIDGE_MQTT_PORT';

const PROBE_TIMEOUT_MS = 1_000;

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (taken: boolean) => {
      socket.destroy();
      resolve(taken);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function embeddedPort(env: Readonly<Record<string, string | undefined>>): number {
  const text = env[DEMO_MQTT_PORT_ENV];
  if (text === undefined || text === '') return DEMO_EMBEDDED_PORT;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new UsageError(`${DEMO_MQTT_PORT_ENV} must be a port number 1-65535, got "${text}"`);
  }
  return port;
}

async function demoBroker(
  mqttOption: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Promise<DemoBroker> {
  if (mqttOption !== undefined) return { kind: 'given', url: mqttOption, from: '--mqtt' };
  const fromEnv = env[DEMO_MQTT_URL_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    return { kind: 'given', url: fromEnv, from: DEMO_MQTT_URL_ENV };
  }
  const port = embeddedPort(env);
  if (await portTaken(port)) return { kind: 'found', url: `mqtt://127.0.0.1:${port}`, port };
  return { kind: 'embedded', port };
}

/** Decides the demo for this machine: its broker and the drivers whose fuller demo it can run. */
export async function demoEnvironment(
  mqttOption: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Promise<DemoEnvironment> {
  return {
    broker: await demoBroker(mqttOption, env),
    available: DRIVER_MODULES.filter((driver) => driver.demo?.available?.(env) === true).map(
      (driver) => driver.name,
    ),
  };
}
