import type { FieldbridgeConfig } from '../config/index.js';
import type { ScanOutcome, ScanRequest } from '../gateway/scans.js';
import { getLogger } from '../logging/index.js';
import type { GatewayNotice } from '../machines/notices.js';
import type { RootEvent } from '../machines/rootSupervisor.js';
import { EventStream } from './events.js';
import { healthReport } from './healthReport.js';
import { LiveModel } from './live.js';
import type { GatewayMetrics, QueueStats } from './metrics.js';
import { HttpServer, isLoopback } from './server.js';
import { type DeviceState, knownDevice, stateDocument, type TreeSource, treeView } from './state.js';
import { STATUS_PAGE } from './statusPage.js';

// The one entry point of the HTTP layer: the gateway calls startHttp once its supervision tree exists
// (before starting it), feeds every notice to `handle`, and calls `close` when it stops. A disabled
// server, or one whose port is taken, is not an error for the gateway: it keeps running without HTTP
// and says so in the log; `handle` still counts metrics either way.

export {
  GatewayMetrics,
  type DbusOutcome,
  type MetricSources,
  type PublishResult,
  type QueueStats,
} from './metrics.js';
export { isLoopback } from './server.js';
export type { TreeSource } from './state.js';

export type HttpConfig = FieldbridgeConfig['http'];

export interface HttpOptions {
  /** The `http` section: enabled, host, port (0: any free port), token. Read once at start. */
  http: HttpConfig;
  /** The bridge/health payload (`healthPayload(...)`, what the bridge publishes on bridge/health). */
  bridgeHealth: () => Record<string, unknown>;
  /** The running supervision tree: the root actor and `bindSupervisorTree(...).buses`. */
  tree: TreeSource;
  /** The outbox (`persistence.outbox`): queue depth and drops for /health, /metrics and the page. */
  queue: { stats(): QueueStats };
  /** Runs a bus scan (`(request) => scanner.scan(request, signal)`). */
  scan: (request: ScanRequest) => Promise<ScanOutcome>;
  /** Into the root supervisor (`root.send`): device restarts. */
  send: (event: RootEvent) => void;
  /** The gateway's metrics; startHttp attaches the queue, the device states and the MQTT link to it. */
  metrics: GatewayMetrics;
  /** The MQTT link (`mqtt.link`): its state for /health, /state and `fieldbridge_mqtt_connected`. */
  mqtt?: { readonly state: string };
  /** The effective config, shown in /state with its secrets masked. */
  config?: () => FieldbridgeConfig;
}

export interface HttpService {
  /** `http://host:port` while listening; null when disabled or the address could not be used. */
  readonly url: string | null;
  /** The port listened on (useful with `http.port: 0`), or null. */
  readonly port: number | null;
  /** Feed every GatewayNotice here (metrics and the status page). */
  handle(notice: GatewayNotice): void;
  /** Ends the event streams and stops listening; safe to call more than once. */
  close(): Promise<void>;
}

/** The state of every device of the tree, including restarting ones (for `fieldbridge_device_state`). */
function deviceStates(tree: TreeSource): { deviceId: string; status: DeviceState }[] {
  return treeView(tree).flatMap((bus) =>
    bus.devices.map((device) => ({ deviceId: device.deviceId, status: device.state })),
  );
}

export async function startHttp(options: HttpOptions): Promise<HttpService> {
  const log = getLogger('http');
  const { metrics, tree, mqtt } = options;
  const queue = () => options.queue.stats();
  metrics.attach({
    queue,
    devices: () => deviceStates(tree),
    ...(mqtt ? { mqttOnline: () => mqtt.state === 'online' } : {}),
  });
  const live = new LiveModel({ tree, bridgeHealth: options.bridgeHealth, queue });
  const handle = (notice: GatewayNotice) => {
    metrics.handle(notice);
    live.handle(notice);
  };
  const idle: HttpService = { url: null, port: null, handle, close: async () => {} };

  if (!options.http.enabled) {
    log.info('HTTP server disabled (http.enabled: false): no /health, /metrics or status page');
    return idle;
  }
  const events = new EventStream({ snapshot: () => JSON.stringify(live.snapshot()) });
  live.onChange(events.changed);
  const droppedAtStart = queue().dropped;
  const server = new HttpServer(
    { host: options.http.host, port: options.http.port, token: options.http.token },
    {
      health: () =>
        healthReport({
          bridge: options.bridgeHealth(),
          buses: treeView(tree),
          queue: queue(),
          droppedAtStart,
          mqttState: mqtt?.state ?? null,
        }),
      metrics: async () => ({ contentType: metrics.contentType, text: await metrics.text() }),
      state: () =>
        stateDocument({
          tree,
          now: Date.now(),
          ...(mqtt ? { mqttState: () => mqtt.state } : {}),
          ...(options.config ? { config: options.config } : {}),
        }),
      page: () => STATUS_PAGE,
      events: (response) => events.add(response),
      scan: options.scan,
      deviceBus: (deviceId) => knownDevice(tree, deviceId),
      send: options.send,
    },
    log,
  );
  let address;
  try {
    address = await server.listen();
  } catch (error) {
    events.close();
    const message = error instanceof Error ? error.message : String(error);
    log.error(`HTTP server not started: ${message}; the gateway keeps running without HTTP`);
    return idle;
  }
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}`;
  const { host, token } = options.http;
  const posts = isLoopback(host)
    ? 'POSTs open (loopback only)'
    : token === undefined
      ? 'POSTs refused: bound beyond loopback and no http.token set'
      : 'POSTs need the bearer token';
  log.info(`HTTP server listening on ${url} (status page /, /health, /metrics, /state; ${posts})`);
  let closing: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    handle,
    close: () => {
      closing ??= (async () => {
        events.close();
        await server.close();
      })();
      return closing;
    },
  };
}
