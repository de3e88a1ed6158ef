import { randomUUID } from 'node:crypto';
import type { JsonValue } from '../actors/driver.js';
import type { DeviceConfig, FieldbridgeConfig } from '../config/index.js';
import { getLogger } from '../logging/index.js';
import type { GatewayNotice } from '../machines/notices.js';
import type { RootEvent } from '../machines/rootSupervisor.js';
import type { OutboxKind, Persistence } from '../persistence/index.js';
import { bridgeInfo, deviceList } from './bridgeInfo.js';
import { checkDeviceCommand } from './deviceCommands.js';
import { DiscoveryPublisher } from './discoveryPublisher.js';
import { OutboxDrainer, type PublishLink } from './drainer.js';
import { type DeviceHealth, bridgeStatus, freshHealth, type HealthInput, healthPayload } from './health.js';
import { type RequestContext, RequestHandler } from './requestHandler.js';
import { type Transaction, errorResponse, okResponse } from './requests.js';
import { ReadingWriter } from './readingWriter.js';
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
  now?: () => number;
}

interface PendingCommand {
  deviceId: string;
  args: JsonValue;
  transaction?: Transaction;
}

const AVAILABLE = new Set(['connected.healthy', 'connected.degraded']);
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
  readonly #restorer: StateRestorer;
  readonly #commands = new Map<string, PendingCommand>();
  readonly #discovery: DiscoveryPublisher;
  readonly #logger = getLogger('bridge');
  readonly #startedAt: number;
  #lastMqttAt: number | null = null;
  #catchingUp = false;
  #lastStatus: string | undefined;
  #timers: NodeJS.Timeout[] = [];

  constructor(options: BridgeOptions) {
    this.#config = options.config;
    this.#version = options.version;
    this.#persistence = options.persistence;
    this.#link = options.link;
    this.#send = options.send;
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
    this.topics = new Topics(
      options.config.mqtt.base_topic,
      options.config.homeassistant.discovery_prefix,
      options.config.homeassistant.status_topic,
    );
    this.#readings = new ReadingWriter(options.persistence, this.topics, () => this.#drainer.kick());
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
      options.config.queue.inflight,
    );
    this.#requests = new RequestHandler({
      devices: this.#devices,
      reloadConfig:
        options.reloadConfig ??
        (async () => ({ ok: false, error: 'this gateway has no config file to reload' })),
      send: this.#send,
      scan: options.scan ?? (async () => ({ ok: false, error: 'this gateway cannot scan buses' })),
      queueStats: () => this.#persistence.outbox.stats(),
      health: () => this.healthPayload(),
    });
    for (const device of options.config.devices) {
      if (!device.enabled) continue;
      this.#devices.set(device.id, device);
      this.#health.set(device.id, freshHealth(device));
    }
  }

  /** Publishes what Home Assistant should know at once, subscribes, and starts the periodic work. */
  start(): void {
    this.#persistence.transaction(() => {
      for (const stored of this.#persistence.states.all()) {
        if (!this.#devices.has(stored.deviceId)) continue;
        // The last known state, marked stale until the device says something new.
        const state = { ...stored.state, stale: true, last_seen: new Date(stored.at).toISOString() };
        this.#readings.states.set(stored.deviceId, stored.state);
        this.#enqueue(this.topics.device(stored.deviceId), state, 'state', true);
      }
      this.#enqueue(
        this.topics.bridgeInfo,
        bridgeInfo(this.#config, this.#devices.values(), this.#version),
        'state',
        true,
      );
      this.#enqueue(this.topics.bridgeDevices, deviceList(this.#devices.values()), 'state', true);
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
    this.#link.onStateChange((online) => this.#linkChanged(online));
    if (this.#link.online) this.#linkChanged(true);
    this.#timers = [
      setInterval(() => this.#publishHealth(), this.#config.health.interval_ms),
      setInterval(() => this.#refreshStates(), this.#config.health.state_refresh_ms),
    ];
    this.#publishHealth();
  }

  /** A reloaded config (only devices, supervision and logging differ): new devices, same topics. */
  reconfigure(config: FieldbridgeConfig): void {
    this.#config = config;
    const enabled = config.devices.filter((device) => device.enabled);
    for (const id of [...this.#devices.keys()]) {
      if (!enabled.some((device) => device.id === id)) {
        this.#devices.delete(id);
        this.#health.delete(id);
      }
    }
    for (const device of enabled) {
      this.#devices.set(device.id, device);
      if (!this.#health.has(device.id)) this.#health.set(device.id, freshHealth(device));
    }
    this.#persistence.transaction(() => {
      this.#enqueue(
        this.topics.bridgeInfo,
        bridgeInfo(config, this.#devices.values(), this.#version),
        'state',
        true,
      );
      this.#enqueue(this.topics.bridgeDevices, deviceList(this.#devices.values()), 'state', true);
    });
    this.#discovery.publishAll();
    this.#discovery.removeStale();
    this.#publishHealthIfChanged();
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
    for (const timer of this.#timers) clearTimeout(timer);
    this.#readings.flush();
    this.#drainer.stop();
  }

  /** The supervision tree's sink. */
  readonly handleNotice = (notice: GatewayNotice): void => {
    switch (notice.type) {
      case 'device.data':
        this.#readings.add(notice.deviceId, notice.result, notice.at);
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
    const wasAvailable = AVAILABLE.has(health.status);
    Object.assign(health, {
      status: notice.status,
      reason: notice.reason,
      consecutiveFailures: notice.consecutiveFailures,
      lastSuccessAt: notice.lastSuccessAt ?? health.lastSuccessAt,
    });
    const available = AVAILABLE.has(notice.status);
    const device = this.#devices.get(notice.deviceId);
    if (available && !wasAvailable && device) this.#restorer.restore(device, 'it is available again');
    if (available !== wasAvailable || notice.status === 'offline') {
      this.#persistence.transaction(() => {
        this.#enqueue(
          this.topics.availability(notice.deviceId),
          available ? 'online' : 'offline',
          'state',
          true,
        );
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
    this.#publishHealthIfChanged();
  }

  #event(type: string, data: Record<string, unknown>): void {
    this.#persistence.transaction(() => this.#enqueue(this.topics.bridgeEvent, { type, data }, 'event'));
    this.#publishHealthIfChanged();
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
      this.#logger.info(`${operation} for ${parsed.deviceId} refused: ${checked.error}`);
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
      this.#lastMqttAt = this.#now();
      this.#catchingUp = this.#persistence.outbox.stats().depth > 0;
      this.#discovery.publishAll();
      this.#timers.push(setTimeout(() => this.#discovery.removeStale(), STALE_DISCOVERY_DELAY_MS));
      this.#drainer.kick();
    } else {
      this.#drainer.linkLost();
    }
    this.#publishHealthIfChanged();
  }

  #refreshStates(): void {
    this.#persistence.transaction(() => {
      for (const [deviceId, state] of this.#readings.states) {
        const health = this.#health.get(deviceId);
        if (!health || !AVAILABLE.has(health.status)) continue;
        this.#enqueue(
          this.topics.device(deviceId),
          { ...state, last_seen: new Date(health.lastSuccessAt ?? this.#now()).toISOString() },
          'state',
          true,
        );
      }
    });
  }

  /** What bridge/health is computed from; the backlog of an outage counts until it has been sent. */
  #healthInput(): HealthInput {
    const queue = this.#persistence.outbox.stats();
    if (this.#catchingUp && queue.depth <= this.#drainer.inFlight) this.#catchingUp = false;
    return {
      now: this.#now(),
      startedAt: this.#startedAt,
      linkOnline: this.#link.online,
      lastMqttAt: this.#link.online ? this.#now() : this.#lastMqttAt,
      catchingUp: this.#catchingUp,
      devices: this.#health,
      queue,
    };
  }

  /** bridge/health as it would be published now (also GET /health). */
  healthPayload(): Record<string, unknown> {
    return healthPayload(this.#healthInput());
  }

  #publishHealth(): void {
    const payload = this.healthPayload();
    const statusChange = payload.status !== this.#lastStatus;
    this.#lastStatus = String(payload.status);
    this.#persistence.transaction(() =>
      this.#enqueue(this.topics.bridgeHealth, payload, statusChange ? 'event' : 'state', true),
    );
  }

  /** bridge/health goes out at once on any status change, not only on the interval. */
  #publishHealthIfChanged(): void {
    const status = bridgeStatus(this.#healthInput());
    if (status !== this.#lastStatus) this.#publishHealth();
  }
}
