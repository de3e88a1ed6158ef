import { isIPv4 } from 'node:net';
import { decryptHex, decryptTwoLayer, encryptToHex, encryptTwoLayer, randomInnerKey } from './crypto.js';
import { type Parsed, parsed, problem, refused } from './errors.js';
import {
  isObject,
  type JsonObject,
  optionalString,
  pythonStyleJson,
  readJsonObject,
  toBoolean,
} from './json.js';

// The gateway discovery datagrams (notes §2), pure: a client multicasts an encrypted "discover" to
// 239.255.255.250:1900 every 2 s and listens on 50569; each gateway answers with its broker's address,
// port, TLS flag, channels and, only while its button is pressed, its MQTT credentials (SR_KEY-encrypted).
// Sockets and timing belong to the runtime; this file only builds and reads the bytes.

/** Where requests go (the SSDP group and port; the payload is not SSDP). */
export const DISCOVERY_MULTICAST_ADDRESS = '239.255.255.250';
export const DISCOVERY_REQUEST_PORT = 1900;
/** Where the SDK listens for replies, then 50570-50578 if busy (only useful for unicast replies). */
export const DISCOVERY_REPLY_PORT = 50569;
export const DISCOVERY_REPLY_FALLBACK_PORTS: readonly number[] = [
  50570, 50571, 50572, 50573, 50574, 50575, 50576, 50577, 50578,
];
/** The SDK resends every 2 s for up to 180 s. */
export const DISCOVERY_RESEND_MS = 2_000;
export const DISCOVERY_TIMEOUT_MS = 180_000;
/** The port every field log shows when a reply names none. */
export const DEFAULT_MQTT_PORT = 1883;

/** The command words carried by the two-layer `cmd`. */
export const DISCOVER_WORD = 'discover';
export const IDENTIFY_GATEWAY_WORD = 'identifyDev';
export const IDENTIFY_GATEWAY_REPLY_WORD = 'identifyDevRes';

/**
 * How a request names the one gateway it is for. The notes' snapshot (v0.20.4) sends `snList: [sn]`;
 * other SDK versions send `gwSn: sn` (and older ones always `snList: []`). Unverified which the
 * firmware honours, so it is a choice; a simulator accepts both.
 */
export type DiscoveryTargetStyle = 'snList' | 'gwSn';

export interface DiscoveryRequestOptions {
  /** Only this gateway should answer (an IP change being followed). */
  targetSerial?: string;
  targetStyle?: DiscoveryTargetStyle;
  /** The inner key; random by default (fixed only for known-answer tests). */
  innerKey?: string;
}

function jsonBytes(object: JsonObject): Buffer {
  return Buffer.from(pythonStyleJson(object), 'utf8');
}

/** The discovery datagram: {"cmd": <two-layer "discover">, "type": "HA"[, target]}. */
export function buildDiscoveryRequest(options: DiscoveryRequestOptions = {}): Buffer {
  const message: JsonObject = {
    cmd: encryptTwoLayer(DISCOVER_WORD, options.innerKey ?? randomInnerKey()),
    type: 'HA',
  };
  if (options.targetSerial !== undefined) {
    if ((options.targetStyle ?? 'snList') === 'snList') message.snList = [options.targetSerial];
    else message.gwSn = options.targetSerial;
  }
  return jsonBytes(message);
}

/** A client request as a gateway reads it (the simulator's side). */
export interface DiscoveryRequest {
  /** The decrypted command word ("discover", "identifyDev"). */
  word: string;
  /** The `type` field ("HA"), or undefined when absent (the app dialect, notes §2.5). */
  dialect: string | undefined;
  /** Serials the request is limited to (snList or gwSn); empty: every gateway. */
  targets: string[];
  /** identifyDev's msgId. */
  msgId?: string;
}

/** Reads a client's discovery or identify datagram; a problem when it is garbage or not decryptable. */
export function parseDiscoveryRequest(datagram: Uint8Array): Parsed<DiscoveryRequest> {
  const object = readJsonObject(datagram);
  if (!object.ok) return object;
  const cmd = object.value.cmd;
  if (typeof cmd !== 'string')
    return refused(problem('missing_cmd', 'discovery request without a string cmd'));
  const plain = decryptTwoLayer(cmd);
  if (!plain.ok) return plain;
  const targets: string[] = [];
  const snList = object.value.snList;
  if (Array.isArray(snList))
    targets.push(...snList.filter((sn): sn is string => typeof sn === 'string' && sn !== ''));
  const gwSn = optionalString(object.value, 'gwSn');
  if (gwSn !== undefined && gwSn !== '') targets.push(gwSn);
  const msgId = object.value.msgId;
  return parsed({
    word: plain.value.word,
    dialect: optionalString(object.value, 'type'),
    targets,
    ...(typeof msgId === 'string' || typeof msgId === 'number' ? { msgId: String(msgId) } : {}),
  });
}

export interface GatewayCredentials {
  username: string;
  password: string;
}

/** A gateway as its discovery reply describes it. */
export interface DiscoveredGateway {
  /** gwSn: 12 upper-case hex digits, the gateway's MAC (notes §2.3); the topics and the identity use it. */
  serial: string;
  /** gwIp: the broker's IPv4 address. */
  address: string;
  port: number;
  /** isMqttTls. */
  tls: boolean;
  /** channelTotal: the DALI lines of the gateway ([0] when the reply names none). */
  channels: number[];
  name: string;
  /** Present only in a reply sent while the gateway's button was pressed. */
  credentials?: GatewayCredentials;
}

const SERIAL_CHARACTERS = /^[0-9A-Za-z_-]{1,64}$/;

/** A serial that can go into the topics: letters, digits, - and _ (never / + #). */
export function isUsableSerial(serial: string): boolean {
  return SERIAL_CHARACTERS.test(serial);
}

function readPort(data: JsonObject): Parsed<number> {
  const raw = data.port;
  if (raw === undefined || raw === null || raw === '') return parsed(DEFAULT_MQTT_PORT);
  const port = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof port !== 'number' || !Number.isInteger(port))
    return refused(
      problem('wrong_type', `port must be an integer, got ${JSON.stringify(raw)}`, { field: 'data.port' }),
    );
  if (port < 1 || port > 65_535)
    return refused(problem('out_of_range', `port ${port} is not 1-65535`, { field: 'data.port' }));
  return parsed(port);
}

function readChannels(data: JsonObject): number[] {
  const raw = data.channelTotal;
  const channels = Array.isArray(raw)
    ? raw.flatMap((entry) => {
        const channel = typeof entry === 'string' && /^\d+$/.test(entry) ? Number(entry) : entry;
        return typeof channel === 'number' && Number.isInteger(channel) && channel >= 0 && channel <= 255
          ? [channel]
          : [];
      })
    : [];
  return channels.length > 0 ? [...new Set(channels)] : [0];
}

function readCredentials(data: JsonObject): Parsed<GatewayCredentials | undefined> {
  const user = data.username;
  const pass = data.passwd;
  const empty = (value: unknown) => value === undefined || value === null || value === '';
  if (empty(user) && empty(pass)) return parsed(undefined);
  if ((!empty(user) && typeof user !== 'string') || (!empty(pass) && typeof pass !== 'string')) {
    return refused(
      problem('wrong_type', 'username and passwd must be hex strings', { field: 'data.username' }),
    );
  }
  const username = empty(user) ? parsed('') : decryptHex(user as string, undefined, 'data.username');
  if (!username.ok) return username;
  const password = empty(pass) ? parsed('') : decryptHex(pass as string, undefined, 'data.passwd');
  if (!password.ok) return password;
  return parsed({ username: username.value, password: password.value });
}

/**
 * Reads a gateway's discovery reply ({"data": {...}}); a problem names what is missing or garbled.
 * `sourceAddress`, the datagram's sender, stands in for a missing gwIp (the SDK does not insist on it).
 */
export function parseDiscoveryResponse(
  datagram: Uint8Array,
  sourceAddress?: string,
): Parsed<DiscoveredGateway> {
  const object = readJsonObject(datagram);
  if (!object.ok) return object;
  const data = object.value.data;
  if (!isObject(data))
    return refused(problem('missing_field', 'discovery reply without a data object', { field: 'data' }));
  const serial = data.gwSn;
  if (typeof serial !== 'string' || serial === '')
    return refused(problem('missing_field', 'discovery reply without gwSn', { field: 'data.gwSn' }));
  if (!isUsableSerial(serial))
    return refused(
      problem('out_of_range', `gwSn "${serial.slice(0, 70)}" cannot name MQTT topics`, {
        field: 'data.gwSn',
      }),
    );
  const address =
    data.gwIp === undefined || data.gwIp === null || data.gwIp === '' ? sourceAddress : data.gwIp;
  if (typeof address !== 'string' || address === '')
    return refused(
      problem('missing_field', `discovery reply of ${serial} without gwIp`, { field: 'data.gwIp' }),
    );
  if (!isIPv4(address))
    return refused(
      problem('out_of_range', `gwIp "${address.slice(0, 40)}" of ${serial} is not an IPv4 address`, {
        field: 'data.gwIp',
      }),
    );
  const port = readPort(data);
  if (!port.ok) return port;
  const credentials = readCredentials(data);
  if (!credentials.ok) return credentials;
  const name = optionalString(data, 'name');
  return parsed({
    serial,
    address,
    port: port.value,
    tls: toBoolean(data.isMqttTls) ?? false,
    channels: readChannels(data),
    name: name !== undefined && name !== '' ? name : `Dali Gateway ${serial}`,
    ...(credentials.value !== undefined ? { credentials: credentials.value } : {}),
  });
}

/** What a (simulated) gateway announces; credentials only while its button is pressed. */
export type DiscoveryAnnouncement = DiscoveredGateway;

/** A gateway's reply datagram (the simulator's side), credentials SR_KEY-encrypted, "" when withheld. */
export function buildDiscoveryResponse(gateway: DiscoveryAnnouncement): Buffer {
  return jsonBytes({
    data: {
      gwSn: gateway.serial,
      gwIp: gateway.address,
      port: gateway.port,
      username: gateway.credentials ? encryptToHex(gateway.credentials.username) : '',
      passwd: gateway.credentials ? encryptToHex(gateway.credentials.password) : '',
      name: gateway.name,
      channelTotal: gateway.channels,
      isMqttTls: gateway.tls,
    },
  });
}

/** "Make the gateway's LED blink" (notes §2.6), sent to the same multicast group and port. */
export function buildIdentifyGatewayRequest(serial: string, msgId: string, innerKey?: string): Buffer {
  return jsonBytes({
    cmd: encryptTwoLayer(IDENTIFY_GATEWAY_WORD, innerKey ?? randomInnerKey()),
    msgId,
    gwSn: serial,
  });
}

export interface IdentifyGatewayReply {
  serial: string;
  ack: boolean;
}

/** The gateway's identify reply: cmd is single-layer SR_KEY("identifyDevRes"). */
export function parseIdentifyGatewayReply(datagram: Uint8Array): Parsed<IdentifyGatewayReply> {
  const object = readJsonObject(datagram);
  if (!object.ok) return object;
  const cmd = object.value.cmd;
  if (typeof cmd !== 'string') return refused(problem('missing_cmd', 'identify reply without a string cmd'));
  const word = decryptHex(cmd, undefined, 'cmd');
  if (!word.ok) return word;
  if (word.value !== IDENTIFY_GATEWAY_REPLY_WORD)
    return refused(
      problem('unknown_cmd', `identify reply cmd decrypts to "${word.value.slice(0, 40)}"`, { field: 'cmd' }),
    );
  const serial = optionalString(object.value, 'gwSn');
  if (serial === undefined || serial === '')
    return refused(problem('missing_field', 'identify reply without gwSn', { field: 'gwSn' }));
  return parsed({ serial, ack: toBoolean(object.value.ack) ?? false });
}

/** The identify reply datagram (the simulator's side). */
export function buildIdentifyGatewayReply(serial: string, ack: boolean): Buffer {
  return jsonBytes({ cmd: encryptToHex(IDENTIFY_GATEWAY_REPLY_WORD), gwSn: serial, ack });
}
