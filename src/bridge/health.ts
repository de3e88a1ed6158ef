import type { DeviceStatus } from '../machines/notices.js';
import type { OutboxStats } from '../persistence/index.js';

// bridge/health, computed from what the gateway knows. The field names are the ones users'
// automations already rely on: status, timestamp, health.{status, mqtt_ok, <driver>_ok,
// consecutive_failures, issues, time_since_mqtt, time_since_<driver>}, plus devices and queue.

export type BridgeStatus = 'starting' | 'online' | 'degraded' | 'offline' | 'reconnecting';

/** How long the gateway's start, and a device's first connect, may take before they count as down. */
export const START_GRACE_MS = 30_000;

export interface DeviceHealth {
  driver: string;
  status: DeviceStatus;
  reason: string;
  consecutiveFailures: number;
  lastSuccessAt: number | null;
  restarts: number;
  lastRecoveryStep: string | null;
  /** Until then, while on its first connect, the device is coming up, not down (see isComingUp). */
  comingUpUntil: number | null;
}

export interface HealthInput {
  now: number;
  startedAt: number;
  linkOnline: boolean;
  /** When the link was last online (now while it is). */
  lastMqttAt: number | null;
  /** The backlog of an outage is still being sent. */
  catchingUp: boolean;
  /** The gateway is still coming up: first connects of the link and the devices (see HealthReporter). */
  starting?: boolean;
  devices: ReadonlyMap<string, DeviceHealth>;
  queue: OutboxStats;
}

const seconds = (ms: number) => Math.round(ms / 1000);

function isDown(status: DeviceStatus): boolean {
  return status === 'offline' || status === 'reconnecting' || status === 'disconnected';
}

/** A device's health before it has said anything; coming up until `comingUpUntil` (none: not at all). */
export function freshHealth(device: { driver: string }, comingUpUntil: number | null = null): DeviceHealth {
  return {
    driver: device.driver,
    status: 'disconnected',
    reason: 'starting',
    consecutiveFailures: 0,
    lastSuccessAt: null,
    restarts: 0,
    lastRecoveryStep: null,
    comingUpUntil,
  };
}

/** The health of a device that starts now: coming up for START_GRACE_MS. */
export function comingUp(device: { driver: string }, now: number): DeviceHealth {
  return freshHealth(device, now + START_GRACE_MS);
}

/** Not connected yet, and not failed either: the states before a device's first connect ends. */
export function isFirstConnect(status: DeviceStatus): boolean {
  return status === 'disconnected' || status === 'connecting';
}

/**
 * A device on its first connect, within its grace: at a start or just added (a reload, a scan, a BLE
 * sensor heard), it is no outage, and the bridge's status does not flap to degraded or reconnecting
 * for it.
 */
export function isComingUp(device: DeviceHealth, now: number): boolean {
  return device.comingUpUntil !== null && now < device.comingUpUntil && isFirstConnect(device.status);
}

export function bridgeStatus(input: HealthInput): BridgeStatus {
  // Not yet connected is no outage: saying offline, then reconnecting, on every start would be a flap.
  if (input.starting) return 'starting';
  if (!input.linkOnline) return 'offline';
  const statuses = [...input.devices.values()]
    .filter((device) => !isComingUp(device, input.now))
    .map((device) => device.status);
  if (input.catchingUp || statuses.some((s) => s === 'reconnecting' || s === 'connecting'))
    return 'reconnecting';
  if (statuses.some((s) => s === 'offline' || s === 'connected.degraded' || s === 'disconnected'))
    return 'degraded';
  return 'online';
}

function issues(input: HealthInput): string[] {
  const found: string[] = [];
  if (input.starting) {
    const devices = [...input.devices.values()];
    const connected = devices.filter((device) => device.status.startsWith('connected')).length;
    found.push(`starting: ${connected} of ${devices.length} devices connected so far`);
  }
  if (!input.linkOnline) {
    const since = input.lastMqttAt === null ? 'start' : `${seconds(input.now - input.lastMqttAt)} s`;
    found.push(`MQTT broker unreachable for ${since}; messages are queued`);
  }
  if (input.catchingUp) found.push(`sending ${input.queue.depth} queued messages after an outage`);
  for (const [id, device] of input.devices) {
    if (device.status === 'offline') found.push(`${id} is offline: ${device.reason}`);
    else if (device.status === 'reconnecting') found.push(`${id} is reconnecting: ${device.reason}`);
    else if (device.status === 'connected.degraded') found.push(`${id} is degraded: ${device.reason}`);
  }
  if (input.queue.dropped > 0)
    found.push(`${input.queue.dropped} queued messages were dropped because the queue was full`);
  return found.length > 0 ? found : ['System operational'];
}

export function healthPayload(input: HealthInput): Record<string, unknown> {
  const status = bridgeStatus(input);
  const byDriver = new Map<string, DeviceHealth[]>();
  for (const device of input.devices.values())
    byDriver.set(device.driver, [...(byDriver.get(device.driver) ?? []), device]);
  const health: Record<string, unknown> = {
    status,
    mqtt_ok: input.linkOnline,
    consecutive_failures: Math.max(0, ...[...input.devices.values()].map((d) => d.consecutiveFailures)),
    issues: issues(input),
    time_since_mqtt: input.lastMqttAt === null ? null : seconds(input.now - input.lastMqttAt),
  };
  for (const [driver, devices] of byDriver) {
    health[`${driver}_ok`] = devices.every((d) => !isDown(d.status) && d.status !== 'connected.degraded');
    const lastSuccess = Math.max(...devices.map((d) => d.lastSuccessAt ?? Number.NEGATIVE_INFINITY));
    health[`time_since_${driver}`] = Number.isFinite(lastSuccess) ? seconds(input.now - lastSuccess) : null;
  }
  return {
    status,
    timestamp: new Date(input.now).toISOString(),
    uptime_s: seconds(input.now - input.startedAt),
    health,
    devices: Object.fromEntries(
      [...input.devices].map(([id, d]) => [
        id,
        {
          state: d.status,
          health:
            d.status === 'connected.healthy'
              ? 'healthy'
              : d.status === 'connected.degraded'
                ? 'degraded'
                : 'down',
          consecutive_failures: d.consecutiveFailures,
          restarts: d.restarts,
          last_recovery_step: d.lastRecoveryStep,
        },
      ]),
    ),
    queue: {
      depth: input.queue.depth,
      oldest_age_s: seconds(input.queue.oldestAgeMs),
      dropped: input.queue.dropped,
      published: input.queue.published,
    },
  };
}
