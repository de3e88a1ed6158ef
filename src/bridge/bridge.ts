import type { DeviceConfig, FieldbridgeConfig } from '../config/index.js';
import type { OpenContext } from '../drivers/contract.js';
import { GatewayOpenContext } from '../hosting/openContext.js';
import { getLogger } from '../logging/index.js';
import { every, type GatewayClock, sleep, systemClock } from '../machines/clock.js';
import type { GatewayNotice } from '../machines/notices.js';
import type { RootEvent } from '../machines/rootSupervisor.js';
import type { OutboxKind, Persistence } from '../persistence/index.js';
import { bridgeInfo, deviceList } from './bridgeInfo.js';
import { CommandRelay } from './commandRelay.js';
import { DiscoveryPublisher } from './discoveryPublisher.js';
import { OutboxDrainer, type PublishLink } from './drainer.js';
import { GoneDevices } from './goneDevices.js';
import { DeviceEvents } from './deviceEvents.js';
import { DeviceStatusTracker } from './deviceStatus.js';
import { comingUp, type DeviceHealth } from './health.js';
import { HealthReporter } from './healthReporter.js';
import { IncomingMessages, type SubscribeLink } from './incomingMessages.js';
import type { RequestContext } from './requestHandler.js';
import { ReadingWriter } from './readingWriter.js';
import { RetainedDeviceTopics } from './retainedDeviceTopics.js';
import { StateRestorer } from './stateRestorer.js';
import { Topics } from './topics.js';

// The MQTT side of the gateway. Every message bound for the broker is written to the outbox (SQLite)
// in the same transaction as the state change that caused it, before any publish; the drainer sends
// it and deletes it on PUBACK. Incoming commands and requests are checked and handed to the actors.

export interface BridgeLink extends PublishLink, SubscribeLink {
  onStateChange(listener: (online: boolean) => void): void;
}

export interface BridgeOptions {
  config: FieldbridgeConfig;
  version: string;
  persistence: Persistence;
  link: BridgeLink;
  /** Into the supervision tree. */
  send: (event: RootEvent) => void;
  /** Answers `config/reload` (src/gateway/reload.ts); without it the request is refused. */
  reloadConfig?: () => Promise<{ ok: true; data: unknown } | { ok: false; error: string }>;
  /** Answers `scan` (src/gateway/scans.ts); without it the request is refused. */
  scan?: RequestContext['scan'];
  /** Answers `device/remove` (src/gateway/deviceRemoval.ts); without it the request is refused. */
  removeDevice?: RequestContext['removeDevice'];
  /**
   * What the gateway's buses were opened with, for driver requests and simulation faults; without it
   * (a bridge with no buses) a context of its own, on which no bus was opened.
   */
  openContext?: OpenContext;
  /** Its timers (health, state refresh, the drain at stop) and its time; tests pass a SimulatedClock. */
  clock?: GatewayClock;
  /** The time, when it is not the clock's. */
  now?: () => number;
}

/** How long retained discovery configs get to arrive after connecting before stale ones are removed. */
const STALE_DISCOVERY_DELAY_MS = 2_000;

export class Bridge {
  readonly topics: Topics;
  #config: FieldbridgeConfig;
  readonly #version: string;
  readonly #persistence: Persistence;
  readonly #link: BridgeLink;
  readonly #send: (event: RootEvent) => void;
  readonly #clock: GatewayClock;
  readonly #now: () => number;
  readonly #drainer: OutboxDrainer;
  readonly #incoming: IncomingMessages;
  readonly #devices = new Map<string, DeviceConfig>();
  readonly #health = new Map<string, DeviceHealth>();
  readonly #readings: ReadingWriter;
  readonly #retained: RetainedDeviceTopics;
  readonly #restorer: StateRestorer;
  readonly #commands: CommandRelay;
  readonly #gone: GoneDevices;
  readonly #statuses: DeviceStatusTracker;
  readonly #discovery: DiscoveryPublisher;
  /** retire() was called: nothing is announced any more. */
  #retired = false;
  readonly #logger = getLogger('bridge');
  readonly #healthReporter: HealthReporter;
  /** Cancel the bridge's timers (see `every` in machines/clock.ts). */
  #timers: (() => void)[] = [];
  #healthTimers: (() => void)[] = [];

  constructor(options: BridgeOptions) {
    this.#config = options.config;
    this.#version = options.version;
    this.#persistence = options.persistence;
    this.#link = options.link;
    this.#send = options.send;
    const clock = options.clock ?? systemClock;
    this.#clock = clock;
    this.#now = options.now ?? (() => clock.now());
    this.topics = new Topics(
      options.config.mqtt.base_topic,
      options.config.homeassistant.discovery_prefix,
      options.config.homeassistant.status_topic,
    );
    this.#readings = new ReadingWriter(
      options.persistence,
      this.topics,
      () => this.#drainer.kick(),
      new DeviceEvents(this.topics, this.#devices),
    );
    this.#retained = new RetainedDeviceTopics({
      topics: this.topics,
      persistence: options.persistence,
      health: this.#health,
      states: this.#readings.states,
      publish: (topic, payload) => this.#enqueue(topic, payload, 'state', true),
      now: this.#now,
    });
    this.#discovery = new DiscoveryPublisher({
      topics: this.topics,
      version: options.version,
      config: () => this.#config,
      devices: this.#devices,
      states: this.#readings.states,
      publish: (messages) =>
        this.#persistence.transaction(() => {
          for (const message of messages) this.#enqueue(message.topic, message.payload, 'state', true);
        }),
      logger: this.#logger,
    });
    this.#restorer = new StateRestorer(
      options.persistence,
      (event) => this.#send(event),
      this.#logger,
      (type, data) => this.#event(type, data),
      (deviceId) => this.#commands.pendingSets(deviceId),
    );
    const publishEvent = (type: string, data: Record<string, unknown>) => this.#enqueueEvent(type, data);
    this.#gone = new GoneDevices({
      persistence: options.persistence,
      readings: this.#readings,
      retained: this.#retained,
      discovery: this.#discovery,
      publishEvent,
      logger: this.#logger,
    });
    this.#statuses = new DeviceStatusTracker({
      health: this.#health,
      devices: this.#devices,
      persistence: options.persistence,
      retained: this.#retained,
      restorer: this.#restorer,
      publishEvent,
      healthChanged: () => this.#healthReporter.publishIfChanged(),
    });
    this.#commands = new CommandRelay({
      devices: this.#devices,
      persistence: options.persistence,
      readings: this.#readings,
      retained: this.#retained,
      restorer: this.#restorer,
      send: this.#send,
      respond: (deviceId, response) => this.#enqueue(this.topics.deviceResponse(deviceId), response, 'event'),
      kick: () => this.#drainer.kick(),
      logger: this.#logger,
      now: this.#now,
    });
    this.#drainer = new OutboxDrainer(
      options.persistence.outbox,
      options.link,
      // Read live: a reloaded queue.inflight (reconfigure) applies to the next batch.
      () => this.#config.queue.inflight,
    );
    this.#healthReporter = new HealthReporter({
      outbox: options.persistence.outbox,
      link: options.link,
      inFlight: () => this.#drainer.inFlight,
      devices: this.#health,
      publish: (payload, statusChange) =>
        this.#persistence.transaction(() =>
          this.#enqueue(this.topics.bridgeHealth, payload, statusChange ? 'event' : 'state', true),
        ),
      now: this.#now,
    });
    this.#incoming = new IncomingMessages({
      topics: this.topics,
      persistence: options.persistence,
      requests: {
        devices: this.#devices,
        reloadConfig:
          options.reloadConfig ??
          (async () => ({ ok: false, error: 'this gateway has no config file to reload' })),
        send: this.#send,
        scan: options.scan ?? (async () => ({ ok: false, error: 'this gateway cannot scan buses' })),
        ...(options.removeDevice ? { removeDevice: options.removeDevice } : {}),
        openContext: options.openContext ?? new GatewayOpenContext(this.#clock),
        queueStats: () => this.#persistence.outbox.stats(),
        health: () => this.healthPayload(),
      },
      commands: this.#commands,
      discovery: this.#discovery,
      respond: (topic, response) => this.#enqueue(topic, response, 'event'),
      logger: this.#logger,
    });
    for (const device of options.config.devices) {
      if (!device.enabled) continue;
      this.#devices.set(device.id, device);
      this.#health.set(device.id, comingUp(device, this.#now()));
    }
  }

  /** Publishes what Home Assistant should know at once, subscribes, and starts the periodic work. */
  start(): void {
    this.#persistence.transaction(() => {
      // The last run's reports describe a run that is over: this run's first report goes out first.
      const stale = this.#persistence.outbox.discard(this.topics.bridgeHealth);
      if (stale > 0) this.#logger.info(`dropped ${stale} bridge/health reports the last run could not send`);
      this.#retained.restoreStates();
      this.#publishBridgeTopics();
      if (this.#persistence.recovery) {
        this.#enqueueEvent('database_recovered', this.#persistence.recovery);
      }
    });
    this.#incoming.subscribe(this.#link);
    this.#gone.forgetUnconfigured(this.#config.devices);
    this.#link.onStateChange((online) => this.#linkChanged(online));
    if (this.#link.online) this.#linkChanged(true);
    this.#startHealthTimers();
    this.#healthReporter.publish();
    // The count of a flood of refused commands is written even when the flood stops.
    this.#timers.push(
      every(this.#clock, this.#config.health.interval_ms, () => this.#commands.flushRefusals()),
    );
    this.#timers.push(this.#healthReporter.watchStart(this.#clock));
  }

  /** bridge/info and bridge/devices (retained): at start, on a reload, and again on every connect. */
  #publishBridgeTopics(): void {
    this.#persistence.transaction(() => {
      this.#enqueue(
        this.topics.bridgeInfo,
        bridgeInfo(this.#config, this.#devices.values(), this.#version),
        'state',
        true,
      );
      this.#enqueue(this.topics.bridgeDevices, deviceList(this.#devices.values()), 'state', true);
    });
  }

  /** The health report and the state refresh, at the config's pace (again after a reload). */
  #startHealthTimers(): void {
    for (const cancel of this.#healthTimers) cancel();
    this.#healthTimers = [
      every(this.#clock, this.#config.health.interval_ms, () => this.#healthReporter.publish()),
      every(this.#clock, this.#config.health.state_refresh_ms, () => this.#retained.refreshStates()),
    ];
  }

  /**
   * A reloaded config: new devices, same topics. Its queue window, Home Assistant and health settings
   * apply from here on (the discovery configs are sent again: their expire_after follows the state
   * refresh).
   */
  reconfigure(config: FieldbridgeConfig, removedBecause = 'dropped from the config'): void {
    const healthChanged = JSON.stringify(config.health) !== JSON.stringify(this.#config.health);
    this.#config = config;
    if (healthChanged) this.#startHealthTimers();
    const enabled = config.devices.filter((device) => device.enabled);
    const dropped = [...this.#devices.keys()].filter((id) => !enabled.some((device) => device.id === id));
    for (const id of dropped) {
      this.#devices.delete(id);
      this.#health.delete(id);
    }
    for (const device of enabled) {
      this.#devices.set(device.id, device);
      this.#gone.returned(device.id);
      if (!this.#health.has(device.id)) this.#health.set(device.id, comingUp(device, this.#now()));
    }
    // Before the configs are published again: the tracker still knows what the dropped ones announced.
    this.forgetDevices(dropped, removedBecause);
    this.#publishBridgeTopics();
    this.#discovery.publishAll();
    this.#discovery.removeStale();
    this.#healthReporter.publishIfChanged();
  }

  /** Devices that are gone (removed on request, dropped from the config) leave nothing behind (GoneDevices). */
  forgetDevices(deviceIds: readonly string[], reason: string): void {
    this.#gone.forget(deviceIds, reason);
  }

  /** Publishes `{"type","data"}` on bridge/event (for the gateway's parts outside the bridge). */
  publishEvent(type: string, data: Record<string, unknown>): void {
    this.#event(type, data);
  }

  /**
   * At shutdown: commits what is pending and gives the broker until `deadlineMs` to take the queue (it
   * stays in the outbox for the next start if it does not). Resolves with what is left.
   */
  async drain(deadlineMs: number): Promise<number> {
    this.#readings.flush();
    this.#drainer.kick();
    const until = this.#clock.now() + deadlineMs;
    let left = this.#persistence.outbox.stats().depth;
    while (left > 0 && this.#link.online && this.#clock.now() < until) {
      await sleep(this.#clock, 25);
      left = this.#persistence.outbox.stats().depth;
    }
    return left;
  }

  /**
   * Before a last drain, for a gateway that must leave the broker as it found it (the demo on a broker
   * it did not start): the periodic reports stop, every device is forgotten (retained state,
   * availability and discovery emptied), the bridge's own discovery configs and its retained info,
   * device list and health are emptied. Only the link's own `bridge/state` stays (it says offline).
   */
  retire(reason: string): void {
    this.#retired = true;
    this.#stopTimers();
    this.forgetDevices([...this.#devices.keys()], reason);
    this.#persistence.transaction(() => {
      this.#discovery.removeAll();
      for (const topic of [this.topics.bridgeInfo, this.topics.bridgeDevices, this.topics.bridgeHealth]) {
        this.#enqueue(topic, '', 'state', true);
      }
    });
  }

  stop(): void {
    this.#stopTimers();
    this.#readings.flush();
    this.#drainer.stop();
  }

  #stopTimers(): void {
    for (const cancel of [...this.#timers, ...this.#healthTimers]) cancel();
  }

  /** The supervision tree's sink. */
  readonly handleNotice = (notice: GatewayNotice): void => {
    // The last words of a device being removed (its actor stopping) would announce it again.
    if ('deviceId' in notice && this.#gone.has(notice.deviceId)) return;
    switch (notice.type) {
      case 'device.data':
        this.#readings.add(notice.deviceId, notice.result, notice.at);
        this.#retained.reported(notice.deviceId);
        this.#statuses.reported(notice.deviceId, notice.result, notice.at);
        this.#discovery.deviceReported(notice.deviceId, notice.result);
        return;
      case 'device.status':
        this.#statuses.statusChanged(notice);
        return;
      case 'device.commandResult':
        this.#commands.answered(notice);
        return;
      case 'supervisor.recovery':
        if (notice.outcome !== 'started') {
          const health = this.#health.get(notice.deviceId);
          if (health) health.lastRecoveryStep = notice.step;
        }
        this.#event('recovery', { ...notice });
        return;
      case 'supervisor.restart': {
        const health = this.#health.get(notice.actorId);
        if (health) health.restarts += 1;
        this.#event('restart', { ...notice });
        return;
      }
      case 'supervisor.escalated':
      case 'supervisor.child_stopped':
        this.#event(notice.type.replace('supervisor.', ''), { ...notice });
        return;
    }
  };

  #event(type: string, data: Record<string, unknown>): void {
    this.#persistence.transaction(() => this.#enqueueEvent(type, data));
    this.#healthReporter.publishIfChanged();
  }

  /** `{"type","data"}` on bridge/event, in the caller's transaction. */
  #enqueueEvent(type: string, data: unknown): void {
    this.#enqueue(this.topics.bridgeEvent, { type, data }, 'event');
  }

  #enqueue(topic: string, payload: unknown, kind: OutboxKind, retain = false): void {
    this.#persistence.outbox.enqueue({
      topic,
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      qos: 1,
      retain,
      kind,
    });
    this.#drainer.kick();
  }

  #linkChanged(online: boolean): void {
    if (online && this.#retired) {
      // Retired: only what is queued (the emptied topics) goes out; nothing is announced again.
      this.#drainer.kick();
      return;
    }
    if (online) {
      this.#healthReporter.linkUp();
      // A broker without persistence lost every retained message; ours are announced again.
      this.#publishBridgeTopics();
      this.#discovery.publishAll();
      this.#retained.republishAll();
      const removeStale = this.#clock.setTimeout(
        () => this.#discovery.removeStale(),
        STALE_DISCOVERY_DELAY_MS,
      );
      this.#timers.push(() => this.#clock.clearTimeout(removeStale));
      this.#drainer.kick();
    } else {
      this.#drainer.linkLost();
    }
    this.#healthReporter.publishIfChanged();
  }

  /** bridge/health as it would be published now (also GET /health). */
  healthPayload(): Record<string, unknown> {
    return this.#healthReporter.payload();
  }
}
