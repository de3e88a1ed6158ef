import { COMMAND_NAMES, type CommandName, type DaliCenterCommand } from './commands.js';
import { badArgument, type Parsed, parsed, problem, refused } from './errors.js';
import { type DeviceAddress, deviceKey } from './identity.js';
import type { InboundMessage } from './inboundTypes.js';
import { type JsonObject, readJsonObject } from './json.js';

// The MQTT side of the protocol (notes §3.4, §4): two fixed topics per gateway, both with a leading and a
// trailing slash ("reciver" is misspelt by the protocol itself), every request wrapped as
// {"cmd", "msgId", "gwSn", ...fields}, every reply named <cmd>Res.

export const commandTopic = (gatewaySerial: string): string => `/${gatewaySerial}/server/publish/`;
export const reportTopic = (gatewaySerial: string): string => `/${gatewaySerial}/client/reciver/`;

/** The serial a command or report topic belongs to; undefined for any other topic. */
export function serialOfTopic(
  topic: string,
): { serial: string; direction: 'command' | 'report' } | undefined {
  const match = /^\/([^/]+)\/(server\/publish|client\/reciver)\/$/.exec(topic);
  if (!match) return undefined;
  return { serial: match[1] as string, direction: match[2] === 'server/publish' ? 'command' : 'report' };
}

/**
 * A client id unique per connection: the gateway's broker kicks a second client with the same id, and the
 * SDK added the epoch milliseconds (v0.19.3) after duplicate reconnections did exactly that.
 */
export function clientIdFor(gatewaySerial: string, nowMs: number, prefix = 'fieldbridge'): string {
  return `${prefix}_${gatewaySerial}_${Math.trunc(nowMs)}`;
}

/**
 * msgId styles: `ms-seq` ("<epoch ms>-<seq>", unique, what the third-party implementation uses and calls
 * compatible) or `seconds` (the SDK's str(int(time.time())), which repeats within a second). Whether the
 * gateway echoes msgId at all is unverified (notes §4.1), so replies are also matched by cmd and key.
 */
export type MessageIdStyle = 'ms-seq' | 'seconds';

export class MessageIds {
  private sequence = 0;
  constructor(
    private readonly now: () => number = Date.now,
    private readonly style: MessageIdStyle = 'ms-seq',
  ) {}

  next(): string {
    const now = Math.trunc(this.now());
    if (this.style === 'seconds') return String(Math.trunc(now / 1000));
    this.sequence = (this.sequence + 1) % 1_000_000;
    return `${now}-${this.sequence}`;
  }
}

export interface Envelope {
  gatewaySerial: string;
  msgId: string;
}

/** The request as sent: cmd, msgId and gwSn first, then the command's fields. */
export function envelopeOf(command: DaliCenterCommand, envelope: Envelope): JsonObject {
  if (envelope.gatewaySerial === '') badArgument('a request needs the gateway serial');
  const { cmd, ...fields } = command;
  return { cmd, msgId: envelope.msgId, gwSn: envelope.gatewaySerial, ...fields };
}

/** The payload to publish on commandTopic(serial). */
export function encodeCommand(command: DaliCenterCommand, envelope: Envelope): string {
  return JSON.stringify(envelopeOf(command, envelope));
}

/**
 * What answers a command, for correlation: the reply's cmd and the key fields that tell two requests of
 * one cmd apart: the group, the scene, the search, or the device a read is about (two reads of
 * different devices outstanding at once must not take each other's answers). undefined: no reply is
 * documented (searchDev stop, addGroup...).
 */
export interface ExpectedReply {
  cmd: string;
  key?:
    | { groupId: number; channel: number }
    | { sceneId: number; channel: number }
    | { searchFlag: string }
    | { devices: readonly DeviceAddress[] };
}

/** The reply of a read about devices, keyed by them. */
const aboutDevices = (cmd: string, devices: readonly DeviceAddress[]): ExpectedReply => ({
  cmd,
  key: { devices },
});

export function expectedReply(command: DaliCenterCommand): ExpectedReply | undefined {
  switch (command.cmd) {
    case 'getDevParam':
    case 'getSensorOnOff':
    case 'getSensorArgv':
      return aboutDevices(`${command.cmd}Res`, [command]);
    case 'readDev':
      return aboutDevices('readDevRes', command.data);
    case 'getEnergy':
      return aboutDevices('getEnergyRes', command.data);
    case 'searchDev':
      return command.searchFlag === 'stop'
        ? undefined
        : { cmd: 'searchDevRes', key: { searchFlag: command.searchFlag } };
    case 'readGroup':
      return { cmd: 'readGroupRes', key: { groupId: command.groupId, channel: command.channel } };
    case 'readScene':
      return { cmd: 'readSceneRes', key: { sceneId: command.sceneId, channel: command.channel } };
    // Names from test code, not verified (notes §12.7): a reply is welcome but never awaited.
    case 'addGroup':
    case 'delGroup':
    case 'addScene':
    case 'delScene':
      return undefined;
    default:
      return { cmd: `${command.cmd}Res` };
  }
}

/** The devices a reply is about (empty for a reply that names none). */
function devicesOf(message: InboundMessage): DeviceAddress[] {
  switch (message.cmd) {
    case 'readDevRes':
    case 'getDevParamRes':
    case 'getSensorOnOffRes':
    case 'getSensorArgvRes':
      return [message.device];
    case 'getEnergyRes':
      return message.entries.map((entry) => entry.device);
    default:
      return [];
  }
}

/**
 * Whether `message` answers the request that expected `reply` with `msgId`. A reply that echoes a msgId
 * is matched by it; one without (the echo is unverified) by cmd and the key fields: readGroup/readScene/
 * searchDev as the SDK matches, a read about devices by the device it names. A reply about a device
 * is about that device whatever msgId it echoes: it never answers a read of another.
 */
export function answers(message: InboundMessage, reply: ExpectedReply, msgId: string): boolean {
  if (message.cmd !== reply.cmd) return false;
  const key = reply.key;
  if (key !== undefined && 'devices' in key) {
    const wanted = new Set(key.devices.map(deviceKey));
    if (!devicesOf(message).some((device) => wanted.has(deviceKey(device)))) return false;
  }
  // A scan's stream is one search whatever msgIds its messages carry: matched by its flag.
  if (message.msgId !== undefined && message.cmd !== 'searchDevRes') return message.msgId === msgId;
  if (key === undefined || 'devices' in key) return true;
  if ('groupId' in key)
    return (
      message.cmd === 'readGroupRes' &&
      message.group.groupId === key.groupId &&
      message.group.channel === key.channel
    );
  if ('sceneId' in key)
    return (
      message.cmd === 'readSceneRes' &&
      message.scene.sceneId === key.sceneId &&
      message.scene.channel === key.channel
    );
  return message.cmd === 'searchDevRes' && message.searchFlag === key.searchFlag;
}

/** A request as the gateway receives it (the simulator's side): envelope read, fields left to the handler. */
export interface ReceivedRequest {
  cmd: CommandName;
  msgId: string | undefined;
  gwSn: string | undefined;
  body: JsonObject;
}

export function parseRequest(payload: Uint8Array | string): Parsed<ReceivedRequest> {
  const object = readJsonObject(payload);
  if (!object.ok) return object;
  const cmd = object.value.cmd;
  if (typeof cmd !== 'string') return refused(problem('missing_cmd', 'request without a string cmd'));
  if (!(COMMAND_NAMES as readonly string[]).includes(cmd))
    return refused(problem('unknown_cmd', `unknown request cmd "${cmd.slice(0, 40)}"`, { cmd }));
  const msgId = object.value.msgId;
  const gwSn = object.value.gwSn;
  return parsed({
    cmd: cmd as CommandName,
    msgId: typeof msgId === 'string' || typeof msgId === 'number' ? String(msgId) : undefined,
    gwSn: typeof gwSn === 'string' ? gwSn : undefined,
    body: object.value,
  });
}
