import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { FieldbridgeConfig } from '../config/index.js';
import type { ReconnectPolicy } from '../machines/policy.js';
import { BRIDGE_OFFLINE, bridgeStateTopic } from './topics.js';
import { errorText } from '../errorText.js';

// What the MQTT link needs to know, as plain values: where and who (from the `mqtt` config section)
// and how patient to be (timing, fixed here rather than configurable; tests shorten it). The mqtt.js
// options are built from these at every connect, so TLS files replaced on disk are picked up.

export type MqttConfig = FieldbridgeConfig['mqtt'];

export interface MqttLinkSettings {
  url: string;
  baseTopic: string;
  clientId: string;
  username?: string;
  password?: string;
  keepaliveS: number;
  /** 4 is MQTT 3.1.1, 5 is MQTT 5. */
  protocolVersion: 4 | 5;
  tls: { caFile?: string; certFile?: string; keyFile?: string; rejectUnauthorized: boolean };
}

/** The link's backoff: a device's reconnect policy without `maxAttempts`, because the link never gives up. */
export type LinkBackoffPolicy = Omit<ReconnectPolicy, 'maxAttempts'>;

export interface MqttLinkTiming {
  backoff: LinkBackoffPolicy;
  /** An attempt without CONNACK by then is abandoned and its client forcibly ended. */
  connectTimeoutMs: number;
  /** A client that said it is going down (error, broker DISCONNECT) but has not closed by then is stuck. */
  stuckClientMs: number;
  /** stop() waits this long for the offline message and a clean DISCONNECT, then ends the client by force. */
  stopTimeoutMs: number;
  /** A publish without PUBACK by then is rejected, so the outbox retries it instead of waiting on keepalive. */
  publishTimeoutMs: number;
}

export const DEFAULT_LINK_TIMING: MqttLinkTiming = {
  backoff: { initialMs: 1_000, factor: 2, maxMs: 30_000, jitter: 0.2 },
  connectTimeoutMs: 10_000,
  stuckClientMs: 10_000,
  // The gateway's whole shutdown has 1.5 s; the link must leave room for the rest.
  stopTimeoutMs: 1_000,
  publishTimeoutMs: 20_000,
};

/** How long the broker keeps our session (MQTT 5 only; 3.1.1 sessions with clean=false never expire). */
const SESSION_EXPIRY_S = 3_600;

/** Settings from the validated `mqtt` config section, for the broker at `url` (configured or embedded). */
export function linkSettingsFromConfig(mqtt: MqttConfig, url: string): MqttLinkSettings {
  return {
    url,
    baseTopic: mqtt.base_topic,
    clientId: mqtt.client_id,
    ...(mqtt.user !== undefined ? { username: mqtt.user } : {}),
    ...(mqtt.password !== undefined ? { password: mqtt.password } : {}),
    keepaliveS: mqtt.keepalive_s,
    protocolVersion: mqtt.protocol_version,
    tls: {
      ...(mqtt.ca !== undefined ? { caFile: mqtt.ca } : {}),
      ...(mqtt.cert !== undefined ? { certFile: mqtt.cert } : {}),
      ...(mqtt.key !== undefined ? { keyFile: mqtt.key } : {}),
      rejectUnauthorized: mqtt.reject_unauthorized,
    },
  };
}

/** The PEM file at `path` (undefined for none); an unreadable one is an error naming `mqtt.<key>`. */
export function readTlsFile(key: string, path: string): Buffer;
export function readTlsFile(key: string, path: string | undefined): Buffer | undefined;
export function readTlsFile(key: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read mqtt.${key} ${path}: ${errorText(error)}`, { cause: error });
  }
}

/**
 * mqtt.js logs every packet through `debug`; switched off (DEBUG unset) that still costs a call and an
 * argument array per line, about 1 KB of garbage per publish. Kept when DEBUG asks for mqttjs.
 */
const MQTTJS_DEBUG = /mqttjs|\*/.test(process.env.DEBUG ?? '');
const noLog = (): void => {};

/**
 * What the publishing hot path asks of mqtt.js beyond its defaults: no debug logging (above), and no
 * re-armed keepalive timer per PUBACK (mqtt.js's `reschedulePings`; a timer and a closure per message):
 * the ping then simply goes out every keepalive period, traffic or not. The benchmarks' raw baseline
 * client uses the same, so it measures mqtt.js as the gateway runs it.
 */
export const HOT_PATH_OPTIONS: Pick<IClientOptions, 'log' | 'reschedulePings'> = {
  ...(MQTTJS_DEBUG ? {} : { log: noLog }),
  reschedulePings: false,
};

/**
 * The mqtt.js options for one connection attempt. Throws when a TLS file cannot be read. Reconnects
 * are the link machine's (`reconnectPeriod: 0`), and so is resubscribing after one (`resubscribe: false`).
 */
export function clientOptions(settings: MqttLinkSettings, timing: MqttLinkTiming): IClientOptions {
  const ca = readTlsFile('ca', settings.tls.caFile);
  const cert = readTlsFile('cert', settings.tls.certFile);
  const key = readTlsFile('key', settings.tls.keyFile);
  return {
    clientId: settings.clientId,
    ...(settings.username !== undefined ? { username: settings.username } : {}),
    ...(settings.password !== undefined ? { password: settings.password } : {}),
    keepalive: settings.keepaliveS,
    protocolVersion: settings.protocolVersion,
    reconnectPeriod: 0,
    resubscribe: false,
    connectTimeout: timing.connectTimeoutMs,
    // A persistent session: QoS 1 commands sent to us while we reconnect wait at the broker.
    clean: false,
    ...(settings.protocolVersion === 5 ? { properties: { sessionExpiryInterval: SESSION_EXPIRY_S } } : {}),
    will: {
      topic: bridgeStateTopic(settings.baseTopic),
      payload: Buffer.from(BRIDGE_OFFLINE),
      qos: 1,
      retain: true,
    },
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    rejectUnauthorized: settings.tls.rejectUnauthorized,
    ...HOT_PATH_OPTIONS,
  };
}
