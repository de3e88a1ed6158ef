import type { QueueStats } from './metrics.js';
import type { BusView } from './state.js';

// GET /health: the bridge's own verdict (bridge/health: starting, online, degraded, offline, reconnecting)
// decides the HTTP status, 200 only when online, so a Docker HEALTHCHECK or a load balancer needs
// nothing but the status code. The body names every component and, for each one that is not healthy,
// why: the MQTT link, the outbox, each bus and each device.

/** Messages waiting longer than this make the outbox "not healthy" (the drain is stuck or slow). */
const OUTBOX_STALE_S = 60;

export interface HealthReportInput {
  /** The bridge/health payload (src/bridge/health.ts). */
  bridge: Record<string, unknown>;
  buses: readonly BusView[];
  queue: QueueStats | null;
  /** Messages dropped before this process started (the count is persisted). */
  droppedAtStart: number;
  /** The MQTT link's state when known (online, connecting, reconnecting, offline). */
  mqttState: string | null;
}

interface Component {
  healthy: boolean;
  reason?: string;
  [detail: string]: unknown;
}

function component(healthy: boolean, reason: string | null, details: Record<string, unknown>): Component {
  return reason === null || healthy ? { healthy, ...details } : { healthy, reason, ...details };
}

export function healthReport(input: HealthReportInput): { status: number; body: Record<string, unknown> } {
  const { bridge } = input;
  const status = typeof bridge.status === 'string' ? bridge.status : 'unknown';
  const details = (typeof bridge.health === 'object' && bridge.health !== null ? bridge.health : {}) as {
    mqtt_ok?: unknown;
    issues?: unknown;
    time_since_mqtt?: unknown;
  };
  const mqttOk = details.mqtt_ok === true;
  const sinceMqtt = typeof details.time_since_mqtt === 'number' ? details.time_since_mqtt : null;
  const mqtt = component(
    mqttOk,
    sinceMqtt === null
      ? 'the MQTT broker has not been reachable since start; messages are queued'
      : `the MQTT broker has been unreachable for ${sinceMqtt} s; messages are queued`,
    { state: input.mqttState ?? (mqttOk ? 'online' : 'offline') },
  );

  const queue = input.queue;
  let outbox: Component;
  if (!queue) outbox = { healthy: true };
  else {
    const oldestS = Math.round(queue.oldestAgeMs / 1000);
    const dropped = queue.dropped - input.droppedAtStart;
    const reason =
      dropped > 0
        ? `${dropped} messages were dropped since start because the queue was full`
        : oldestS > OUTBOX_STALE_S
          ? `${queue.depth} messages waiting, the oldest for ${oldestS} s`
          : null;
    outbox = component(reason === null, reason, {
      depth: queue.depth,
      bytes: queue.bytes,
      oldest_age_s: oldestS,
      dropped: queue.dropped,
    });
  }

  const buses: Record<string, Component> = {};
  const devices: Record<string, Component> = {};
  for (const bus of input.buses) {
    const down = bus.devices.filter(
      (d) => d.state !== 'connected.healthy' && d.state !== 'connected.degraded',
    );
    const allDown = bus.state === 'running' && bus.devices.length > 0 && down.length === bus.devices.length;
    const reason =
      bus.state === 'restarting'
        ? `the bus supervisor is restarting${bus.restartAt === null ? '' : ` at ${new Date(bus.restartAt).toISOString()}`}`
        : bus.state === 'starting'
          ? 'the bus is being opened'
          : bus.state === 'failed'
            ? `the bus failed: ${bus.failure ?? 'unknown reason'}`
            : bus.state === 'stopped'
              ? 'the bus supervisor is not running'
              : allDown
                ? `all ${bus.devices.length} devices of the bus are down (is the adapter or cable unplugged?)`
                : null;
    buses[bus.busId] = component(reason === null, reason, {
      driver: bus.driver,
      state: bus.state,
      devices: bus.devices.length,
      devices_down: down.length,
    });
    for (const device of bus.devices) {
      const healthy = device.state === 'connected.healthy';
      const why =
        device.lastError !== null && !device.reason.includes(device.lastError)
          ? `${device.reason} (last error: ${device.lastError})`
          : device.reason;
      devices[device.deviceId] = component(healthy, why, {
        bus: bus.busId,
        state: device.state,
        consecutive_failures: device.consecutiveFailures,
        restarts: device.restarts,
        last_success: device.lastSuccessAt === null ? null : new Date(device.lastSuccessAt).toISOString(),
      });
    }
  }

  const online = status === 'online';
  return {
    status: online ? 200 : 503,
    body: {
      status,
      healthy: online,
      timestamp: bridge.timestamp,
      uptime_s: bridge.uptime_s,
      issues: Array.isArray(details.issues) ? details.issues : [],
      components: { mqtt, outbox, buses, devices },
    },
  };
}
