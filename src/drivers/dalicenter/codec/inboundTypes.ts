import type { DeviceReport, ReportedProperty } from './dataPoints.js';
import type { DeviceClass } from './deviceTypes.js';
import type { DaliCenterProblem } from './errors.js';
import type { DeviceAddress } from './identity.js';
import type { JsonObject } from './json.js';

// What a gateway publishes on /<gwSn>/client/reciver/ (notes §6), as the parser hands it on: validated,
// typed, and with the device's class and vendor identity already worked out.

/** A device named in a message, with its class and unique id (devType+channel+address+gwSn). */
export interface DeviceRef extends DeviceAddress {
  deviceClass: DeviceClass;
  uniqueId: string;
}

/** A device of a searchDevRes list. */
export interface FoundDevice extends DeviceRef {
  /** The gateway's own id; the SDK keys listeners by it (same format as uniqueId where seen). */
  devId?: string;
  name?: string;
  /** Only "online" counts as available in the HA integrations. */
  online: boolean;
  devSn?: string;
  areaName?: string;
  areaId?: string;
}

export interface GroupSummary {
  channel: number;
  groupId: number;
  name: string;
  areaId?: string;
  uniqueId: string;
}

export interface SceneSummary {
  channel: number;
  sceneId: number;
  name: string;
  areaId?: string;
  uniqueId: string;
}

export interface SceneMember {
  device: DeviceRef;
  /** A member of devType 0401 is a group: `device.address` is its group id. */
  isGroup: boolean;
  /** The gateway that owns the member (cross-gateway scenes); undefined when not said. */
  gwSnObj?: string;
  properties: ReportedProperty[];
}

/** Replies that only acknowledge; `ack` undefined when the gateway left it out. */
export type AckReplyCmd =
  | 'writeDevRes'
  | 'writeGroupRes'
  | 'writeSceneRes'
  | 'restartGatewayRes'
  | 'identifyDevRes'
  | 'setSensorOnOffRes'
  | 'setSensorArgvRes'
  | 'setDevParamRes'
  | 'addGroupRes'
  | 'delGroupRes'
  | 'addSceneRes'
  | 'delSceneRes';

export type InboundBody =
  | { cmd: 'devStatus' | 'readDevRes'; device: DeviceRef; report: DeviceReport }
  | { cmd: 'onlineStatus'; devices: { device: DeviceRef; online: boolean }[] }
  | { cmd: 'reportEnergy'; device: DeviceRef; energy: number }
  | { cmd: 'searchDevRes'; searchFlag: string; searchStatus: number; devices: FoundDevice[] }
  | { cmd: 'getGroupRes'; groups: GroupSummary[] }
  | { cmd: 'getSceneRes'; scenes: SceneSummary[] }
  | { cmd: 'readGroupRes'; group: GroupSummary; members: (DeviceRef & { devId?: string })[] }
  | { cmd: 'readSceneRes'; scene: SceneSummary; members: SceneMember[] }
  | { cmd: 'getVersionRes'; software: string; firmware: string }
  /** The year/month/day/hour structures are passed on uninterpreted (notes §6.5: their detail is unknown). */
  | { cmd: 'getEnergyRes'; entries: { device: DeviceRef; history: JsonObject }[] }
  | { cmd: 'getSensorOnOffRes'; device: DeviceRef; enabled: boolean }
  | { cmd: 'getSensorArgvRes'; device: DeviceRef; arguments: JsonObject }
  | { cmd: 'getDevParamRes'; device: DeviceRef; parameters: JsonObject }
  | { cmd: AckReplyCmd; ack: boolean | undefined };

export type InboundCmd = InboundBody['cmd'];

/** A parsed message: its body plus the envelope fields a reply may carry. */
export type InboundMessage = InboundBody & { msgId?: string; gwSn?: string };

/** The parser's outcome: never an exception. `problems` lists parts dropped from an otherwise good message. */
export type InboundResult =
  | { ok: true; message: InboundMessage; problems: DaliCenterProblem[] }
  | { ok: false; problem: DaliCenterProblem };

export const ACK_REPLIES: readonly AckReplyCmd[] = [
  'writeDevRes',
  'writeGroupRes',
  'writeSceneRes',
  'restartGatewayRes',
  'identifyDevRes',
  'setSensorOnOffRes',
  'setSensorArgvRes',
  'setDevParamRes',
  'addGroupRes',
  'delGroupRes',
  'addSceneRes',
  'delSceneRes',
];

export const INBOUND_CMDS: readonly InboundCmd[] = [
  'devStatus',
  'readDevRes',
  'onlineStatus',
  'reportEnergy',
  'searchDevRes',
  'getGroupRes',
  'getSceneRes',
  'readGroupRes',
  'readSceneRes',
  'getVersionRes',
  'getEnergyRes',
  'getSensorOnOffRes',
  'getSensorArgvRes',
  'getDevParamRes',
  ...ACK_REPLIES,
];
