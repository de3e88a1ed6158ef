import { type LightCommand, lightProperties, type WriteProperty } from './dataPoints.js';
import { isDeviceTypeCode } from './deviceTypes.js';
import { badArgument } from './errors.js';
import type { DeviceAddress } from './identity.js';

// The commands a client publishes to /<gwSn>/server/publish/ (notes §5), as typed wire objects and
// their builders. Each builder checks what the protocol can carry (short address 0-63, 16-bit ids...)
// and throws a DaliCenterCodecError (bad_argument) otherwise: a command is built by the driver from
// already validated input, so a refusal here is a bug to surface, not traffic to tolerate. The envelope
// (cmd, msgId, gwSn) is added by encodeCommand (envelope.ts).

export type SearchFlag = 'exited' | 'busDevice' | 'stop';

/** searchDev's cached list, a bus scan, or stopping one. */
export type SearchDevicesCommand =
  | { cmd: 'searchDev'; searchFlag: 'exited' }
  | { cmd: 'searchDev'; searchFlag: 'busDevice'; channel: number[]; AddrAssignment: 'auto' }
  | { cmd: 'searchDev'; searchFlag: 'stop'; channel?: number[] };

export interface DeviceWrite extends DeviceAddress {
  property: WriteProperty[];
}

export interface EnergyQuery extends DeviceAddress {
  condition: { year: number; month: number; day: number; hour: number[] };
}

/** setSensorArgv/getSensorArgv keys (notes §5.3); only the ones being set are sent. */
export interface SensorArguments {
  enable?: boolean;
  occpyTime?: number;
  reportTime?: number;
  downTime?: number;
  coverage?: number;
  sensitivity?: number;
}

/** setDevParam's `paramer` (spelt so by the protocol), camelCase protocol keys (notes §5.3). */
export interface DeviceParameters {
  address?: number;
  fadeTime?: number;
  fadeRate?: number;
  powerStatus?: number;
  systemFailureStatus?: number;
  maxBrightness?: number;
  minBrightness?: number;
  standbyPower?: number;
  maxPower?: number;
  cctCool?: number;
  cctWarm?: number;
  phyCctCool?: number;
  phyCctWarm?: number;
  stepCCT?: number;
  tempThresholds?: number;
  runtimeThresholds?: number;
  waringRuntimeMax?: number;
  waringTemperatureMax?: number;
}

export interface SceneMemberSpec extends DeviceAddress {
  gwSnObj: string;
  property: WriteProperty[];
}

export type DaliCenterCommand =
  | { cmd: 'getVersion' }
  | SearchDevicesCommand
  | { cmd: 'getGroup'; getFlag: 'exited' }
  | { cmd: 'readGroup'; channel: number; groupId: number }
  | { cmd: 'getScene'; getFlag: 'exited' }
  | { cmd: 'readScene'; channel: number; sceneId: number }
  | { cmd: 'writeDev'; data: DeviceWrite[] }
  | { cmd: 'readDev'; data: DeviceAddress[] }
  | { cmd: 'writeGroup'; channel: number; groupId: number; data: WriteProperty[] }
  | { cmd: 'writeScene'; channel: number; sceneId: number }
  | { cmd: 'getEnergy'; data: EnergyQuery[] }
  | ({ cmd: 'setSensorOnOff'; value: boolean } & DeviceAddress)
  | ({ cmd: 'getSensorOnOff' } & DeviceAddress)
  | ({ cmd: 'setSensorArgv'; data: SensorArguments } & DeviceAddress)
  | ({ cmd: 'getSensorArgv' } & DeviceAddress)
  | { cmd: 'setDevParam'; data: (DeviceAddress & { paramer: DeviceParameters })[] }
  | ({ cmd: 'getDevParam'; fromBus: boolean } & DeviceAddress)
  | { cmd: 'identifyDev'; data: DeviceAddress }
  | { cmd: 'restartGateway' }
  | {
      cmd: 'addGroup';
      channel: number;
      groupId: number;
      crossGateway: 'yes' | 'no';
      name: string;
      areaId: string;
      data: DeviceAddress[];
    }
  | { cmd: 'delGroup'; channel: number; groupId: number }
  | {
      cmd: 'addScene';
      channel: number;
      sceneId: number;
      crossGateway: 'yes' | 'no';
      name: string;
      areaId: string;
      data: { objType: 'device'; device: SceneMemberSpec[] };
    }
  | { cmd: 'delScene'; channel: number; sceneId: number };

export type CommandName = DaliCenterCommand['cmd'];

export const COMMAND_NAMES: readonly CommandName[] = [
  'getVersion',
  'searchDev',
  'getGroup',
  'readGroup',
  'getScene',
  'readScene',
  'writeDev',
  'readDev',
  'writeGroup',
  'writeScene',
  'getEnergy',
  'setSensorOnOff',
  'getSensorOnOff',
  'setSensorArgv',
  'getSensorArgv',
  'setDevParam',
  'getDevParam',
  'identifyDev',
  'restartGateway',
  'addGroup',
  'delGroup',
  'addScene',
  'delScene',
];

function integer(value: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < min || value > max)
    badArgument(`${what} must be an integer ${min}-${max}, got ${value}`);
  return value;
}

/** Channels are small indices (channelTotal); group and scene ids are DALI's 0-15 but gateway-defined ones may be more. */
const channelOf = (channel: number) => integer(channel, 0, 255, 'channel');
const groupIdOf = (groupId: number) => integer(groupId, 0, 65_535, 'groupId');
const sceneIdOf = (sceneId: number) => integer(sceneId, 0, 65_535, 'sceneId');

/** A device address checked: devType code, channel, short address 0-63 (FFFF broadcast uses 1). */
export function deviceAddress(device: DeviceAddress): DeviceAddress {
  if (!isDeviceTypeCode(device.devType))
    badArgument(`devType "${device.devType}" is not a 4- or 6-hex-digit code`);
  return {
    devType: device.devType.toUpperCase(),
    channel: channelOf(device.channel),
    address: integer(device.address, 0, 63, 'address'),
  };
}

/** The "all lights" pseudo-device of the SDK (devType FFFF, channel 0, address 1). */
export const BROADCAST_DEVICE: DeviceAddress = Object.freeze({ devType: 'FFFF', channel: 0, address: 1 });

export const getVersion = (): DaliCenterCommand => ({ cmd: 'getVersion' });
export const searchCachedDevices = (): DaliCenterCommand => ({ cmd: 'searchDev', searchFlag: 'exited' });

export function startBusScan(channels: number[]): DaliCenterCommand {
  if (channels.length === 0) badArgument('a bus scan needs at least one channel');
  return {
    cmd: 'searchDev',
    searchFlag: 'busDevice',
    channel: channels.map(channelOf),
    AddrAssignment: 'auto',
  };
}

export function stopBusScan(channels?: number[]): DaliCenterCommand {
  return {
    cmd: 'searchDev',
    searchFlag: 'stop',
    ...(channels !== undefined ? { channel: channels.map(channelOf) } : {}),
  };
}

export const getGroups = (): DaliCenterCommand => ({ cmd: 'getGroup', getFlag: 'exited' });
export const readGroup = (channel: number, groupId: number): DaliCenterCommand => ({
  cmd: 'readGroup',
  channel: channelOf(channel),
  groupId: groupIdOf(groupId),
});
export const getScenes = (): DaliCenterCommand => ({ cmd: 'getScene', getFlag: 'exited' });
export const readScene = (channel: number, sceneId: number): DaliCenterCommand => ({
  cmd: 'readScene',
  channel: channelOf(channel),
  sceneId: sceneIdOf(sceneId),
});

/** writeDev for one or more devices (the SDK batches devices of one 100 ms window into one message). */
export function writeDevices(
  writes: { device: DeviceAddress; properties: WriteProperty[] }[],
): DaliCenterCommand {
  if (writes.length === 0) badArgument('writeDev needs at least one device');
  return {
    cmd: 'writeDev',
    data: writes.map(({ device, properties }) => {
      if (properties.length === 0) badArgument('writeDev needs at least one property per device');
      return { ...deviceAddress(device), property: properties };
    }),
  };
}

/** writeDev of a light command to one device. */
export const writeLight = (device: DeviceAddress, command: LightCommand): DaliCenterCommand =>
  writeDevices([{ device, properties: lightProperties(command) }]);

export function readDevices(devices: DeviceAddress[]): DaliCenterCommand {
  if (devices.length === 0) badArgument('readDev needs at least one device');
  return { cmd: 'readDev', data: devices.map(deviceAddress) };
}

/**
 * writeGroup carries one property per message, as the SDK sends (two messages for power and brightness);
 * the gateway's behaviour with several is not known.
 */
export const writeGroup = (channel: number, groupId: number, property: WriteProperty): DaliCenterCommand => ({
  cmd: 'writeGroup',
  channel: channelOf(channel),
  groupId: groupIdOf(groupId),
  data: [property],
});

export const writeScene = (channel: number, sceneId: number): DaliCenterCommand => ({
  cmd: 'writeScene',
  channel: channelOf(channel),
  sceneId: sceneIdOf(sceneId),
});

export function getEnergy(
  device: DeviceAddress,
  date: { year: number; month: number; day: number },
  hours: number[] = [],
): DaliCenterCommand {
  const condition = {
    year: integer(date.year, 2000, 2999, 'year'),
    month: integer(date.month, 1, 12, 'month'),
    day: integer(date.day, 1, 31, 'day'),
    hour: hours.map((hour) => integer(hour, 0, 23, 'hour')),
  };
  return { cmd: 'getEnergy', data: [{ ...deviceAddress(device), condition }] };
}

export const setSensorOnOff = (device: DeviceAddress, enabled: boolean): DaliCenterCommand => ({
  cmd: 'setSensorOnOff',
  ...deviceAddress(device),
  value: enabled,
});
export const getSensorOnOff = (device: DeviceAddress): DaliCenterCommand => ({
  cmd: 'getSensorOnOff',
  ...deviceAddress(device),
});

const PERCENT_KEYS = new Set(['coverage', 'sensitivity']);

export function setSensorArguments(
  device: DeviceAddress,
  argumentsToSet: SensorArguments,
): DaliCenterCommand {
  const entries = Object.entries(argumentsToSet).filter(([, value]) => value !== undefined);
  if (entries.length === 0) badArgument('setSensorArgv needs at least one argument');
  for (const [key, value] of entries) {
    if (key === 'enable') continue;
    integer(value as number, 0, PERCENT_KEYS.has(key) ? 100 : 255, key);
  }
  return {
    cmd: 'setSensorArgv',
    ...deviceAddress(device),
    data: Object.fromEntries(entries) as SensorArguments,
  };
}

export const getSensorArguments = (device: DeviceAddress): DaliCenterCommand => ({
  cmd: 'getSensorArgv',
  ...deviceAddress(device),
});

const PARAMETER_RANGES: Readonly<Record<string, [number, number]>> = {
  address: [0, 63],
  fadeTime: [0, 15],
  fadeRate: [0, 15],
  powerStatus: [0, 255],
  systemFailureStatus: [0, 255],
  maxBrightness: [0, 1000],
  minBrightness: [0, 1000],
  stepCCT: [1, 100],
};

export function setDeviceParameters(device: DeviceAddress, parameters: DeviceParameters): DaliCenterCommand {
  const entries = Object.entries(parameters).filter(([, value]) => value !== undefined) as [string, number][];
  if (entries.length === 0) badArgument('setDevParam needs at least one parameter');
  for (const [key, value] of entries) {
    const [min, max] = PARAMETER_RANGES[key] ?? [0, 100_000];
    integer(value, min, max, key);
  }
  if (
    parameters.minBrightness !== undefined &&
    parameters.maxBrightness !== undefined &&
    parameters.minBrightness > parameters.maxBrightness
  )
    badArgument(
      `minBrightness ${parameters.minBrightness} is above maxBrightness ${parameters.maxBrightness}`,
    );
  return {
    cmd: 'setDevParam',
    data: [{ ...deviceAddress(device), paramer: Object.fromEntries(entries) as DeviceParameters }],
  };
}

export const getDeviceParameters = (device: DeviceAddress, fromBus = false): DaliCenterCommand => ({
  cmd: 'getDevParam',
  ...deviceAddress(device),
  fromBus,
});
export const identifyDevice = (device: DeviceAddress): DaliCenterCommand => ({
  cmd: 'identifyDev',
  data: deviceAddress(device),
});
export const restartGateway = (): DaliCenterCommand => ({ cmd: 'restartGateway' });

/** addGroup/delGroup/addScene/delScene come from the SDK's test code only (notes §5.1); not part of its API. */
/** What addGroup and addScene share: where, the name, the area and whether other gateways' devices may join. */
export interface CollectionSpec {
  channel: number;
  name: string;
  areaId?: string;
  crossGateway?: boolean;
}

function collectionFields(spec: CollectionSpec) {
  return {
    channel: channelOf(spec.channel),
    crossGateway: spec.crossGateway === false ? ('no' as const) : ('yes' as const),
    name: spec.name,
    areaId: spec.areaId ?? '0001',
  };
}

export function addGroup(
  spec: CollectionSpec & { groupId: number; members: DeviceAddress[] },
): DaliCenterCommand {
  return {
    cmd: 'addGroup',
    ...collectionFields(spec),
    groupId: groupIdOf(spec.groupId),
    data: spec.members.map(deviceAddress),
  };
}

export const deleteGroup = (channel: number, groupId: number): DaliCenterCommand => ({
  cmd: 'delGroup',
  channel: channelOf(channel),
  groupId: groupIdOf(groupId),
});

export function addScene(
  spec: CollectionSpec & { sceneId: number; members: SceneMemberSpec[] },
): DaliCenterCommand {
  const device = spec.members.map((member) => ({
    gwSnObj: member.gwSnObj,
    ...deviceAddress(member),
    property: member.property,
  }));
  return {
    cmd: 'addScene',
    ...collectionFields(spec),
    sceneId: sceneIdOf(spec.sceneId),
    data: { objType: 'device', device },
  };
}

export const deleteScene = (channel: number, sceneId: number): DaliCenterCommand => ({
  cmd: 'delScene',
  channel: channelOf(channel),
  sceneId: sceneIdOf(sceneId),
});
