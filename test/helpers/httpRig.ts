import { createActor } from 'xstate';
import { BusRegistry } from '../../src/hosting/busRegistry.js';
import { SimulatedBusRuntime } from '../../src/drivers/shared/simulatedRuntime.js';
import { bindSupervisorTree } from '../../src/hosting/supervisorActors.js';
import { type DeviceHealth, freshHealth, healthPayload } from '../../src/bridge/health.js';
import type { FieldbridgeConfig } from '../../src/config/index.js';
import type { RemoveOutcome } from '../../src/gateway/deviceRemoval.js';
import type { ScanOutcome, ScanRequest } from '../../src/gateway/scans.js';
import { transportCallMetrics } from '../../src/drivers/registry.js';
import { GatewayMetrics, type HttpConfig, type HttpService, startHttp } from '../../src/http/index.js';
import { systemClock } from '../../src/machines/clock.js';
import type { GatewayNotice } from '../../src/machines/notices.js';
import {
  DEFAULT_DEVICE_POLICY,
  DEFAULT_SUPERVISOR_POLICY,
  type DevicePolicy,
} from '../../src/machines/policy.js';
import type { RootEvent } from '../../src/machines/rootSupervisor.js';
import type { OutboxStats } from '../../src/persistence/index.js';
import { eventually } from './eventually.js';

// The HTTP layer on a real supervision tree of simulated devices in real time (the browser and the
// HTTP client need real time), with the bridge's health computed the way the Bridge computes it, from
// the same notices. Devices connect in ~5 ms and poll every 100 ms; an unplugged bus takes its
// devices offline within ~100 ms (one reconnect attempt), so every test stays well under a second.

export const FAST_POLICY: DevicePolicy = {
  ...DEFAULT_DEVICE_POLICY,
  pollIntervalMs: 100,
  reconnect: { initialMs: 30, factor: 2, maxMs: 60, jitter: 0, maxAttempts: 1 },
};

export interface RigOptions {
  buses: { busId: string; devices: string[] }[];
  http?: Partial<HttpConfig>;
  scan?: (request: ScanRequest) => Promise<ScanOutcome>;
  config?: () => FieldbridgeConfig;
  removeDevice?: (deviceId: string) => RemoveOutcome;
}

export interface HttpRig {
  http: HttpService;
  url: string;
  metrics: GatewayMetrics;
  notices: GatewayNotice[];
  sent: RootEvent[];
  runtime(busId: string): SimulatedBusRuntime;
  queue: OutboxStats;
  /** Whether the bridge's MQTT link counts as online. */
  setLinkOnline(online: boolean): void;
  waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000) {
  return eventually(check, { what, timeoutMs });
}

export async function startRig(options: RigOptions): Promise<HttpRig> {
  const registry = new BusRegistry();
  const runtimes = new Map<string, SimulatedBusRuntime>();
  const health = new Map<string, DeviceHealth>();
  for (const bus of options.buses) {
    const runtime = new SimulatedBusRuntime(bus.busId, systemClock);
    for (const id of bus.devices) {
      runtime.addDevice(id, { connectDelayMs: 5, operationDelayMs: 2 });
      health.set(id, freshHealth({ driver: 'simulated' }));
    }
    runtimes.set(bus.busId, runtime);
    registry.define(bus.busId, () => runtime);
  }
  const queue: OutboxStats = { depth: 3, bytes: 420, oldestAgeMs: 1_200, dropped: 0, published: 10 };
  let linkOnline = true;
  const startedAt = Date.now();
  const notices: GatewayNotice[] = [];
  const sent: RootEvent[] = [];
  // The HTTP layer exists only after the tree is bound (it reads the tree); notices flow once the root starts.
  let feedHttp: (notice: GatewayNotice) => void = () => {};
  // What the Bridge does with status notices for bridge/health (src/bridge/bridge.ts #status).
  const sink = (notice: GatewayNotice) => {
    notices.push(notice);
    if (notice.type === 'device.status') {
      const device = health.get(notice.deviceId);
      if (device) Object.assign(device, { status: notice.status, reason: notice.reason });
    }
    if (notice.type === 'device.data') {
      const device = health.get(notice.deviceId);
      if (device) device.lastSuccessAt = notice.at;
    }
    feedHttp(notice);
  };
  const tree = bindSupervisorTree({ registry, sink, clock: systemClock });
  const root = createActor(tree.logic, {
    clock: systemClock,
    input: {
      restartBackoff: { minMs: 20, maxMs: 100, resetAfterMs: 60_000 },
      buses: options.buses.map((bus) => ({
        busId: bus.busId,
        driver: 'simulated',
        recoverySteps: [{ name: 'reopen' }, { name: 'restart_actor' }],
        housekeepingMs: 100,
        policy: {
          ...DEFAULT_SUPERVISOR_POLICY,
          restartBackoff: { minMs: 20, maxMs: 100, resetAfterMs: 60_000 },
        },
        devices: bus.devices.map((deviceId) => ({
          deviceId,
          restart: 'permanent' as const,
          policy: FAST_POLICY,
        })),
      })),
    },
  });
  // As the gateway makes it: the drivers' own transport-call series included.
  const metrics = new GatewayMetrics({ transportCallMetrics: transportCallMetrics() });
  const http = await startHttp({
    http: { enabled: true, host: '127.0.0.1', port: 0, ...options.http },
    bridgeHealth: () =>
      healthPayload({
        now: Date.now(),
        startedAt,
        linkOnline,
        lastMqttAt: linkOnline ? Date.now() : startedAt,
        catchingUp: false,
        devices: health,
        queue,
      }),
    tree: { root, buses: tree.buses },
    queue: { stats: () => ({ ...queue }) },
    scan: options.scan ?? (async (request) => ({ ok: true, data: { driver: request.driver, found: [] } })),
    send: (event) => {
      sent.push(event);
      root.send(event);
    },
    metrics,
    mqtt: {
      get state() {
        return linkOnline ? 'online' : 'reconnecting';
      },
    },
    ...(options.config ? { config: options.config } : {}),
    ...(options.removeDevice ? { removeDevice: options.removeDevice } : {}),
    about: { version: '1.2.3-test', startedAt },
  });
  feedHttp = http.handle;
  root.start();
  const service = http;
  return {
    http: service,
    url: service.url ?? 'http://not-listening.invalid',
    metrics,
    notices,
    sent,
    runtime: (busId) => runtimes.get(busId) as SimulatedBusRuntime,
    queue,
    setLinkOnline: (online) => {
      linkOnline = online;
    },
    waitFor: (what, check, timeoutMs) => waitUntil(what, check, timeoutMs),
    stop: async () => {
      await service.close();
      root.stop();
      await registry.closeAll();
    },
  };
}

/** Every device of the rig is connected and healthy. */
export function allHealthy(rig: HttpRig, ids: readonly string[]): boolean {
  const latest = new Map<string, string>();
  for (const notice of rig.notices)
    if (notice.type === 'device.status') latest.set(notice.deviceId, notice.status);
  return ids.every((id) => latest.get(id) === 'connected.healthy');
}
