import { randomUUID } from 'node:crypto';
import type { JsonValue } from '../actors/driver.js';
import type { DeviceConfig, FieldbridgeConfig } from '../config/index.js';
import { BurstLog, getLogger } from '../logging/index.js';
import type { GatewayNotice } from '../machines/notices.js';
import type { RootEvent } from '../machines/rootSupervisor.js';
import type { OutboxKind, Persistence } from '../persistence/index.js';
import { bridgeInfo, deviceList } from './bridgeInfo.js';
import { checkDeviceCommand } from './deviceCommands.js';
import { DiscoveryPublisher } from './discoveryPublisher.js';
import { OutboxDrainer, type PublishLink } from './drainer.js';
import { comingUp, type DeviceHealth, isFirstConnect } from './health.js';
import { HealthReporter } from './healthReporter.js';
import { type RequestContext, RequestHandler } from './requestHandler.js';
import { type Transaction, errorResponse, okResponse } from './requests.js';
import { ReadingWriter } from './readingWriter.js';
import { isAvailable, RetainedDeviceTopics } from './retainedDeviceTopics.js';
import { StateRestorer } from './stateRestorer.js';
import { Topics } from './topics.js';

// The MQTT side of the gateway. Every message bound for the broker is written to the outbox (SQLite)
// in the same transaction as the state change that caused it, before any publish; the drainer sends
// it and deletes it on PUBACK. Incoming commands and requests are checked and handed to the actors.

export interface BridgeLink extends PublishLink {
  subscribe(filter: string, handler: (topic: string, payload: Buffer) => void): void;
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
  now?: () => number;
}

interface PendingCommand {
  deviceId: string;
  args: JsonValue;
  transaction?: Transaction;
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
  readonly #now: () => number;
  readonly #drainer: OutboxDrainer;
  readonly #requests: RequestHandler;
  readonly #devices = new Map<string, DeviceConfig>();
  readonly #health = new Map<string, DeviceHealth>();
  readonly #readings: ReadingWriter;
  readonly #retained: RetainedDeviceTopics;
  readonly #restorer: StateRestorer;
  readonly #commands = new Map<string, PendingCommand>();
  /** Devices forgotten in this run (removed, dropped from the config): what they still say is dropped. */
  readonly #gone = new Set<string>();
  readonly #discovery: DiscoveryPublisher;
  readonly #logger = getLogger('bridge');
  /** Commands refused before they reach a device: one line per interval in a flood, with the count. */
  readonly #refusals: BurstLog;
  readonly #healthReporter: HealthReporter;
  #timers: NodeJS.Timeout[] = [];
  #healthTimers: NodeJS.Timeout[] = [];

  constructor(options: BridgeOptions) {
    this.#config = options.config;
    this.#version = options.version;
    this.#persistence = options.persistence;
    this.#link = options.link;
    this.#send = options.send;
    this.#now = options.now ?? Date.now;
    this.#refusals = new BurstLog(this.#logger, { now: this.#now });
    this.topics = new Topics(
      options.config.mqtt.base_topic,
      options.config.homeassistant.discovery_prefix,
      options.config.homeassistant.status_topic,
    );
    this.#readings = new ReadingWriter(options.persistence, this.topics, () => this.#drainer.kick());
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
    );
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
    this.#requests = new RequestHandler({
      devices: this.#devices,
      reloadConfig:
        options.reloadConfig ??
        (async () => ({ ok: false, error: 'this gateway has no config file to reload' })),
      send: this.#send,
      scan: options.scan ?? (async () => ({ ok: false, error: 'this gateway cannot scan buses' })),
      ...(options.removeDevice ? { removeDevice: options.removeDevice } : {}),
      queueStats: () => this.#persistence.outbox.stats(),
      health: () => this.healthPayload(),
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
        this.#enqueue(
          this.topics.bridgeEvent,
          { type: 'database_recovered', data: this.#persistence.recovery },
          'event',
        );
      }
    });
    for (const filter of this.topics.subscriptions) {
      this.#link.subscribe(filter, (topic, payload) => {
        // A message must never take the gateway down, whatever it contains or whatever fails.
        try {
          this.#incoming(topic, payload);
        } catch (error) {
          this.#logger.error(`handling a message on ${topic} failed`, { error });
        }
      });
    }
    this.#link.subscribe(`${this.topics.discoveryPrefix}/+/+/+/config`, (topic, payload) =>
      this.#discovery.learn(topic, payload),
    );
    // Devices with a stored state that no longer exist (dropped from the config while the gateway was
    // stopped): their retained topics are emptied like those of a device dropped by a reload.
    const known = new Set(this.#config.devices.map((device) => device.id));
    const gone = this.#persistence.states.all().filter((stored) => !known.has(stored.deviceId));
    this.forgetDevices(
      gone.map((stored) => stored.deviceId),
      'no longer in the config',
    );
    this.#link.onStateChange((online) => this.#linkChanged(online));
    if (this.#link.online) this.#linkChanged(true);
    this.#startHealthTimers();
    this.#healthReporter.publish();
    // The count of a flood of refused commands is written even when the flood stops.
    this.#timers.push(setInterval(() => this.#refusals.flush(), this.#config.health.interval_ms));
    this.#timers.push(this.#healthReporter.watchStart());
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
    for (const timer of this.#healthTimers) clearInterval(timer);
    this.#healthTimers = [
      setInterval(() => this.#healthReporter.publish(), this.#config.health.interval_ms),
      setInterval(() => this.#retained.refreshStates(), this.#config.health.state_refresh_ms),
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
      this.#gone.delete(device.id);
      if (!this.#health.has(device.id)) this.#health.set(device.id, comingUp(device, this.#now()));
    }
    // Before the configs are published again: the tracker still knows what the dropped ones announced.
    this.forgetDevices(dropped, removedBecause);
    this.#publishBridgeTopics();
    this.#discovery.publishAll();
    this.#discovery.removeStale();
    this.#healthReporter.publishIfChanged();
  }

  /**
   * Devices that are gone (removed on request, dropped from the config; none of them running any more)
   * leave nothing behind on the broker: their retained state and availability and every Home Assistant
   * config they announced are emptied through the outbox (so a broker offline now gets them later), their
   * stored state and snapshot are deleted, and `device_removed` is published on bridge/event. Their
   * reading sequence numbers stay: a device added again under the same id never reuses a `seq`.
   */
  forgetDevices(deviceIds: readonly string[], reason: string): void {
    if (deviceIds.length === 0) return;
    // Readings still waiting for their commit are older than the removal: committed first, emptied after.
    this.#readings.flush();
    this.#persistence.transaction(() => {
      for (const deviceId of deviceIds) {
        this.#gone.add(deviceId);
        this.#readings.states.delete(deviceId);
        this.#retained.forget(deviceId);
        this.#persistence.snapshots.remove(deviceId);
        this.#enqueue(
          this.topics.bridgeEvent,
          { type: 'device_removed', data: { id: deviceId, reason } },
          'event',
        );
      }
      this.#discovery.removeDevices(deviceIds);
    });
    this.#logger.info(
      `forgot ${deviceIds.join(', ')} (${reason}): retained state, availability and discovery configs emptied`,
    );
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
    const until = Date.now() + deadlineMs;
    let left = this.#persistence.outbox.stats().depth;
    while (left > 0 && this.#link.online && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      left = this.#persistence.outbox.stats().depth;
    }
    return left;
  }

  stop(): void {
    for (const timer of [...this.#timers, ...this.#healthTimers]) clearTimeout(timer);
    this.#readings.flush();
    this.#drainer.stop();
  }

  /** The supervision tree's sink. */
  readonly handleNotice = (notice: GatewayNotice): void => {
    // The last words of a device being removed (its actor stopping) would announce it again.
    if ('deviceId' in notice && this.#gone.has(notice.deviceId)) return;
    switch (notice.type) {
      case 'device.data':
        this.#readings.add(notice.deviceId, notice.result, notice.at);
        this.#retained.reported(notice.deviceId);
        this.#markSuccess(notice.deviceId, notice.at);
        this.#discovery.deviceReported(notice.deviceId, notice.result);
        this.#restoreAfterPowerFailure(notice.deviceId, notice.result);
        return;
      case 'device.status':
        this.#status(notice);
        return;
      case 'device.commandResult': {
        const restored = this.#restorer.handleResult(notice);
        const pending = this.#commands.get(notice.commandId);
        this.#commands.delete(notice.commandId);
        const device = this.#devices.get(notice.deviceId);
        // Readings waiting for their group commit are older than this answer: committed first, so the
        // answer's state is merged last (see ReadingWriter.mergeState).
        this.#readings.flush();
        this.#persistence.transaction(() => {
          if (!restored) {
            const response = notice.result.ok
              ? okResponse(notice.result.result, pending?.transaction)
              : errorResponse(notice.result.error, pending?.transaction);
            this.#enqueue(this.topics.deviceResponse(notice.deviceId), response, 'event');
          }
          if (!notice.result.ok) return;
          if (!restored && pending && device && notice.operation === 'set') {
            this.#restorer.commanded(device, pending.args, notice.at);
          }
          // What the device answered (a lamp's confirmed level) is its state, not what was asked.
          const result = notice.result.result;
          if (result !== null && typeof result === 'object' && !Array.isArray(result)) {
            this.#readings.mergeState(notice.deviceId, result, notice.at);
            this.#retained.reported(notice.deviceId);
            this.#drainer.kick();
          }
        });
        return;
      }
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

  /** A device that lost power (a DALI lamp's status bit) gets its desired state back. */
  #restoreAfterPowerFailure(deviceId: string, result: JsonValue): void {
    const device = this.#devices.get(deviceId);
    if (!device || result === null || typeof result !== 'object' || Array.isArray(result)) return;
    if (result.power_failure === true) this.#restorer.restore(device, 'it reported a power failure');
  }

  #markSuccess(deviceId: string, at: number): void {
    const health = this.#health.get(deviceId);
    if (health) health.lastSuccessAt = at;
  }

  #status(notice: Extract<GatewayNotice, { type: 'device.status' }>): void {
    const health = this.#health.get(notice.deviceId);
    if (!health) return;
    const wasAvailable = isAvailable(health.status);
    Object.assign(health, {
      status: notice.status,
      reason: notice.reason,
      consecutiveFailures: notice.consecutiveFailures,
      lastSuccessAt: notice.lastSuccessAt ?? health.lastSuccessAt,
    });
    // Its first connect is over: from now on, disconnected or connecting is an outage.
    if (!isFirstConnect(notice.status)) health.comingUpUntil = null;
    const available = isAvailable(notice.status);
    const device = this.#devices.get(notice.deviceId);
    if (available && !wasAvailable && device) this.#restorer.restore(device, 'it is available again');
    if (available !== wasAvailable || notice.status === 'offline') {
      this.#persistence.transaction(() => {
        this.#retained.publishAvailability(notice.deviceId, available);
        this.#enqueue(
          this.topics.bridgeEvent,
          {
            type: available ? 'device_connected' : 'device_disconnected',
            data: { id: notice.deviceId, status: notice.status, reason: notice.reason },
          },
          'event',
        );
      });
    }
    this.#healthReporter.publishIfChanged();
  }

  #event(type: string, data: Record<string, unknown>): void {
    this.#persistence.transaction(() => this.#enqueue(this.topics.bridgeEvent, { type, data }, 'event'));
    this.#healthReporter.publishIfChanged();
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

  #incoming(topic: string, payload: Buffer): void {
    const parsed = this.topics.parse(topic);
    if (!parsed) return;
    if (parsed.kind === 'homeassistant_status') {
      if (payload.toString().trim() === 'online') this.#discovery.publishAll();
      return;
    }
    if (parsed.kind === 'request') {
      void this.#requests
        .handle(parsed.name, payload)
        .catch((error: unknown) => errorResponse(`request failed: ${String(error)}`))
        .then((response) =>
          this.#persistence.transaction(() =>
            this.#enqueue(this.topics.response(parsed.name), response, 'event'),
          ),
        )
        // Only reachable when the answer cannot be stored (the gateway is shutting down).
        .catch((error: unknown) => this.#logger.warn(`could not answer request ${parsed.name}`, { error }));
      return;
    }
    const operation = parsed.kind === 'device_set' ? 'set' : 'get';
    const checked = checkDeviceCommand(this.#devices, parsed.deviceId, operation, payload);
    if (!checked.ok) {
      this.#refusals.record(
        'invalid',
        `${operation} for ${parsed.deviceId} refused: ${checked.error}`,
        'commands refused as invalid',
      );
      const response = errorResponse(checked.error, checked.transaction);
      this.#persistence.transaction(() =>
        this.#enqueue(this.topics.deviceResponse(parsed.deviceId), response, 'event'),
      );
      return;
    }
    const { deviceId, args, transaction } = checked.value;
    const id = randomUUID();
    this.#commands.set(id, { deviceId, args, transaction });
    this.#send({ type: 'COMMAND', deviceId, id, operation, args });
  }

  #linkChanged(online: boolean): void {
    if (online) {
      this.#healthReporter.linkUp();
      // A broker without persistence lost every retained message; ours are announced again.
      this.#publishBridgeTopics();
      this.#discovery.publishAll();
      this.#retained.republishAll();
      this.#timers.push(setTimeout(() => this.#discovery.removeStale(), STALE_DISCOVERY_DELAY_MS));
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
