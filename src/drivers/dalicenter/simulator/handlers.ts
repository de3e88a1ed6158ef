import { deviceKey, type JsonObject, type ReceivedRequest } from '../codec/index.js';
import { type SimDevice, type VirtualLine } from './line.js';

// How the simulated gateway answers each command of the notes (§5) with the shapes of §6: every reply
// echoes msgId and gwSn and write replies carry ack; writes are followed by devStatus pushes of what
// changed (the gateway's confirmed state), readDev by one readDevRes per device, the cached device list
// comes in several searchDevRes messages. Requests it cannot act on get ack:false, or nothing where the
// notes document no reply.

export interface HandlerContext {
  line: VirtualLine;
  serial: string;
  version: { swVersion: string; fwVersion: string };
  /** Devices per searchDevRes message (the list is accumulated by the client until status 0 or 1). */
  searchChunkSize: number;
  /** The firmware quirk of notes §10.3: after a group on, members report dpid 20 false. */
  groupOnReportsPowerFalse: boolean;
  send(body: JsonObject): void;
  restart(): void;
  startBusScan(channels: number[]): void;
  stopBusScan(): void;
}

const addressOf = (device: SimDevice) => ({
  devType: device.devType,
  channel: device.channel,
  address: device.address,
});

function integerField(body: JsonObject, key: string): number | undefined {
  const value = body[key];
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

/** The line's device a request entry names by devType, channel and address. */
function deviceOf(context: HandlerContext, entry: unknown): SimDevice | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const { devType, channel, address } = entry as Record<string, unknown>;
  if (typeof devType !== 'string' || typeof channel !== 'number' || typeof address !== 'number')
    return undefined;
  return context.line.find({ devType, channel, address });
}

/** The devStatus of a device: lights report their state; anything else reports nothing by itself. */
export function statusOf(
  context: HandlerContext,
  device: SimDevice,
  cmd = 'devStatus',
  powerOverride?: boolean,
): JsonObject {
  const property = context.line
    .lightStatus(device)
    .map((entry) =>
      entry.dpid === 20 && powerOverride !== undefined ? { ...entry, value: powerOverride } : entry,
    );
  return { cmd, gwSn: context.serial, data: { ...addressOf(device), property } };
}

function propertiesOf(list: unknown): { dpid: number; value: unknown }[] | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const properties = list.map((entry) =>
    typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : {},
  );
  if (properties.some((entry) => typeof entry.dpid !== 'number')) return undefined;
  return properties.map((entry) => ({ dpid: entry.dpid as number, value: entry.value }));
}

/** A device as a searchDevRes lists it (cached list and bus scan alike). */
export function foundDevice(context: Pick<HandlerContext, 'line' | 'serial'>, device: SimDevice): JsonObject {
  return {
    ...addressOf(device),
    devId: context.line.uniqueId(device, context.serial),
    name: device.name,
    status: device.online ? 'online' : 'offline',
    devSn: '',
    areaName: '',
    areaId: '',
  };
}

function sendDeviceList(context: HandlerContext, reply: (body: JsonObject) => void): void {
  const devices = [...context.line.devices.values()];
  if (devices.length === 0) return reply({ searchFlag: 'exited', searchStatus: 0, data: [] });
  // Intermediate messages carry status 3 (a batch, as in a bus scan); the last 1. The status of the
  // intermediate ones is not in the notes: the SDK only waits for 0 or 1.
  for (let start = 0; start < devices.length; start += context.searchChunkSize) {
    const chunk = devices.slice(start, start + context.searchChunkSize);
    const last = start + context.searchChunkSize >= devices.length;
    reply({
      searchFlag: 'exited',
      searchStatus: last ? 1 : 3,
      data: chunk.map((device) => foundDevice(context, device)),
    });
  }
}

/** Handles one request; the replies go out through `context.send`. */
export function handleRequest(context: HandlerContext, request: ReceivedRequest): void {
  const { body, cmd } = request;
  const reply = (fields: JsonObject) =>
    context.send({
      cmd: `${cmd}Res`,
      ...(request.msgId !== undefined ? { msgId: request.msgId } : {}),
      gwSn: context.serial,
      ...fields,
    });
  const line = context.line;
  switch (cmd) {
    case 'getVersion':
      return reply({ data: { ...context.version } });
    case 'searchDev': {
      const flag = body.searchFlag;
      if (flag === 'exited') return sendDeviceList(context, reply);
      if (flag === 'busDevice') {
        const channels = Array.isArray(body.channel)
          ? body.channel.filter((entry): entry is number => typeof entry === 'number')
          : [0];
        return context.startBusScan(channels);
      }
      // stop: the notes document no reply, so none is sent.
      if (flag === 'stop') return context.stopBusScan();
      return;
    }
    case 'getGroup':
      return reply({
        group: listByChannel(line.groups, ({ groupId, name, areaId }) => ({ groupId, name, areaId })),
      });
    case 'readGroup': {
      const group = line.group(integerField(body, 'channel') ?? -1, integerField(body, 'groupId') ?? -1);
      if (!group) return reply({ ack: false });
      return reply({
        groupId: group.groupId,
        name: group.name,
        channel: group.channel,
        data: line
          .groupMembers(group)
          .map((device) => ({ ...addressOf(device), devId: line.uniqueId(device, context.serial) })),
      });
    }
    case 'getScene':
      return reply({
        scene: listByChannel(line.scenes, ({ sceneId, name, areaId }) => ({ sceneId, name, areaId })),
      });
    case 'readScene': {
      const scene = line.scene(integerField(body, 'channel') ?? -1, integerField(body, 'sceneId') ?? -1);
      if (!scene) return reply({ ack: false });
      const device = scene.members.flatMap((member) => {
        if (member.group)
          return [
            {
              devType: '0401',
              channel: scene.channel,
              address: Number(member.key),
              gwSnObj: context.serial,
              property: member.properties,
            },
          ];
        const found = line.devices.get(member.key);
        return found ? [{ ...addressOf(found), gwSnObj: context.serial, property: member.properties }] : [];
      });
      return reply({ sceneId: scene.sceneId, name: scene.name, channel: scene.channel, data: { device } });
    }
    case 'writeDev': {
      const entries = Array.isArray(body.data) ? body.data : [];
      const changed: SimDevice[] = [];
      let ack = entries.length > 0;
      for (const entry of entries) {
        const device = deviceOf(context, entry);
        const properties = propertiesOf((entry as Record<string, unknown>).property);
        if (
          device?.devType === 'FFFF' ||
          (device === undefined && (entry as Record<string, unknown>).devType === 'FFFF')
        ) {
          // Broadcast: every light takes it.
          for (const light of line.lights())
            if (properties && line.applyLight(light, properties)) changed.push(light);
          continue;
        }
        if (!device || !properties || !line.applyLight(device, properties)) ack = false;
        else changed.push(device);
      }
      reply({ ack });
      for (const device of changed) context.send(statusOf(context, device));
      return;
    }
    case 'readDev': {
      const entries = Array.isArray(body.data) ? body.data : [];
      for (const entry of entries) {
        const device = deviceOf(context, entry);
        if (device?.light)
          context.send({
            ...statusOf(context, device, 'readDevRes'),
            ...(request.msgId !== undefined ? { msgId: request.msgId } : {}),
          });
      }
      return;
    }
    case 'writeGroup': {
      const group = line.group(integerField(body, 'channel') ?? -1, integerField(body, 'groupId') ?? -1);
      const properties = propertiesOf(body.data);
      if (!group || !properties) return reply({ ack: false });
      const members = line.groupMembers(group).filter((device) => line.applyLight(device, properties));
      reply({ ack: true });
      const switchedOn = properties.some((property) => property.dpid === 20 && property.value === true);
      for (const device of members)
        context.send(
          statusOf(
            context,
            device,
            'devStatus',
            context.groupOnReportsPowerFalse && switchedOn ? false : undefined,
          ),
        );
      return;
    }
    case 'writeScene': {
      const scene = line.scene(integerField(body, 'channel') ?? -1, integerField(body, 'sceneId') ?? -1);
      if (!scene) return reply({ ack: false });
      const changed = new Set<SimDevice>();
      for (const member of scene.members) {
        const targets = line.sceneMemberDevices(scene, member);
        for (const device of targets) if (line.applyLight(device, member.properties)) changed.add(device);
      }
      reply({ ack: true });
      for (const device of changed) context.send(statusOf(context, device));
      return;
    }
    default:
      return handleDeviceRequest(context, request, reply);
  }
}

/** getGroupRes/getSceneRes's shape: one entry per channel, each with its items. */
function listByChannel<T extends { channel: number }>(
  items: T[],
  entry: (item: T) => JsonObject,
): JsonObject[] {
  const channels = [...new Set(items.map((item) => item.channel))].sort((a, b) => a - b);
  return channels.map((channel) => ({
    channel,
    data: items.filter((item) => item.channel === channel).map(entry),
  }));
}

/** Energy, sensors, parameters, identify, restart and the group/scene editing of the SDK's tests. */
function handleDeviceRequest(
  context: HandlerContext,
  request: ReceivedRequest,
  reply: (fields: JsonObject) => void,
): void {
  const { body, cmd } = request;
  const line = context.line;
  const device = deviceOf(context, body);
  switch (cmd) {
    case 'getEnergy': {
      const entries = Array.isArray(body.data) ? body.data : [];
      const data = entries.flatMap((entry) => {
        const found = deviceOf(context, entry);
        if (!found) return [];
        const total = Number(found.energyWh.toFixed(2));
        return [
          {
            ...addressOf(found),
            yearEnergy: { total },
            monthEnergy: { total },
            dayEnergy: { total },
            hourEnergy: [],
          },
        ];
      });
      return reply({ data });
    }
    case 'setSensorOnOff':
      if (!device || typeof body.value !== 'boolean') return reply({ ack: false });
      device.sensorEnabled = body.value;
      return reply({ ack: true });
    case 'getSensorOnOff':
      if (!device) return reply({ ack: false });
      return reply({ ...addressOf(device), value: device.sensorEnabled });
    case 'setSensorArgv':
      if (!device || typeof body.data !== 'object' || body.data === null) return reply({ ack: false });
      Object.assign(device.sensorArguments, body.data);
      return reply({ ack: true });
    case 'getSensorArgv':
      if (!device) return reply({ ack: false });
      return reply({ ...addressOf(device), data: { ...device.sensorArguments } });
    case 'setDevParam': {
      const entries = Array.isArray(body.data) ? body.data : [];
      let ack = entries.length > 0;
      for (const entry of entries) {
        const target = deviceOf(context, entry);
        const parameters = (entry as Record<string, unknown>).paramer;
        if (!target || typeof parameters !== 'object' || parameters === null) ack = false;
        else Object.assign(target.parameters, parameters);
      }
      return reply({ ack });
    }
    case 'getDevParam':
      if (!device) return reply({ ack: false });
      return reply({ ...addressOf(device), paramer: { ...device.parameters } });
    case 'identifyDev':
      return reply({ ack: deviceOf(context, body.data) !== undefined });
    case 'restartGateway':
      reply({ ack: true });
      return context.restart();
    case 'addGroup': {
      const channel = integerField(body, 'channel');
      const groupId = integerField(body, 'groupId');
      if (channel === undefined || groupId === undefined || !Array.isArray(body.data))
        return reply({ ack: false });
      line.groups.splice(
        0,
        line.groups.length,
        ...line.groups.filter((group) => !(group.channel === channel && group.groupId === groupId)),
      );
      const members = body.data.flatMap((entry) => deviceOf(context, entry) ?? []);
      line.groups.push({
        channel,
        groupId,
        name: typeof body.name === 'string' ? body.name : `Group ${groupId}`,
        areaId: typeof body.areaId === 'string' ? body.areaId : '0001',
        members: members.map(deviceKey),
      });
      return reply({ ack: true });
    }
    case 'delGroup':
    case 'delScene': {
      const list: { channel: number }[] = cmd === 'delGroup' ? line.groups : line.scenes;
      const idKey = cmd === 'delGroup' ? 'groupId' : 'sceneId';
      const index = list.findIndex(
        (item) =>
          item.channel === integerField(body, 'channel') &&
          (item as unknown as Record<string, unknown>)[idKey] === integerField(body, idKey),
      );
      if (index >= 0) list.splice(index, 1);
      return reply({ ack: index >= 0 });
    }
    case 'addScene': {
      const channel = integerField(body, 'channel');
      const sceneId = integerField(body, 'sceneId');
      const data = body.data as { device?: unknown } | undefined;
      if (channel === undefined || sceneId === undefined || !Array.isArray(data?.device))
        return reply({ ack: false });
      const members = data.device.flatMap((entry) => {
        const found = deviceOf(context, entry);
        const properties = propertiesOf((entry as Record<string, unknown>).property) ?? [];
        return found
          ? [
              {
                key: deviceKey(found),
                group: false,
                properties: properties as { dpid: number; value: boolean | number | string }[],
              },
            ]
          : [];
      });
      line.scenes.push({
        channel,
        sceneId,
        name: typeof body.name === 'string' ? body.name : `Scene ${sceneId}`,
        areaId: '0001',
        members,
      });
      return reply({ ack: true });
    }
    default:
      // Requests the notes list but the simulator leaves unanswered do not exist; anything else is ignored.
      return;
  }
}
