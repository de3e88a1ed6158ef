import {
  classifyDeviceType,
  type DeviceAddress,
  deviceKey,
  getDeviceParameters,
  type KelvinLimits,
  kelvinLimitsOf,
  DeviceListGatherer,
  type FoundDevice,
  getGroups,
  getScenes,
  getVersion,
  type GroupSummary,
  readGroup,
  type SceneSummary,
  searchCachedDevices,
  startBusScan,
  stopBusScan,
} from './codec/index.js';
import type { GatewayLink } from './link.js';

// What a gateway holds (notes §6.3-§6.4): its versions, its device list (gathered across searchDevRes
// messages until the one that says finished), its groups with their members, and its scenes. Read by a
// scan over the bus's running link; group members are also what a group's state is derived from.

/** The cached list arrives in a few messages; a bus scan may take up to 10 minutes (the SDK's bound). */
export const DEVICE_LIST_TIMEOUT_MS = 30_000;
export const BUS_SCAN_TIMEOUT_MS = 10 * 60_000;
const REPLY_MS = 5_000;

export interface GatewayContents {
  software: string;
  firmware: string;
  devices: FoundDevice[];
  groups: (GroupSummary & { members: DeviceAddress[] })[];
  scenes: SceneSummary[];
  /** DT8 Tc lights' colour temperature limits from their parameters, by device key (absent: not read). */
  kelvin: Map<string, KelvinLimits>;
}

export class GatewayInventory {
  /** Group members by `channel/groupId`, read once per link. */
  #members = new Map<string, DeviceAddress[]>();
  #link: GatewayLink | undefined;

  constructor(private readonly ensureLink: (signal: AbortSignal) => Promise<GatewayLink>) {}

  /** A new link: members are read again (the gateway may have been re-programmed meanwhile). */
  attach(link: GatewayLink): void {
    this.#link = link;
    this.#members = new Map();
  }

  knownMembers(channel: number, groupId: number): DeviceAddress[] | undefined {
    return this.#members.get(`${channel}/${groupId}`);
  }

  async membersOf(channel: number, groupId: number, signal: AbortSignal): Promise<DeviceAddress[]> {
    const known = this.knownMembers(channel, groupId);
    if (known) return known;
    const link = await this.ensureLink(signal);
    const reply = await link.request(readGroup(channel, groupId), signal, REPLY_MS);
    const members =
      reply.cmd === 'readGroupRes'
        ? reply.members.map(({ devType, channel: at, address }) => ({ devType, channel: at, address }))
        : [];
    if (this.#link === link) this.#members.set(`${channel}/${groupId}`, members);
    return members;
  }

  /** Versions, the cached device list, groups with members, scenes. */
  async read(signal: AbortSignal): Promise<GatewayContents> {
    const link = await this.ensureLink(signal);
    const version = await link.request(getVersion(), signal, REPLY_MS);
    const devices = await this.#gather(link, 'exited', signal, DEVICE_LIST_TIMEOUT_MS, () =>
      link.send(searchCachedDevices()),
    );
    const groupList = await link.request(getGroups(), signal, REPLY_MS);
    const groups: GatewayContents['groups'] = [];
    for (const group of groupList.cmd === 'getGroupRes' ? groupList.groups : []) {
      this.#members.delete(`${group.channel}/${group.groupId}`);
      groups.push({ ...group, members: await this.membersOf(group.channel, group.groupId, signal) });
    }
    const sceneList = await link.request(getScenes(), signal, REPLY_MS);
    const kelvin = new Map<string, KelvinLimits>();
    for (const device of devices) {
      const kind = classifyDeviceType(device.devType);
      if (kind.kind !== 'light' || kind.colourMode !== 'color_temp') continue;
      // A light that does not answer keeps HA's default limits: its parameters are a refinement.
      const reply = await link.request(getDeviceParameters(device), signal, REPLY_MS).catch(() => undefined);
      if (reply?.cmd === 'getDevParamRes') kelvin.set(deviceKey(device), kelvinLimitsOf(reply.parameters));
    }
    return {
      kelvin,
      software: version.cmd === 'getVersionRes' ? version.software : '',
      firmware: version.cmd === 'getVersionRes' ? version.firmware : '',
      devices,
      groups,
      scenes: sceneList.cmd === 'getSceneRes' ? sceneList.scenes : [],
    };
  }

  /** A bus scan (`searchDev busDevice`) of `channels`; stopped on abort. */
  async busScan(
    channels: number[],
    signal: AbortSignal,
    progress: (added: FoundDevice[]) => void,
  ): Promise<FoundDevice[]> {
    const link = await this.ensureLink(signal);
    try {
      return await this.#gather(
        link,
        'busDevice',
        signal,
        BUS_SCAN_TIMEOUT_MS,
        () => link.send(startBusScan(channels)),
        progress,
      );
    } catch (error) {
      if (!link.closed) link.send(stopBusScan(channels));
      throw error;
    }
  }

  async #gather(
    link: GatewayLink,
    flag: 'exited' | 'busDevice',
    signal: AbortSignal,
    timeoutMs: number,
    start: () => void,
    progress?: (added: FoundDevice[]) => void,
  ): Promise<FoundDevice[]> {
    const gatherer = new DeviceListGatherer(flag);
    await link.waitFor(
      (message) => {
        const step = gatherer.add(message);
        if (step?.kind === 'batch' && step.added.length > 0) progress?.(step.added);
        return gatherer.finished;
      },
      signal,
      timeoutMs,
      `the end of the device list (${flag})`,
      start,
    );
    return gatherer.list();
  }
}
