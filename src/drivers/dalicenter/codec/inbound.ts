import { energyOf, interpretProperties } from './dataPoints.js';
import { type DaliCenterProblem, type Parsed, parsed, problem } from './errors.js';
import { groupUniqueId, sceneUniqueId } from './identity.js';
import { eachEntry, readDeviceRef, readProperties, unknownTypeProblem } from './inboundFields.js';
import {
  ACK_REPLIES,
  type AckReplyCmd,
  type FoundDevice,
  type GroupSummary,
  type InboundBody,
  type InboundResult,
  INBOUND_CMDS,
  type SceneMember,
  type SceneSummary,
} from './inboundTypes.js';
import {
  type FieldContext,
  isObject,
  type JsonObject,
  optionalString,
  readArray,
  readBoolean,
  readInteger,
  readJsonObject,
  readObject,
  readString,
  toBoolean,
} from './json.js';

// The parser of everything a gateway publishes on its report topic (notes §6). It never throws: bytes
// that are not UTF-8, not JSON, not an object, an unknown cmd, a missing field or a value out of range
// each give a problem of a named kind. Inside an otherwise good message a bad entry (one device of a
// list, one property) is dropped and listed in `problems`, and the rest is kept.

export interface InboundOptions {
  /** The serial of the gateway the link belongs to: ids are built with it, and a message naming another gwSn is refused. */
  gatewaySerial: string;
}

type Body = (
  message: JsonObject,
  context: FieldContext,
  serial: string,
  problems: DaliCenterProblem[],
) => Parsed<InboundBody>;

/** devStatus/readDevRes's data is one object; an array of one is taken too (field shapes are unverified). */
function singleData(message: JsonObject, context: FieldContext): Parsed<JsonObject> {
  const data = message.data;
  if (Array.isArray(data) && data.length === 1 && isObject(data[0])) return parsed(data[0]);
  return readObject(message, 'data', context);
}

const deviceStatus: Body = (message, context, serial, problems) => {
  const data = singleData(message, context);
  if (!data.ok) return data;
  const at = { ...context, path: 'data' };
  const device = readDeviceRef(data.value, at, serial);
  if (!device.ok) return device;
  const unknown = unknownTypeProblem(device.value, context.cmd ?? '');
  if (unknown) problems.push(unknown);
  const properties = readProperties(data.value.property, at, problems);
  if (!properties.ok) return properties;
  const interpreted = interpretProperties(device.value.deviceClass, properties.value, context.cmd);
  problems.push(...interpreted.problems);
  return parsed({ cmd: context.cmd as 'devStatus', device: device.value, report: interpreted.report });
};

const onlineStatus: Body = (message, context, serial, problems) => {
  const list = readArray(message, 'data', context);
  if (!list.ok) return list;
  const devices = eachEntry(list.value, { ...context, path: 'data' }, problems, (entry, at) => {
    const device = readDeviceRef(entry, at, serial);
    if (!device.ok) return device;
    // "status is truthy or falsy" (notes §6.2): a missing status is not "offline".
    const online = readBoolean(entry, 'status', at);
    return online.ok ? parsed({ device: device.value, online: online.value }) : online;
  });
  return parsed({ cmd: 'onlineStatus', devices });
};

const reportEnergy: Body = (message, context, serial, problems) => {
  const data = singleData(message, context);
  if (!data.ok) return data;
  const at = { ...context, path: 'data' };
  const device = readDeviceRef(data.value, at, serial);
  if (!device.ok) return device;
  const properties = readProperties(data.value.property, at, problems);
  if (!properties.ok) return properties;
  const energy = energyOf(properties.value);
  return typeof energy === 'number'
    ? parsed({ cmd: 'reportEnergy', device: device.value, energy })
    : { ok: false, problem: energy };
};

const searchResult: Body = (message, context, serial, problems) => {
  const flag = readString(message, 'searchFlag', context);
  if (!flag.ok) return flag;
  const status = readInteger(message, 'searchStatus', context, 0, 3);
  if (!status.ok) return status;
  // A "scanning" (2) message may carry no data at all.
  const list =
    message.data === undefined && status.value === 2 ? parsed([]) : readArray(message, 'data', context);
  if (!list.ok) return list;
  const devices = eachEntry<FoundDevice>(list.value, { ...context, path: 'data' }, problems, (entry, at) => {
    const device = readDeviceRef(entry, at, serial);
    if (!device.ok) return device;
    const unknown = unknownTypeProblem(device.value, 'searchDevRes');
    if (unknown) problems.push(unknown);
    const text = (key: string) => {
      const value = optionalString(entry, key);
      return value !== undefined && value !== '' ? { [key]: value } : {};
    };
    return parsed({
      ...device.value,
      ...text('devId'),
      ...text('name'),
      online: entry.status === 'online',
      ...text('devSn'),
      ...text('areaName'),
      ...text('areaId'),
    });
  });
  return parsed({ cmd: 'searchDevRes', searchFlag: flag.value, searchStatus: status.value, devices });
};

/** getGroupRes/getSceneRes: [{channel, data: [{groupId|sceneId, name, areaId}]}]. */
function summaries(
  message: JsonObject,
  context: FieldContext,
  serial: string,
  problems: DaliCenterProblem[],
  kind: 'group' | 'scene',
) {
  const list = readArray(message, kind, context);
  if (!list.ok) return list;
  const found: (GroupSummary | SceneSummary)[] = [];
  eachEntry(list.value, { ...context, path: kind }, problems, (line, at) => {
    const channel = readInteger(line, 'channel', at, 0, 255);
    if (!channel.ok) return channel;
    const entries = readArray(line, 'data', at);
    if (!entries.ok) return entries;
    found.push(
      ...eachEntry(entries.value, { ...at, path: `${at.path}.data` }, problems, (entry, entryAt) =>
        summary(entry, entryAt, channel.value, serial, kind),
      ),
    );
    return parsed(undefined);
  });
  return parsed(found);
}

function summary(
  entry: JsonObject,
  context: FieldContext,
  channel: number,
  serial: string,
  kind: 'group' | 'scene',
): Parsed<GroupSummary | SceneSummary> {
  const id = readInteger(entry, kind === 'group' ? 'groupId' : 'sceneId', context, 0, 65_535);
  if (!id.ok) return id;
  const name = optionalString(entry, 'name') ?? `${kind === 'group' ? 'Group' : 'Scene'} ${id.value}`;
  const areaId = optionalString(entry, 'areaId');
  const common = { channel, name, ...(areaId !== undefined ? { areaId } : {}) };
  return parsed(
    kind === 'group'
      ? { ...common, groupId: id.value, uniqueId: groupUniqueId(id.value, channel, serial) }
      : { ...common, sceneId: id.value, uniqueId: sceneUniqueId(id.value, channel, serial) },
  );
}

/** readGroupRes/readSceneRes name their group or scene at the top level: channel, id, name. */
function topLevelSummary(
  message: JsonObject,
  context: FieldContext,
  serial: string,
  kind: 'group' | 'scene',
) {
  const channel = readInteger(message, 'channel', context, 0, 255);
  return channel.ok ? summary(message, context, channel.value, serial, kind) : channel;
}

const groupList: Body = (message, context, serial, problems) => {
  const groups = summaries(message, context, serial, problems, 'group');
  return groups.ok ? parsed({ cmd: 'getGroupRes', groups: groups.value as GroupSummary[] }) : groups;
};

const sceneList: Body = (message, context, serial, problems) => {
  const scenes = summaries(message, context, serial, problems, 'scene');
  return scenes.ok ? parsed({ cmd: 'getSceneRes', scenes: scenes.value as SceneSummary[] }) : scenes;
};

const groupMembers: Body = (message, context, serial, problems) => {
  const group = topLevelSummary(message, context, serial, 'group');
  if (!group.ok) return group;
  const list = readArray(message, 'data', context);
  if (!list.ok) return list;
  const members = eachEntry(list.value, { ...context, path: 'data' }, problems, (entry, at) => {
    const device = readDeviceRef(entry, at, serial);
    const devId = optionalString(entry, 'devId');
    return device.ok ? parsed({ ...device.value, ...(devId ? { devId } : {}) }) : device;
  });
  return parsed({ cmd: 'readGroupRes', group: group.value as GroupSummary, members });
};

const sceneMembers: Body = (message, context, serial, problems) => {
  const scene = topLevelSummary(message, context, serial, 'scene');
  if (!scene.ok) return scene;
  const data = readObject(message, 'data', context);
  if (!data.ok) return data;
  const list = readArray(data.value, 'device', { ...context, path: 'data' });
  if (!list.ok) return list;
  const members = eachEntry<SceneMember>(
    list.value,
    { ...context, path: 'data.device' },
    problems,
    (entry, at) => {
      const device = readDeviceRef(entry, at, serial);
      if (!device.ok) return device;
      const properties =
        entry.property === undefined ? parsed([]) : readProperties(entry.property, at, problems);
      if (!properties.ok) return properties;
      const owner = optionalString(entry, 'gwSnObj');
      return parsed({
        device: device.value,
        isGroup: device.value.deviceClass.kind === 'group_reference',
        ...(owner ? { gwSnObj: owner } : {}),
        properties: properties.value,
      });
    },
  );
  return parsed({ cmd: 'readSceneRes', scene: scene.value as SceneSummary, members });
};

const version: Body = (message, context) => {
  const data = readObject(message, 'data', context);
  if (!data.ok) return data;
  const at = { ...context, path: 'data' };
  const software = readString(data.value, 'swVersion', at);
  if (!software.ok) return software;
  const firmware = readString(data.value, 'fwVersion', at);
  return firmware.ok
    ? parsed({ cmd: 'getVersionRes', software: software.value, firmware: firmware.value })
    : firmware;
};

const energyHistory: Body = (message, context, serial, problems) => {
  const list = readArray(message, 'data', context);
  if (!list.ok) return list;
  const entries = eachEntry(list.value, { ...context, path: 'data' }, problems, (entry, at) => {
    const device = readDeviceRef(entry, at, serial);
    if (!device.ok) return device;
    const { devType: _type, channel: _channel, address: _address, ...history } = entry;
    return parsed({ device: device.value, history });
  });
  return parsed({ cmd: 'getEnergyRes', entries });
};

/** get*Res replies that name one device at the top level and carry one more field. */
function deviceWith<C extends 'getSensorOnOffRes' | 'getSensorArgvRes' | 'getDevParamRes'>(
  cmd: C,
  key: 'value' | 'data' | 'paramer',
): Body {
  return (message, context, serial) => {
    const device = readDeviceRef(message, context, serial);
    if (!device.ok) return device;
    if (key === 'value') {
      const enabled = readBoolean(message, 'value', context);
      return enabled.ok
        ? parsed({ cmd: 'getSensorOnOffRes', device: device.value, enabled: enabled.value })
        : enabled;
    }
    const object = readObject(message, key, context);
    if (!object.ok) return object;
    return parsed(
      cmd === 'getSensorArgvRes'
        ? { cmd: 'getSensorArgvRes', device: device.value, arguments: object.value }
        : { cmd: 'getDevParamRes', device: device.value, parameters: object.value },
    );
  };
}

const acknowledgement: Body = (message, context) => {
  const raw = message.ack;
  const ack = raw === undefined || raw === null ? undefined : toBoolean(raw);
  if (raw !== undefined && raw !== null && ack === undefined)
    return {
      ok: false,
      problem: problem('wrong_type', `ack must be a boolean, got ${JSON.stringify(raw)?.slice(0, 20)}`, {
        cmd: context.cmd,
        field: 'ack',
      }),
    };
  return parsed({ cmd: context.cmd as AckReplyCmd, ack });
};

const BODIES: Readonly<Record<string, Body>> = {
  devStatus: deviceStatus,
  readDevRes: deviceStatus,
  onlineStatus,
  reportEnergy,
  searchDevRes: searchResult,
  getGroupRes: groupList,
  getSceneRes: sceneList,
  readGroupRes: groupMembers,
  readSceneRes: sceneMembers,
  getVersionRes: version,
  getEnergyRes: energyHistory,
  getSensorOnOffRes: deviceWith('getSensorOnOffRes', 'value'),
  getSensorArgvRes: deviceWith('getSensorArgvRes', 'data'),
  getDevParamRes: deviceWith('getDevParamRes', 'paramer'),
  ...Object.fromEntries(ACK_REPLIES.map((cmd) => [cmd, acknowledgement])),
};

/** Parses one payload of the report topic. Never throws. */
export function parseInbound(payload: Uint8Array | string, options: InboundOptions): InboundResult {
  try {
    return parseChecked(payload, options);
  } catch (error) {
    // Nothing above should throw; if it ever does, the message is refused, not the link.
    return { ok: false, problem: problem('wrong_type', `unparseable message: ${(error as Error).message}`) };
  }
}

function parseChecked(payload: Uint8Array | string, options: InboundOptions): InboundResult {
  const object = readJsonObject(payload);
  if (!object.ok) return object;
  const message = object.value;
  const cmd = message.cmd;
  if (typeof cmd !== 'string')
    return { ok: false, problem: problem('missing_cmd', 'message without a string cmd') };
  const body = BODIES[cmd];
  if (body === undefined || !(INBOUND_CMDS as readonly string[]).includes(cmd))
    return {
      ok: false,
      problem: problem('unknown_cmd', `unknown cmd "${cmd.slice(0, 40)}"`, { cmd: cmd.slice(0, 40) }),
    };
  const gwSn = optionalString(message, 'gwSn');
  if (gwSn !== undefined && gwSn !== '' && gwSn !== options.gatewaySerial)
    return {
      ok: false,
      problem: problem(
        'foreign_gateway',
        `${cmd} names gateway ${gwSn.slice(0, 40)}, not ${options.gatewaySerial}`,
        { cmd, field: 'gwSn' },
      ),
    };
  const problems: DaliCenterProblem[] = [];
  const result = body(message, { cmd, path: '' }, options.gatewaySerial, problems);
  if (!result.ok) return result;
  const msgId = message.msgId;
  return {
    ok: true,
    message: {
      ...result.value,
      ...(typeof msgId === 'string' || typeof msgId === 'number' ? { msgId: String(msgId) } : {}),
      ...(gwSn ? { gwSn } : {}),
    },
    problems,
  };
}
