import type { AnyActorRef } from 'xstate';
import type { FieldbridgeConfig } from '../config/index.js';
import {
  type GatewayAbout,
  GatewayMetrics,
  type HttpConfig,
  type HttpService,
  type PublishResult,
  type QueueStats,
  startHttp,
  type TreeSource,
} from '../http/index.js';
import { transportCallMetrics } from '../drivers/registry.js';
import { getLogger } from '../logging/index.js';
import type { GatewayNotice } from '../machines/notices.js';
import type { RootEvent } from '../machines/rootSupervisor.js';
import { SdNotify } from '../ops/sdNotify.js';
import { SystemdWatchdog } from '../ops/watchdog.js';
import { ConfigWatch } from './configWatch.js';
import type { RemoveOutcome } from './deviceRemoval.js';
import type { ScanOutcome, ScanRequest } from './scans.js';

// What an operator sees of a running gateway and what the service manager is told: the HTTP server
// (health, metrics, state, status page), systemd readiness, status and watchdog, and the config file
// watch. Started once the supervision tree exists; everything here is optional and never stops the
// gateway from running (a busy HTTP port, no systemd, no config file).

/** READY=1 waits for the broker at most this long: a broker down at boot must not make systemd kill us. */
const READY_AT_THE_LATEST_MS = 30_000;

export interface OperationsOptions {
  config: () => FieldbridgeConfig;
  /** The config file, or a label such as "(demo)" when there is none to watch. */
  configSource: string;
  reload: () => Promise<{ ok: boolean; error?: string }>;
  tree: TreeSource & { root: AnyActorRef };
  bridge: { healthPayload(): Record<string, unknown> };
  queue: { stats(): QueueStats };
  mqtt: {
    readonly state: string;
    onStateChange(listener: (state: string) => void): unknown;
    /** How each publish ended, for `fieldbridge_mqtt_publish_total`. */
    onPublishSettled?(listener: (result: PublishResult) => void): () => void;
  };
  scan: (request: ScanRequest) => Promise<ScanOutcome>;
  send: (event: RootEvent) => void;
  /** Forgets a device found by a scan (`POST /devices/<id>/remove`). */
  removeDevice?: (deviceId: string) => RemoveOutcome;
  /** The version and start time the status page shows. */
  about: GatewayAbout;
}

export class Operations {
  readonly metrics = new GatewayMetrics({ transportCallMetrics: transportCallMetrics() });
  readonly #notify = new SdNotify();
  readonly #log = getLogger('operations');
  #http: HttpService | undefined;
  #watchdog: SystemdWatchdog | undefined;
  #configWatch: ConfigWatch | undefined;
  #statusTimer: ReturnType<typeof setInterval> | undefined;
  #readyTimer: ReturnType<typeof setTimeout> | undefined;
  #ready = false;
  #stopPublishMetrics: () => void = () => undefined;
  /** When the health check last ran (the watchdog's proof that it still does). */
  #healthAt = Date.now();

  constructor(private readonly options: OperationsOptions) {}

  async start(): Promise<void> {
    const { options } = this;
    this.#stopPublishMetrics =
      options.mqtt.onPublishSettled?.((result) => this.metrics.recordPublish(result)) ?? (() => undefined);
    this.#http = await startHttp({
      http: options.config().http,
      bridgeHealth: () => this.#health(),
      tree: options.tree,
      queue: options.queue,
      scan: options.scan,
      send: options.send,
      ...(options.removeDevice ? { removeDevice: options.removeDevice } : {}),
      metrics: this.metrics,
      mqtt: options.mqtt,
      config: options.config,
      about: options.about,
    });
    if (!options.configSource.startsWith('(')) {
      this.#configWatch = new ConfigWatch({
        path: options.configSource,
        reload: options.reload,
        log: (level, message) => this.#log[level](message),
      });
      this.#configWatch.start();
    }
    if (!this.#notify.enabled) return;
    // READY=1 when the tree runs and the broker took the connection (or after a while without it).
    options.mqtt.onStateChange((state) => {
      if (state === 'online') void this.#sendReady('the MQTT link is online');
    });
    if (options.mqtt.state === 'online') void this.#sendReady('the MQTT link is online');
    this.#readyTimer = setTimeout(
      () => void this.#sendReady('the broker is not reachable yet'),
      READY_AT_THE_LATEST_MS,
    );
    this.#readyTimer.unref();
    const interval = options.config().health.interval_ms;
    this.#statusTimer = setInterval(() => void this.#notify.status(this.#statusLine()), interval);
    this.#statusTimer.unref();
    const watchdogMs = this.#notify.watchdogIntervalMs;
    if (watchdogMs !== undefined) {
      this.#watchdog = new SystemdWatchdog({
        notify: this.#notify,
        intervalMs: watchdogMs,
        log: (message) => this.#log.warn(message),
        probes: [
          {
            name: 'supervisor',
            check: () => {
              const status = options.tree.root.getSnapshot().status;
              return status === 'active' ? undefined : `the supervision tree is ${String(status)}`;
            },
          },
          {
            name: 'health check',
            check: () => {
              // Runs the health check itself: a throw or a hang here is what the watchdog is for.
              this.#health();
              const age = Date.now() - this.#healthAt;
              return age < 2 * watchdogMs ? undefined : `last ran ${Math.round(age / 1000)} s ago`;
            },
          },
        ],
      });
      this.#watchdog.start();
    }
  }

  #health(): Record<string, unknown> {
    const payload = this.options.bridge.healthPayload();
    this.#healthAt = Date.now();
    return payload;
  }

  #statusLine(): string {
    const health = this.#health();
    const issues = (health.health as { issues?: unknown } | undefined)?.issues;
    const text = Array.isArray(issues) ? issues.join('; ') : '';
    return `${String(health.status)}${text ? `: ${text}` : ''}`;
  }

  async #sendReady(why: string): Promise<void> {
    if (this.#ready) return;
    this.#ready = true;
    if (this.#readyTimer !== undefined) clearTimeout(this.#readyTimer);
    const problem = await this.#notify.ready(this.#statusLine());
    if (problem) this.#log.warn(`could not tell systemd we are ready: ${problem}`);
    else this.#log.info(`told systemd we are ready (${why})`);
  }

  /**
   * A reloaded `http` section: the HTTP server alone restarts on the new address and token. Resolves
   * with where it listens now, or null.
   */
  async rebind(http: HttpConfig): Promise<string | null> {
    return (await this.#http?.rebind(http)) ?? null;
  }

  /** Every GatewayNotice (metrics and the status page). */
  readonly handle = (notice: GatewayNotice): void => {
    this.#http?.handle(notice);
  };

  /** At shutdown, first: systemd hears STOPPING=1 at once, the HTTP server and the watch stop. */
  async stop(): Promise<void> {
    if (this.#readyTimer !== undefined) clearTimeout(this.#readyTimer);
    if (this.#statusTimer !== undefined) clearInterval(this.#statusTimer);
    this.#watchdog?.stop();
    this.#configWatch?.stop();
    this.#stopPublishMetrics();
    await this.#notify.stopping();
    await this.#http?.close();
  }
}
