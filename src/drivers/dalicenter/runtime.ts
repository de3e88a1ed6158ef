import { connect as tcpConnect } from 'node:net';
import type { BusCapabilities, BusEvent, BusRuntime, JsonValue } from '../contract.js';
import { type LightCapability, lightSet } from '../shared/capabilities.js';
import { abortable } from '../shared/wait.js';
import { BusWatchers } from '../../hosting/busWatchers.js';
import { every, type GatewayClock, systemClock } from '../../machines/clock.js';
import {
  type DaliCenterProblem,
  type DeviceAddress,
  deviceKey,
  getVersion,
  type InboundMessage,
  type LightCommand,
  type LightState,
  rgbToHsv,
  readDevices,
  toGatewayBrightness,
  writeGroup,
  writeLight,
  writeScene,
  lightProperties,
} from './codec/index.js';
import { DALICENTER_LIGHT } from './capabilities.js';
import {
  type DeviceState,
  groupStateOf,
  LightReports,
  lightStateOf,
  motionStateOf,
  panelStateOf,
} from './deviceStates.js';
import { GatewayInventory } from './inventory.js';
import { GatewayAuthRefused, type GatewayEndpoint, GatewayLink, REPLY_TIMEOUT_MS } from './link.js';
import type { DaliCenterDeviceSpec, DaliCenterTarget } from './targets.js';

type LightTarget = Extract<DaliCenterTarget, { role: 'light' }>;

// One DALI Center gateway and the devices of its inventory: one MQTT link, opened by the first device
// that connects and shared by all. The link never reconnects by itself: a lost link is a bus-wide
// `lost`, and the devices' connection machines (with their backoff) open it again. While it is down a
// cheap TCP probe of the broker's port says `present` as soon as the gateway is back, so the lights
// come back (and get their state restored) within a second of its broker returning, not after a
// backoff of up to a minute. A refused login is remembered: the broker is not asked again for
// AUTH_REFUSED_HOLD_MS, whatever the devices' backoff, and the refusal is logged once.

declare module '../contract.js' {
  interface BusCapabilities {
    /** A running DALI Center bus lends its gateway link to a scan (inventory and bus scan). */
    daliCenterGateway: GatewayInventory;
  }
}

export const AUTH_REFUSED_HOLD_MS = 5 * 60_000;
const PROBE_INTERVAL_MS = 500;
const PROBE_TIMEOUT_MS = 400;
/** How long a command waits for the gateway's status of what it changed before reading it. */
const CONFIRM_TIMEOUT_MS = 3_000;

export interface DaliCenterLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface DaliCenterBusOptions {
  /** The configured serial; undefined: the gateway discovery finds (its serial is then the endpoint's). */
  serial: string | undefined;
  /** Where the gateway is now (a simulated gateway starts here); undefined: it is not configured or paired. */
  endpoint(signal: AbortSignal): Promise<GatewayEndpoint | undefined>;
  devices: readonly DaliCenterDeviceSpec[];
  clock?: GatewayClock | undefined;
  log: DaliCenterLog;
  /** Finds the gateway's new address by its serial (the `rediscover` step); undefined: not found. */
  rediscover?(serial: string | undefined, signal: AbortSignal): Promise<GatewayEndpoint | undefined>;
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
  #link: GatewayLink | undefined;
  #opening: Promise<GatewayLink> | undefined;
  #rediscovering: Promise<void> | undefined;
  #endpoint: GatewayEndpoint | undefined;
  #authRefused: { error: GatewayAuthRefused; until: number } | undefined;
  #authRefusedSaid = false;
  #unreachableSaid = false;
  #stopProbe: (() => void) | undefined;
  #closed = false;
  readonly #closing = new AbortController();

  constructor(
    readonly busId: string,
    private readonly options: DaliCenterBusOptions,
  ) {
    for (const spec of options.devices) this.#targets.set(spec.deviceId, spec.target);
    this.#inventory = new GatewayInventory((signal) => this.#ensureLink(signal));
    this.capabilities = { daliCenterGateway: this.#inventory };
  }

  get #serial(): string {
    return this.#endpoint?.serial || this.options.serial || '(serial not known yet)';
  }

  get #clock(): GatewayClock {
    return this.options.clock ?? systemClock;
  }

  async connect(deviceId: string, signal: AbortSignal): Promise<void> {
    const target = this.#target(deviceId);
    await this.#ensureLink(signal);
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
    const link = this.#link;
    if (!link || link.closed) throw new Error(`the link to DALI Center gateway ${this.#serial} is down`);
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
        // A link that still answers is left alone; a half-open one is dropped and opened again.
        if (this.#link && !this.#link.closed) {
          try {
            await this.#link.request(getVersion(), signal);
            return;
          } catch {
            this.#dropLink('it did not answer getVersion');
          }
        }
        // A refused login is not retried by the ladder either: only pairing again (a new config) helps.
        await this.#ensureLink(signal);
        return;
      case 'rediscover':
        // Every device of the gateway climbs its ladder: one discovery serves them all, and a link
        // another device's step already healed is left alone.
        if (this.#link && !this.#link.closed) return;
        if (this.#authRefused) throw this.#authRefused.error;
        this.#rediscovering ??= this.#rediscover().finally(() => (this.#rediscovering = undefined));
        await abortable(this.#rediscovering, signal);
        await this.#ensureLink(signal);
        return;
      default:
        throw new Error(`DALI Center has no recovery step "${step}"`);
    }
  }

  /** Asks the network where the gateway is now and takes its new address. */
  async #rediscover(): Promise<void> {
    const found = await this.options.rediscover?.(this.options.serial, this.#closing.signal);
    if (!found) throw new Error(`gateway ${this.#serial} did not answer a discovery`);
    const before = this.#endpoint;
    this.#endpoint = { ...(before ?? found), host: found.host, port: found.port, tls: found.tls };
    if (before?.host === found.host && before.port === found.port) return;
    this.options.log.warn(
      `DALI Center gateway ${this.#serial} found at ${found.host}:${found.port} (was ${before ? `${before.host}:${before.port}` : 'unknown'})`,
    );
    // The probe watched the old address.
    this.#stopProbe?.();
    this.#stopProbe = undefined;
    this.#dropLink('its address changed');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort(new Error(`${this.busId} is closed`));
    this.#stopProbe?.();
    this.#stopProbe = undefined;
    this.#watchers.clear();
    this.#link?.close();
    this.#link = undefined;
    await this.#opening?.catch(() => undefined);
  }

  // ---- the link ----

  async #ensureLink(signal: AbortSignal): Promise<GatewayLink> {
    if (this.#closed) throw new Error(`${this.busId} is closed`);
    if (this.#link && !this.#link.closed) return this.#link;
    const refused = this.#authRefused;
    if (refused && this.#clock.now() < refused.until) throw refused.error;
    this.#opening ??= this.#open().finally(() => (this.#opening = undefined));
    return abortable(this.#opening, signal);
  }

  async #open(): Promise<GatewayLink> {
    const signal = this.#closing.signal;
    // Not configured with an address: the gateway is looked for on the network.
    this.#endpoint ??=
      (await this.options.endpoint(signal)) ?? (await this.options.rediscover?.(this.options.serial, signal));
    const endpoint = this.#endpoint;
    if (!endpoint)
      throw new Error(
        `DALI Center gateway ${this.#serial} has no address and did not answer a discovery: configure its host, or pair it (dalicenter/pair)`,
      );
    let link: GatewayLink;
    try {
      link = await GatewayLink.open(
        endpoint,
        {
          message: (message) => this.#onMessage(message),
          problem: (problem) => this.#onProblem(problem),
          lost: (reason) => this.#onLost(link, reason),
        },
        signal,
        () => this.#clock.now(),
      );
    } catch (error) {
      this.#failedToOpen(endpoint, error);
      throw error;
    }
    if (this.#closed) {
      link.close();
      throw new Error(`${this.busId} is closed`);
    }
    this.#link = link;
    this.#authRefused = undefined;
    this.#authRefusedSaid = false;
    this.#lights.clear();
    this.#inventory.attach(link);
    const wasDown = this.#stopProbe !== undefined || this.#unreachableSaid;
    this.#stopProbe?.();
    this.#stopProbe = undefined;
    if (this.#unreachableSaid)
      this.options.log.info(`DALI Center gateway ${endpoint.serial} is reachable again`);
    this.#unreachableSaid = false;
    this.options.log.info(
      `connected to DALI Center gateway ${endpoint.serial} at ${endpoint.host}:${endpoint.port}`,
    );
    // The other devices skip the rest of their backoff.
    if (wasDown) this.#watchers.emit({ type: 'present' });
    return link;
  }

  #failedToOpen(endpoint: GatewayEndpoint, error: unknown): void {
    if (error instanceof GatewayAuthRefused) {
      // Said once until a login succeeds again; the broker is not asked again while the hold lasts.
      if (!this.#authRefusedSaid) this.options.log.error(error.message);
      this.#authRefusedSaid = true;
      this.#authRefused = { error, until: this.#clock.now() + AUTH_REFUSED_HOLD_MS };
      return;
    }
    // One line when the gateway becomes unreachable; the logger's repeat summaries say the rest.
    if (!this.#unreachableSaid && !this.#closed) {
      this.#unreachableSaid = true;
      this.options.log.warn(
        `DALI Center gateway ${endpoint.serial} is unreachable at ${endpoint.host}:${endpoint.port}: ${error instanceof Error ? error.message : String(error)} (retrying with backoff)`,
      );
    }
    this.#startProbe(endpoint);
  }

  #dropLink(reason: string): void {
    const link = this.#link;
    if (!link) return;
    this.#link = undefined;
    link.close();
    this.#linkGone(reason);
  }

  /**
   * The gateway device hears why its link went (its own `lost`, with the reason), then every device of
   * the bus the bus-wide `lost`.
   */
  #linkGone(reason: string): void {
    const error = `DALI Center gateway ${this.#serial}: ${reason}`;
    for (const [deviceId, target] of this.#targets)
      if (target.role === 'gateway' && this.#connected.has(deviceId))
        this.#watchers.emit({ type: 'device', deviceId, event: { type: 'lost', error } });
    this.#watchers.emit({ type: 'lost', error });
  }

  #onLost(link: GatewayLink, reason: string): void {
    if (this.#link !== link || this.#closed) return;
    this.#link = undefined;
    this.options.log.warn(`lost the link to DALI Center gateway ${this.#serial}: ${reason}`);
    this.#linkGone(reason);
    if (this.#endpoint) this.#startProbe(this.#endpoint);
  }

  /** While the gateway is away: is its broker's port open again? Then the devices try at once. */
  #startProbe(endpoint: GatewayEndpoint): void {
    if (this.#stopProbe || this.#closed) return;
    let probing = false;
    this.#stopProbe = every(
      this.#clock,
      PROBE_INTERVAL_MS,
      () => {
        if (probing) return;
        probing = true;
        const socket = tcpConnect({ host: endpoint.host, port: endpoint.port });
        const done = (open: boolean) => {
          probing = false;
          socket.destroy();
          if (!open || !this.#stopProbe) return;
          this.#stopProbe();
          this.#stopProbe = undefined;
          this.#watchers.emit({ type: 'present' });
        };
        socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
        socket.once('connect', () => done(true));
        socket.once('error', () => done(false));
      },
      { unref: true },
    );
  }

  // ---- reports ----

  #onProblem(problem: DaliCenterProblem): void {
    // Logged once per kind and command: a gateway repeating garbage must not flood the log.
    const kind = `${problem.kind}:${problem.cmd ?? ''}`;
    if (this.#problemKinds.has(kind)) return;
    this.#problemKinds.add(kind);
    this.options.log.warn(
      `DALI Center gateway ${this.#serial}: ignored ${problem.kind} (${problem.detail}); further ones of this kind are not logged`,
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

  #lightCommand(args: JsonValue, capability: LightCapability = DALICENTER_LIGHT): LightCommand {
    const asked = lightSet(capability, args);
    const command: LightCommand = {};
    if (asked.color_temp !== undefined) command.kelvin = asked.color_temp;
    if (asked.color !== undefined) {
      if ('h' in asked.color)
        command.hsv = {
          hue: Math.round(asked.color.h) % 361,
          saturation: Math.round(asked.color.s * 10),
          value: 1000,
        };
      else {
        command.hsv = rgbToHsv(asked.color.r, asked.color.g, asked.color.b);
        command.white = asked.color.w;
      }
    }
    if (asked.state !== undefined) command.on = asked.state === 'ON';
    if (asked.brightness !== undefined) {
      if (asked.brightness === 0) command.on = false;
      else {
        command.brightness = toGatewayBrightness(asked.brightness, 255);
        command.on ??= true;
      }
    }
    if (Object.keys(command).length === 0)
      throw new Error('a light command needs "state", "brightness" or a colour');
    return command;
  }

  /** Writes, then publishes what the gateway reports the light is (its status push, else a read). */
  async #setLight(
    link: GatewayLink,
    target: LightTarget,
    args: JsonValue,
    signal: AbortSignal,
  ): Promise<JsonValue> {
    const { address } = target;
    const command = writeLight(address, this.#lightCommand(args, target.light));
    let msgId = '';
    const key = deviceKey(address);
    const answer = await link
      .waitFor(
        (message) =>
          (message.cmd === 'writeDevRes' && message.ack === false && (message.msgId ?? msgId) === msgId) ||
          ((message.cmd === 'devStatus' || message.cmd === 'readDevRes') &&
            deviceKey(message.device) === key),
        signal,
        CONFIRM_TIMEOUT_MS,
        `status of ${key}`,
        () => (msgId = link.send(command)),
      )
      .catch(() => undefined);
    if (answer?.cmd === 'writeDevRes')
      throw new Error(`gateway ${this.#serial} refused the command for ${key}`);
    if (answer === undefined) return this.#readLight(link, target, signal);
    return this.#lightState(address, target);
  }

  async #readLight(link: GatewayLink, target: LightTarget, signal: AbortSignal): Promise<JsonValue> {
    const { address } = target;
    const key = deviceKey(address);
    await link.waitFor(
      (message) => message.cmd === 'readDevRes' && deviceKey(message.device) === key,
      signal,
      REPLY_TIMEOUT_MS,
      `readDevRes of ${key}`,
      () => link.send(readDevices([address])),
    );
    return this.#lightState(address, target);
  }

  async #setGroup(
    link: GatewayLink,
    deviceId: string,
    target: { channel: number; groupId: number },
    args: JsonValue,
    signal: AbortSignal,
  ): Promise<JsonValue> {
    const properties = lightProperties(this.#lightCommand(args));
    const members = await this.#inventory.membersOf(target.channel, target.groupId, signal);
    const reported = new Set<string>();
    const keys = new Set(members.map(deviceKey));
    // The members' statuses say what the group is: listened for before the writes, as they follow at once.
    const statuses =
      keys.size === 0
        ? Promise.resolve()
        : link
            .waitFor(
              (message) => {
                if (message.cmd === 'devStatus' && keys.has(deviceKey(message.device)))
                  reported.add(deviceKey(message.device));
                return reported.size >= keys.size;
              },
              signal,
              CONFIRM_TIMEOUT_MS,
              `the statuses of group ${target.groupId}'s members`,
            )
            .then(
              () => undefined,
              () => undefined,
            );
    // One property per writeGroup, as the vendor SDK sends.
    for (const property of properties) {
      const reply = await link.request(writeGroup(target.channel, target.groupId, property), signal);
      if (reply.cmd === 'writeGroupRes' && reply.ack === false)
        throw new Error(`gateway ${this.#serial} refused the command for group ${target.groupId}`);
    }
    await statuses;
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
    if (members.length > 0) {
      const keys = new Set(members.map(deviceKey));
      const read = new Set<string>();
      await link.waitFor(
        (message) => {
          if (message.cmd === 'readDevRes' && keys.has(deviceKey(message.device)))
            read.add(deviceKey(message.device));
          return read.size >= keys.size;
        },
        signal,
        REPLY_TIMEOUT_MS,
        `the levels of group ${target.groupId}'s members`,
        () => link.send(readDevices(members)),
      );
    }
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
