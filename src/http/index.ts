import type { FieldbridgeConfig } from '../config/index.js';
import type { RemoveOutcome } from '../gateway/deviceRemoval.js';
import type { ScanOutcome, ScanRequest } from '../gateway/scans.js';
import { getLogger } from '../logging/index.js';
import type { GatewayNotice } from '../machines/notices.js';
import type { RootEvent } from '../machines/rootSupervisor.js';
import { EventStream } from './events.js';
import { healthReport } from './healthReport.js';
import { type GatewayAbout, LiveModel } from './live.js';
import type { GatewayMetrics, QueueStats } from './metrics.js';
import { HttpServer, type RouteContext } from './server.js';
import { type DeviceState, knownDevice, stateDocument, type TreeSource, treeView } from './state.js';
import { statusPage } from './statusPage.js';
import { errorText } from '../errorText.js';

// The one entry point of the HTTP layer: the gateway calls startHttp once its supervision tree exists
// (before starting it), feeds every notice to `handle`, calls `rebind` when a config reload changes the
// `http` section, and `close` when it stops. A disabled server, or one whose port is taken, is not an
// error for the gateway: it keeps running without HTTP and says so in the log; `handle` still counts
// metrics either way.

export {
  GatewayMetrics,
  type GatewayMetricsOptions,
  type MetricSources,
  type PublishResult,
  type QueueStats,
} from './metrics.js';
export { isLoopback } from './access.js';
export type { GatewayAbout } from './live.js';
export type { TreeSource } from './state.js';

export type HttpConfig = FieldbridgeConfig['http'];

export interface HttpOptions {
  /** The `http` section: enabled, host, port (0: any free port), token. A reloaded one goes to `rebind`. */
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
  /** Forgets a device found by a scan (`POST /devices/<id>/remove`); without it the route answers 501. */
  removeDevice?: (deviceId: string) => RemoveOutcome;
  /** The gateway's metrics; startHttp attaches the queue, the device states and the MQTT link to it. */
  metrics: GatewayMetrics;
  /** The MQTT link (`mqtt.link`): its state for /health, /state and `fieldbridge_mqtt_connected`. */
  mqtt?: { readonly state: string };
  /** The effective config, shown in /state with its secrets masked. */
  config?: () => FieldbridgeConfig;
  /** The version and start time the status page shows. */
  about: GatewayAbout;
}

interface Listening {
  server: HttpServer;
  url: string;
  port: number;
}

export interface HttpService {
  /** `http://host:port` while listening; null when disabled or the address could not be used. */
  readonly url: string | null;
  /** The port listened on (useful with `http.port: 0`), or null. */
  readonly port: number | null;
  /** Feed every GatewayNotice here (metrics and the status page). */
  handle(notice: GatewayNotice): void;
  /**
   * A reloaded `http` section: stops listening and listens again on the new host, port and token (or
   * stays closed when disabled). Open connections and event streams are closed; the metrics and the
   * status page's model (its recent history) stay. Resolves with the new url, or null when it does not
   * listen (disabled, or the address could not be used: logged like at start).
   */
  rebind(http: HttpConfig): Promise<string | null>;
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
  const live = new LiveModel({ about: options.about, tree, bridgeHealth: options.bridgeHealth, queue });
  const handle = (notice: GatewayNotice) => {
    metrics.handle(notice);
    live.handle(notice);
  };
  // Created with the first listener and kept across rebinds (its pushes only run while pages are open).
  let events: EventStream | undefined;
  const droppedAtStart = queue().dropped;
  const routes = (stream: EventStream): RouteContext => ({
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
    // Rendered with the current snapshot, so the first paint shows the gateway before /events connects.
    page: (nonce) => statusPage(live.snapshot(), Date.now(), nonce),
    events: (response) => stream.add(response),
    scan: options.scan,
    deviceBus: (deviceId) => knownDevice(tree, deviceId),
    send: options.send,
    removeDevice: options.removeDevice,
  });

  /** Listens with `http`; a server that cannot is logged, and the gateway runs without HTTP. */
  const listen = async (http: HttpConfig): Promise<Listening | null> => {
    if (!http.enabled) {
      log.info('HTTP server disabled (http.enabled: false): no /health, /metrics or status page');
      return null;
    }
    if (events === undefined) {
      const stream = new EventStream({ snapshot: () => JSON.stringify(live.snapshot()) });
      live.onChange(stream.changed);
      events = stream;
    }
    const server = new HttpServer(
      { host: http.host, port: http.port, token: http.token },
      routes(events),
      log,
    );
    let address;
    try {
      address = await server.listen();
    } catch (error) {
      const message = errorText(error);
      log.error(`HTTP server not started: ${message}; the gateway keeps running without HTTP`);
      return null;
    }
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `http://${shownHost}:${address.port}`;
    const access =
      http.token !== undefined
        ? 'every route but /health needs http.token (bearer or /login)'
        : 'open to this machine only (loopback, no http.token)';
    log.info(`HTTP server listening on ${url} (status page /, /health, /metrics, /state; ${access})`);
    return { server, url, port: address.port };
  };

  let listening = await listen(options.http);
  let closing: Promise<void> | undefined;
  return {
    get url() {
      return listening?.url ?? null;
    },
    get port() {
      return listening?.port ?? null;
    },
    handle,
    rebind: async (http) => {
      if (closing) return null;
      const previous = listening;
      listening = null;
      // Closed first: the new address may be the same port on another host, or with another token.
      await previous?.server.close();
      listening = await listen(http);
      if (closing) {
        // The gateway stopped while this one was starting.
        await listening?.server.close();
        listening = null;
      }
      return listening?.url ?? null;
    },
    close: () => {
      closing ??= (async () => {
        events?.close();
        await listening?.server.close();
      })();
      return closing;
    },
  };
}
