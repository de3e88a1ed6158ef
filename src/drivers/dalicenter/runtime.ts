import type { BusCapabilities, BusEvent, BusRuntime, JsonValue } from '../contract.js';
import { BusWatchers } from '../../hosting/busWatchers.js';
import {
  type DaliCenterProblem,
  type DeviceAddress,
  deviceKey,
  getVersion,
  type InboundMessage,
  type LightState,
  writeScene,
  lightProperties,
} from './codec/index.js';
import {
  type DeviceState,
  groupStateOf,
  LightReports,
  lightStateOf,
  motionStateOf,
  panelStateOf,
} from './deviceStates.js';
import { GatewayInventory } from './inventory.js';
import { type ConnectionOptions, GatewayConnection } from './connection.js';
import type { GatewayLink } from './link.js';
import { lightCommandOf, readStatuses, writeAndConfirm, writeGroupAndWait } from './lightCommands.js';
import type { DaliCenterDeviceSpec, DaliCenterTarget } from './targets.js';

type LightTarget = Extract<DaliCenterTarget, { role: 'light' }>;

// One DALI Center gateway and the devices of its inventory, over one shared link (connection.ts): a
// lost link is a bus-wide `lost` (logged once, by the connection), the gateway back is `present`.
// State is what the gateway reports: its status, online and energy pushes become the devices' data;
// a command is confirmed by the status the gateway sends (else a read).

declare module '../contract.js' {
  interface BusCapabilities {
    /** A running DALI Center bus lends its gateway link to a scan (inventory and bus scan). */
    daliCenterGateway: GatewayInventory;
  }
}

export interface DaliCenterBusOptions extends ConnectionOptions {
  devices: readonly DaliCenterDeviceSpec[];
}

export class DaliCenterBusRuntime implements BusRuntime {
  readonly capabilities: Partial<BusCapabilities>;
  readonly #targets = new Map<string, DaliCenterTarget>();
  readonly #connected = new Set<string>();
  readonly #watchers = new BusWatchers();
  readonly #lights = new LightReports();
  /** Devices the gateway reported offline (onlineStatus), by device key. */
  readonly #offline = new Set<string>();
  readonly #lastState = new Map<string, DeviceState>();
  /** Each light's last energy report (Wh): in every state, null until the first, so HA's sensor reads it. */
  readonly #energy = new Map<string, number>();
  readonly #motion = new Map<string, DeviceState>();
  readonly #problemKinds = new Set<string>();
  readonly #inventory: GatewayInventory;
  readonly #connection: GatewayConnection;
  #closed = false;

  constructor(
    readonly busId: string,
    private readonly options: DaliCenterBusOptions,
  ) {
    for (const spec of options.devices) this.#targets.set(spec.deviceId, spec.target);
    this.#connection = new GatewayConnection(options, {
      message: (message) => this.#onMessage(message),
      problem: (problem) => this.#onProblem(problem),
      up: (link, returned) => {
        this.#lights.clear();
        this.#inventory.attach(link);
        // The other devices skip the rest of their backoff.
        if (returned) this.#emit({ type: 'present' });
      },
      gone: (reason) => this.#linkGone(reason),
      present: () => this.#emit({ type: 'present' }),
    });
    this.#inventory = new GatewayInventory((signal) => this.#connection.ensure(signal));
    this.capabilities = { daliCenterGateway: this.#inventory };
  }

  get #serial(): string {
    return this.#connection.serial;
  }

  #emit(event: BusEvent): void {
    if (!this.#closed) this.#watchers.emit(event);
  }

  async connect(deviceId: string, signal: AbortSignal): Promise<void> {
    const target = this.#target(deviceId);
    await this.#connection.ensure(signal);
    if ('address' in target && this.#offline.has(deviceKey(target.address)))
      throw new Error(`gateway ${this.#serial} reports ${deviceId} offline`);
    this.#connected.add(deviceId);
    // Groups are derived from their members: learn who they are once per link.
    if (target.role === 'group') await this.#inventory.membersOf(target.channel, target.groupId, signal);
  }

  async disconnect(deviceId: string): Promise<void> {
    this.#connected.delete(deviceId);
  }

  async execute(
    deviceId: string,
    operation: string,
    args: JsonValue,
    signal: AbortSignal,
  ): Promise<JsonValue> {
    const target = this.#target(deviceId);
    const link = this.#connection.link;
    if (!link) throw new Error(`the link to DALI Center gateway ${this.#serial} is down`);
    if (operation !== 'set' && operation !== 'get' && operation !== 'poll')
      throw new Error(`DALI Center devices support set, get and poll, not "${operation}"`);
    switch (target.role) {
      case 'gateway': {
        if (operation === 'set') throw new Error('the DALI Center gateway device takes no "set" command');
        const reply = await link.request(getVersion(), signal);
        if (reply.cmd !== 'getVersionRes') throw new Error(`gateway answered getVersion with ${reply.cmd}`);
        return { connected: true, software: reply.software, firmware: reply.firmware };
      }
      case 'light':
        return operation === 'set'
          ? this.#setLight(link, target, args, signal)
          : this.#readLight(link, target, signal);
      case 'group':
        return operation === 'set'
          ? this.#setGroup(link, deviceId, target, args, signal)
          : this.#readGroup(link, target, signal);
      case 'scene': {
        if (operation !== 'set') return {};
        const reply = await link.request(writeScene(target.channel, target.sceneId), signal);
        if (reply.cmd === 'writeSceneRes' && reply.ack === false)
          throw new Error(`gateway ${this.#serial} refused to recall scene ${target.sceneId}`);
        return {};
      }
      default: {
        if (operation === 'set') throw new Error(`a DALI Center ${target.role} takes no "set" command`);
        // Sensors and panels report by push only: there is nothing to read before their first report.
        const last = this.#lastState.get(deviceId);
        if (!last)
          throw new Error(`${deviceId} has not reported yet (a ${target.role} reports by push only)`);
        return last;
      }
    }
  }

  watchBus(onEvent: (event: BusEvent) => void): () => void {
    return this.#watchers.add(onEvent);
  }

  async runRecoveryStep(step: string, deviceId: string, signal: AbortSignal): Promise<void> {
    this.#target(deviceId);
    switch (step) {
      case 'reconnect':
        return this.#connection.reconnect(signal);
      case 'rediscover':
        return this.#connection.rediscover(signal);
      default:
        throw new Error(`DALI Center has no recovery step "${step}"`);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watchers.clear();
    await this.#connection.close();
  }

  /**
   * The gateway device hears why its link went (its own `lost`, with the reason), then every device of
   * the bus the bus-wide `lost`; both say the connection logged it.
   */
  #linkGone(reason: string): void {
    const error = `DALI Center gateway ${this.#serial}: ${reason}`;
    for (const [deviceId, target] of this.#targets)
      if (target.role === 'gateway' && this.#connected.has(deviceId))
        this.#emit({ type: 'device', deviceId, event: { type: 'lost', error, logged: true } });
    this.#emit({ type: 'lost', error, logged: true });
  }

  // ---- reports ----

  #onProblem(problem: DaliCenterProblem): void {
    // Logged once per kind and command: a gateway repeating garbage must not flood the log.
    const kind = `${problem.kind}:${problem.cmd ?? ''}`;
    if (this.#problemKinds.has(kind)) return;
    this.#problemKinds.add(kind);
    this.options.log.warn(
      `DALI Center gateway ${this.#serial}: ignored ${problem.kind}${problem.cmd ? ` in ${problem.cmd}` : ''} (${problem.detail}); further ones of this kind are not logged`,
    );
  }

  #onMessage(message: InboundMessage): void {
    switch (message.cmd) {
      case 'devStatus':
      case 'readDevRes': {
        const { device, report } = message;
        if (report.kind === 'light') {
          const merged = this.#lights.merge(device, report.state);
          this.#reportLight(device, merged);
          this.#reportGroups(device);
        } else if (report.kind === 'motion' && report.state) {
          // A state says one of motion or occupancy (no_motion says nothing of occupancy): both are
          // in every published state, the other one as last reported (null before any report).
          const key = deviceKey(device);
          const merged = {
            motion: null,
            occupancy: null,
            ...this.#motion.get(key),
            ...motionStateOf(report.state),
          };
          this.#motion.set(key, merged);
          this.#report(device, merged);
        } else if (report.kind === 'illuminance' && report.lux !== undefined) {
          this.#report(device, { illuminance: report.lux });
        } else if (report.kind === 'panel') {
          for (const event of report.events) this.#report(device, panelStateOf(event));
        }
        return;
      }
      case 'reportEnergy':
        this.#energy.set(deviceKey(message.device), message.energy);
        this.#report(message.device, { energy: message.energy });
        return;
      case 'onlineStatus':
        for (const { device, online } of message.devices) this.#online(device, online);
        return;
      default:
        return;
    }
  }

  #online(device: DeviceAddress, online: boolean): void {
    const key = deviceKey(device);
    if (online) {
      if (this.#offline.delete(key)) this.#watchers.emit({ type: 'present' });
      return;
    }
    this.#offline.add(key);
    for (const [deviceId, target] of this.#targets) {
      if (!('address' in target) || deviceKey(target.address) !== key || !this.#connected.has(deviceId))
        continue;
      this.#watchers.emit({
        type: 'device',
        deviceId,
        event: { type: 'lost', error: `gateway ${this.#serial} reports the device offline` },
      });
    }
  }

  /** A report of the device at `address`, to every connected device standing there. */
  #report(address: DeviceAddress, state: DeviceState): void {
    const key = deviceKey(address);
    for (const [deviceId, target] of this.#targets) {
      if (!('address' in target) || deviceKey(target.address) !== key) continue;
      this.#publish(deviceId, state);
    }
  }

  /** A light's report, in the colour mode of each light device standing there. */
  #reportLight(address: DeviceAddress, light: LightState): void {
    const key = deviceKey(address);
    for (const [deviceId, target] of this.#targets)
      if (target.role === 'light' && deviceKey(target.address) === key)
        this.#publish(deviceId, {
          ...lightStateOf(light, target.light),
          energy: this.#energy.get(key) ?? null,
        });
  }

  #publish(deviceId: string, state: DeviceState): void {
    this.#lastState.set(deviceId, { ...this.#lastState.get(deviceId), ...state });
    if (!this.#connected.has(deviceId)) return;
    this.#watchers.emit({
      type: 'device',
      deviceId,
      event: { type: 'data', operation: 'report', result: state },
    });
  }

  /** The groups `member` is in, derived again from their members' reports. */
  #reportGroups(member: DeviceAddress): void {
    const key = deviceKey(member);
    for (const [deviceId, target] of this.#targets) {
      if (target.role !== 'group') continue;
      const members = this.#inventory.knownMembers(target.channel, target.groupId);
      if (!members?.some((candidate) => deviceKey(candidate) === key)) continue;
      const state = this.#groupState(target);
      if (state) this.#publish(deviceId, state);
    }
  }

  #groupState(target: { channel: number; groupId: number }): DeviceState | undefined {
    const members = this.#inventory.knownMembers(target.channel, target.groupId) ?? [];
    return groupStateOf(members.map((member) => this.#lights.get(member)));
  }

  // ---- commands ----

  async #setLight(
    link: GatewayLink,
    target: LightTarget,
    args: JsonValue,
    signal: AbortSignal,
  ): Promise<JsonValue> {
    await writeAndConfirm(link, target.address, lightCommandOf(args, target.light), signal);
    return this.#lightState(target.address, target);
  }

  async #readLight(link: GatewayLink, target: LightTarget, signal: AbortSignal): Promise<JsonValue> {
    await readStatuses(link, [target.address], signal);
    return this.#lightState(target.address, target);
  }

  async #setGroup(
    link: GatewayLink,
    deviceId: string,
    target: { channel: number; groupId: number },
    args: JsonValue,
    signal: AbortSignal,
  ): Promise<JsonValue> {
    const properties = lightProperties(lightCommandOf(args));
    const members = await this.#inventory.membersOf(target.channel, target.groupId, signal);
    await writeGroupAndWait(link, target, properties, members, signal);
    const state = this.#groupState(target) ?? {};
    this.#lastState.set(deviceId, state);
    return state;
  }

  #lightState(address: DeviceAddress, target: LightTarget): DeviceState {
    return {
      ...lightStateOf(this.#lights.get(address) ?? {}, target.light),
      energy: this.#energy.get(deviceKey(address)) ?? null,
    };
  }

  /** A group's state, derived from its members' levels read now. */
  async #readGroup(
    link: GatewayLink,
    target: { channel: number; groupId: number },
    signal: AbortSignal,
  ): Promise<JsonValue> {
    const members = await this.#inventory.membersOf(target.channel, target.groupId, signal);
    await readStatuses(link, members, signal);
    const state = this.#groupState(target);
    if (!state) throw new Error(`group ${target.groupId} has no member that reported a level`);
    return state;
  }

  #target(deviceId: string): DaliCenterTarget {
    const target = this.#targets.get(deviceId);
    if (!target) throw new Error(`no DALI Center device "${deviceId}" on ${this.busId}`);
    return target;
  }
}
