import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TransportCall, TransportCallMetric } from '../drivers/contract.js';
import type { GatewayNotice } from '../machines/notices.js';
import type { PublishOutcome } from '../mqtt/index.js';
import type { DeviceState } from './state.js';

// Prometheus metrics of the gateway. A registry of our own, not prom-client's global one, so two
// gateways in one process (the tests) never share counters. Counters are fed by notices (`handle`, the
// same sink the log and the bridge get) and by the parts that see what notices do not (the MQTT link:
// `recordPublish`, the bus runtimes through their OpenContext: `recordTransportCall`); gauges are read at scrape time from sources
// attached once the gateway runs (outbox, device states, MQTT link), so they are never stale.

/**
 * Every state a device can be in, so `fieldbridge_device_state` has a 0 series for the others: the
 * link states, plus `restarting` (its supervisor waits out the restart backoff) and `stopped`.
 */
export const DEVICE_STATES: readonly DeviceState[] = [
  'disconnected',
  'connecting',
  'connected.healthy',
  'connected.degraded',
  'reconnecting',
  'offline',
  'restarting',
  'stopped',
];

/**
 * How often the event-loop delay histogram samples the loop. prom-client's default (10 ms) wakes an
 * idle gateway a hundred times a second, most of its idle CPU (docs/BENCHMARKS.md); a stall worth
 * alerting on lasts far longer than 100 ms, so it is still seen.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

/** What a device failure is counted as in `fieldbridge_errors_total{type}`. */
export type ErrorType =
  'connect' | 'timeout' | 'link_lost' | 'degraded' | 'offline' | 'command' | 'recovery' | 'other';

/** How a publish ended, as the MQTT link tells it (waitingPublishes.ts). */
export type PublishResult = PublishOutcome;
const PUBLISH_RESULTS: readonly PublishResult[] = ['ok', 'error', 'timeout', 'offline'];

/** The part of the outbox statistics the gauges need. */
export interface QueueStats {
  depth: number;
  bytes: number;
  oldestAgeMs: number;
  dropped: number;
}

/** Read at every scrape; any of them may be left out (its gauges then stay empty). */
export interface MetricSources {
  queue?: () => QueueStats;
  /** The live state of every running device, from the supervision tree. */
  devices?: () => Iterable<{ deviceId: string; status: DeviceState }>;
  mqttOnline?: () => boolean;
}

// Reads take milliseconds (BLE, DALI) to seconds (M-Bus at 2400 baud, a multi-telegram heat meter).
const READ_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// Calls to the service behind a transport: sub-millisecond to a local daemon, seconds when it is busy
// or hung (timeouts).
const TRANSPORT_CALL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25];

export interface GatewayMetricsOptions {
  /** Process metrics (CPU, memory, event loop lag, handles); off only in tests that count series. */
  defaultMetrics?: boolean;
  /** The drivers whose transport calls have a series of their own (DriverModule.transportCallMetric), by driver. */
  transportCallMetrics?: Readonly<Record<string, TransportCallMetric>>;
}

/** The error a status notice reports, from the reason the connection machine gives (connectionModel.ts). */
export function errorTypeOf(notice: Extract<GatewayNotice, { type: 'device.status' }>): ErrorType | null {
  const reason = notice.reason;
  switch (notice.status) {
    case 'reconnecting':
      if (reason.startsWith('link lost')) return 'link_lost';
      if (reason.startsWith('connect timed out')) return 'timeout';
      if (reason.startsWith('connect failed')) return 'connect';
      return 'other';
    case 'offline':
      return 'offline';
    case 'connected.degraded':
      return 'degraded';
    default:
      return null;
  }
}

export class GatewayMetrics {
  /** The registry `/metrics` serves. */
  readonly registry = new Registry();
  #sources: MetricSources = {};
  /** Device states from notices, used while no live source is attached. */
  readonly #statuses = new Map<string, DeviceState>();

  readonly #reads = new Counter({
    name: 'fieldbridge_reads_total',
    help: 'Readings received from each device (polls and pushed data).',
    labelNames: ['device'] as const,
    registers: [this.registry],
  });
  readonly #readDuration = new Histogram({
    name: 'fieldbridge_read_duration_seconds',
    help: 'Time a device read took, from the start of the operation to its result.',
    labelNames: ['device'] as const,
    buckets: READ_BUCKETS,
    registers: [this.registry],
  });
  readonly #errors = new Counter({
    name: 'fieldbridge_errors_total',
    help: 'Device failures by kind: connect, timeout, link_lost, degraded, offline, command, recovery.',
    labelNames: ['device', 'type'] as const,
    registers: [this.registry],
  });
  readonly #publishes = new Counter({
    name: 'fieldbridge_mqtt_publish_total',
    help:
      'MQTT publishes by result: ok (acknowledged by the broker), timeout (no PUBACK in time), ' +
      'offline (the link was down), error (the client failed).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly #recoverySteps = new Counter({
    name: 'fieldbridge_recovery_steps_total',
    help: 'Recovery steps started for each device, by step.',
    labelNames: ['device', 'step'] as const,
    registers: [this.registry],
  });
  readonly #restarts = new Counter({
    name: 'fieldbridge_restarts_total',
    help: 'Actor restarts by a supervisor: a device id, a bus id, or mqtt.',
    labelNames: ['actor'] as const,
    registers: [this.registry],
  });
  readonly #transportCalls = new Histogram({
    name: 'fieldbridge_transport_call_duration_seconds',
    help: 'Latency of calls to the service behind a transport, by driver, operation and outcome.',
    labelNames: ['driver', 'operation', 'outcome'] as const,
    buckets: TRANSPORT_CALL_BUCKETS,
    registers: [this.registry],
  });
  /** The series of the drivers that have their own, by driver. */
  readonly #driverTransportCalls = new Map<string, Histogram<'operation' | 'outcome'>>();

  constructor(options: GatewayMetricsOptions = {}) {
    // Process metrics (CPU, memory, event loop lag, handles). Off only in tests that count series.
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({
        register: this.registry,
        eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
      });
    }
    for (const [driver, metric] of Object.entries(options.transportCallMetrics ?? {})) {
      this.#driverTransportCalls.set(
        driver,
        new Histogram({
          name: metric.name,
          help: metric.help,
          labelNames: ['operation', 'outcome'] as const,
          buckets: [...metric.buckets],
          registers: [this.registry],
        }),
      );
    }
    // Every result exists from the start, so `rate()` over them works before the first failure.
    for (const result of PUBLISH_RESULTS) this.#publishes.inc({ result }, 0);
    const sources = () => this.#sources;
    const statuses = this.#statuses;
    new Gauge({
      name: 'fieldbridge_mqtt_queue_size',
      help: 'Messages in the outbox waiting for the broker (including those in flight).',
      registers: [this.registry],
      collect() {
        const queue = sources().queue;
        if (queue) this.set(queue().depth);
      },
    });
    new Gauge({
      name: 'fieldbridge_mqtt_queue_bytes',
      help: 'Size of the messages in the outbox (topic plus payload).',
      registers: [this.registry],
      collect() {
        const queue = sources().queue;
        if (queue) this.set(queue().bytes);
      },
    });
    new Gauge({
      name: 'fieldbridge_mqtt_queue_oldest_age_seconds',
      help: 'Age of the oldest message in the outbox; 0 when it is empty.',
      registers: [this.registry],
      collect() {
        const queue = sources().queue;
        if (queue) this.set(queue().oldestAgeMs / 1000);
      },
    });
    new Counter({
      name: 'fieldbridge_queue_dropped_total',
      help: 'Messages dropped because the outbox was full (persisted across restarts).',
      registers: [this.registry],
      collect() {
        const queue = sources().queue;
        if (!queue) return;
        // The count lives in the database; the counter mirrors it rather than counting on its own.
        this.reset();
        this.inc(queue().dropped);
      },
    });
    new Gauge({
      name: 'fieldbridge_mqtt_connected',
      help: '1 while the MQTT link is online, else 0.',
      registers: [this.registry],
      collect() {
        const online = sources().mqttOnline;
        if (online) this.set(online() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'fieldbridge_device_state',
      help: 'Current state of each device: 1 for its state, 0 for the others.',
      labelNames: ['device', 'state'] as const,
      registers: [this.registry],
      collect() {
        // Rebuilt at each scrape, so a device removed by a config reload disappears.
        this.reset();
        const live = sources().devices;
        const current = live
          ? [...live()]
          : [...statuses].map(([deviceId, status]) => ({ deviceId, status }));
        for (const { deviceId, status } of current) {
          for (const state of DEVICE_STATES) this.set({ device: deviceId, state }, state === status ? 1 : 0);
        }
      },
    });
  }

  /** Where the gauges read from at scrape time (startHttp attaches the running gateway's). */
  attach(sources: MetricSources): void {
    this.#sources = { ...this.#sources, ...sources };
  }

  /** Counts what a notice says; cheap enough for the hot path (one Map lookup per counter). */
  readonly handle = (notice: GatewayNotice): void => {
    switch (notice.type) {
      case 'device.data': {
        this.#reads.inc({ device: notice.deviceId });
        // Pushed data (an advertisement) carries no duration: nothing was read.
        if (notice.durationMs !== undefined)
          this.#readDuration.observe({ device: notice.deviceId }, notice.durationMs / 1000);
        return;
      }
      case 'device.status': {
        this.#statuses.set(notice.deviceId, notice.status);
        const type = errorTypeOf(notice);
        if (type !== null) this.#errors.inc({ device: notice.deviceId, type });
        return;
      }
      case 'device.commandResult':
        if (!notice.result.ok) this.#errors.inc({ device: notice.deviceId, type: 'command' });
        return;
      case 'supervisor.recovery':
        if (notice.outcome === 'started')
          this.#recoverySteps.inc({ device: notice.deviceId, step: notice.step });
        else if (notice.outcome === 'failed') this.#errors.inc({ device: notice.deviceId, type: 'recovery' });
        return;
      case 'supervisor.restart':
        this.#restarts.inc({ actor: notice.actorId });
        return;
      case 'supervisor.child_stopped':
        this.#statuses.delete(notice.actorId);
        return;
      case 'supervisor.escalated':
        return;
    }
  };

  /** One publish (or `count` of them) answered by the broker or failed; the MQTT link tells each. */
  recordPublish(result: PublishResult, count = 1): void {
    this.#publishes.inc({ result }, count);
  }

  /**
   * One call a bus runtime made to the service behind its transport (a method of the daemon it talks
   * to): how long it took and how it ended, in its driver's series.
   */
  recordTransportCall({ driver, operation, seconds, outcome }: TransportCall): void {
    const own = this.#driverTransportCalls.get(driver);
    if (own) own.observe({ operation, outcome }, seconds);
    else this.#transportCalls.observe({ driver, operation, outcome }, seconds);
  }

  /** The Prometheus text exposition (format 0.0.4). */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
