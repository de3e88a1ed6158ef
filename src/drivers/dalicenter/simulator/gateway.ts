import type { GatewayClock } from '../../../machines/clock.js';
import {
  commandTopic,
  type DiscoveryAnnouncement,
  type GatewayCredentials,
  type JsonObject,
  parseRequest,
  type ReceivedRequest,
  reportTopic,
} from '../codec/index.js';
import {
  DEFAULT_REPLY_ROUTES,
  type DiscoveryEvent,
  type ReplyRoute,
  SimulatedDiscoveryServer,
} from './discoveryServer.js';
import { foundDevice, handleRequest, type HandlerContext } from './handlers.js';
import { type LineSpec, type SimDevice, VirtualLine } from './line.js';
import { SimulatedMqttServer } from './mqttServer.js';
import { GatewayPushes } from './pushes.js';
import { DEFAULT_SIMULATED_CREDENTIALS, DEFAULT_SIMULATED_SERIAL } from '../simulatedDefaults.js';

// A protocol-level Sunricher DALI Center gateway: the encrypted UDP discovery (credentials only while
// its button is pressed), its own MQTT broker with user name and password on the fixed topics, a
// virtual DALI line answering every command of the notes, and the faults its users met (reboot, address
// change, silent broker, connection reset, duplicate client id, changed credentials, garbage messages).
// Usable in process (tests, `transport: simulated`) and from `fieldbridge simulate dalicenter`.

const wallClock: GatewayClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

export interface SimulatedGatewayOptions {
  /** gwSn, 12 upper-case hex digits (the MAC); 6A242121110E by default (the HA core fixtures' serial). */
  serial?: string;
  name?: string;
  /** What the broker accepts and discovery reveals while the button is pressed. */
  credentials?: GatewayCredentials;
  /** Where the broker listens; 127.0.0.1 by default. */
  host?: string;
  /** 0 (default): a free port. */
  mqttPort?: number;
  /** gwIp in the announcement; `host` by default (127.0.0.1 when host is 0.0.0.0). */
  announceAddress?: string;
  /** The UDP discovery server; false: none. */
  discovery?:
    | false
    | {
        bindAddress?: string;
        port?: number;
        multicastInterface?: string;
        replyRoutes?: ReplyRoute[];
        replyPort?: number;
      };
  channels?: number[];
  /** isMqttTls as announced; by default whether `tlsCertificate` is given. */
  tls?: boolean;
  /** PEM certificate and key: the broker speaks TLS (mqtts) with them instead of plain MQTT. */
  tlsCertificate?: { cert: string | Buffer; key: string | Buffer };
  version?: { swVersion: string; fwVersion: string };
  line?: LineSpec;
  clock?: GatewayClock;
  searchChunkSize?: number;
  /** Between the messages of a bus scan. */
  scanStepMs?: number;
  /** How long restartGateway keeps the gateway down. */
  restartDownMs?: number;
  refusalCode?: 4 | 5;
  /** Notes §10.3's firmware quirk: members report dpid 20 false after a group on. */
  groupOnReportsPowerFalse?: boolean;
  /** Told each command and discovery request (the CLI's --verbose). */
  log?: (line: string) => void;
}

/** How long after acknowledging restartGateway the simulated gateway goes down. */
const RESTART_AFTER_MS = 100;
/** How long a mid-stream reset waits for the messages before it to be written out (wall clock: sockets). */
const RESET_FLUSH_MS = 50;

export class SimulatedDaliCenter {
  readonly serial: string;
  readonly line: VirtualLine;
  /** Every request received on the command topic, in order (what tests assert on). */
  readonly requests: ReceivedRequest[] = [];
  /** Every discovery datagram answered or ignored. */
  readonly discoveryLog: DiscoveryEvent[] = [];
  /** Pushes a test or the CLI triggers: panel keys, motion, illuminance, online, energy, light changes. */
  readonly push: GatewayPushes;
  private readonly options: SimulatedGatewayOptions;
  private readonly clock: GatewayClock;
  private readonly mqtt: SimulatedMqttServer;
  private readonly discovery: SimulatedDiscoveryServer | undefined;
  /**
   * What its button revealed when it was set up (its options): what a client paired with it logs in
   * with. changeCredentials (a reset by an installer) leaves it: such a client is refused then.
   */
  readonly pairingCredentials: Readonly<GatewayCredentials>;
  private credentials: GatewayCredentials;
  private buttonUntil = 0;
  private down = false;
  private started = false;
  private rebootTimer: unknown;
  private scanTimer: unknown;
  private upWaiters: (() => void)[] = [];
  private resetCountdown: number | undefined;
  private cutting = false;

  constructor(options: SimulatedGatewayOptions = {}) {
    this.options = options;
    this.serial = options.serial ?? DEFAULT_SIMULATED_SERIAL;
    this.clock = options.clock ?? wallClock;
    this.pairingCredentials = { ...(options.credentials ?? DEFAULT_SIMULATED_CREDENTIALS) };
    this.credentials = { ...this.pairingCredentials };
    this.line = new VirtualLine(options.line);
    this.mqtt = new SimulatedMqttServer({
      host: options.host ?? '127.0.0.1',
      port: options.mqttPort ?? 0,
      credentials: this.credentials,
      refusalCode: options.refusalCode ?? 4,
      ...(options.tlsCertificate !== undefined ? { tls: options.tlsCertificate } : {}),
      onPublish: (topic, payload, clientId) => this.onPublish(topic, payload, clientId),
    });
    const discovery = options.discovery;
    this.discovery =
      discovery === false
        ? undefined
        : new SimulatedDiscoveryServer({
            bindAddress: discovery?.bindAddress ?? '127.0.0.1',
            port: discovery?.port ?? 0,
            ...(discovery?.multicastInterface !== undefined
              ? { multicastInterface: discovery.multicastInterface }
              : {}),
            replyRoutes: discovery?.replyRoutes ?? [...DEFAULT_REPLY_ROUTES],
            replyPort: discovery?.replyPort ?? 50569,
            announcement: () => this.announcement(),
            onRequest: (event) => {
              this.discoveryLog.push(event);
              options.log?.(
                event.kind === 'answered'
                  ? `discovery from ${event.from}: answered ${event.word}${event.withCredentials ? ' with the credentials' : ''}`
                  : `discovery from ${event.from}: ignored (${event.reason})`,
              );
            },
          });
    this.push = new GatewayPushes(this.line, this.serial, (body) => this.send(body));
  }

  async start(): Promise<void> {
    await this.mqtt.start();
    await this.discovery?.start();
    this.started = true;
  }

  async stop(): Promise<void> {
    this.started = false;
    this.clock.clearTimeout(this.rebootTimer);
    this.clock.clearTimeout(this.scanTimer);
    await this.discovery?.stop();
    await this.mqtt.stop();
    this.wakeUpWaiters();
  }

  get mqttPort(): number {
    return this.mqtt.port ?? 0;
  }

  get mqttUrl(): string {
    const scheme = this.mqtt.tls ? 'mqtts' : 'mqtt';
    return `${scheme}://${this.mqtt.host === '0.0.0.0' ? '127.0.0.1' : this.mqtt.host}:${this.mqttPort}`;
  }

  get discoveryPort(): number | undefined {
    return this.discovery?.port;
  }

  get commandTopic(): string {
    return commandTopic(this.serial);
  }

  get reportTopic(): string {
    return reportTopic(this.serial);
  }

  get isDown(): boolean {
    return this.down;
  }

  /** Logged-in client ids. */
  clientIds(): string[] {
    return this.mqtt.clientIds();
  }

  /** How many logins its broker refused (wrong credentials). */
  get refusedLogins(): number {
    return this.mqtt.refusedLogins;
  }

  /** What discovery announces now; undefined while the gateway is down. */
  announcement(): DiscoveryAnnouncement | undefined {
    if (this.down || !this.started) return undefined;
    const host = this.mqtt.host;
    return {
      serial: this.serial,
      address: this.options.announceAddress ?? (host === '0.0.0.0' ? '127.0.0.1' : host),
      port: this.mqttPort,
      tls: this.options.tls ?? this.mqtt.tls,
      channels: this.options.channels ?? [0],
      name: this.options.name ?? `Dali Gateway ${this.serial}`,
      ...(this.buttonPressed ? { credentials: { ...this.credentials } } : {}),
    };
  }

  /** Presses the gateway's button: discovery replies carry the credentials for `durationMs`. */
  pressButton(durationMs = 30_000): void {
    this.buttonUntil = this.clock.now() + durationMs;
  }

  get buttonPressed(): boolean {
    return this.clock.now() < this.buttonUntil;
  }

  // ---- faults ----

  /** Reboots: the broker and discovery vanish at once and come back after `downMs`. Resolves once down. */
  async reboot(downMs: number): Promise<void> {
    if (this.down) return;
    this.down = true;
    this.stopScan();
    await this.mqtt.stop();
    this.rebootTimer = this.clock.setTimeout(() => {
      void this.mqtt
        .start()
        .then(() => {
          this.down = false;
          this.wakeUpWaiters();
        })
        .catch((error: unknown) => {
          // The port was taken meanwhile: the gateway stays down, and says why.
          this.options.log?.(`could not come back after the reboot: ${(error as Error).message}`);
          this.wakeUpWaiters();
        });
    }, downMs);
  }

  /** Resolves when the gateway is up (at once when it is). */
  whenUp(): Promise<void> {
    if (!this.down) return Promise.resolve();
    return new Promise((resolve) => this.upWaiters.push(resolve));
  }

  /** A new address (DHCP): the broker moves to `host`/`port` (0: a free port); discovery then announces it. */
  async changeAddress(where: { host?: string; port?: number }): Promise<number> {
    await this.mqtt.stop();
    const port = await this.mqtt.start({
      ...(where.host !== undefined ? { host: where.host } : {}),
      port: where.port ?? 0,
    });
    return port;
  }

  /** The broker keeps connections but reads and answers nothing (keepalive runs out), until called with false. */
  silence(silent = true): void {
    this.mqtt.setSilent(silent);
  }

  /** Resets every MQTT connection with a TCP RST; returns how many there were. */
  resetConnections(): number {
    return this.mqtt.resetConnections();
  }

  /**
   * Resets every connection mid-stream: after the gateway has sent `messages` more reports (a device
   * list cut between its chunks, a write acknowledged but its status never sent).
   */
  resetAfterReports(messages: number): void {
    this.resetCountdown = Math.max(1, Math.trunc(messages));
  }

  /** Drops one client, as the broker does when a second client logs in with the same id. */
  kickClient(clientId: string): boolean {
    return this.mqtt.kick(clientId);
  }

  /** The gateway was re-paired or reset: other credentials from now on; `kick` drops who is logged in. */
  changeCredentials(credentials: GatewayCredentials, kick = true): void {
    this.credentials = { ...credentials };
    this.mqtt.setCredentials(this.credentials);
    if (kick) for (const clientId of this.mqtt.clientIds()) this.mqtt.kick(clientId);
  }

  /** Publishes bytes that are not UTF-8 on the report topic (gateways have, SDK commit dbcfc0a). */
  injectInvalidUtf8(): Promise<boolean> {
    return this.mqtt.publish(
      this.reportTopic,
      Buffer.from([0x7b, 0x22, 0x63, 0x6d, 0x64, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]),
    );
  }

  /** Publishes a message with a cmd nobody knows. */
  injectUnknownMessage(cmd = 'firmwareDebugInfo'): Promise<boolean> {
    return this.mqtt.publish(
      this.reportTopic,
      JSON.stringify({ cmd, gwSn: this.serial, data: { level: 3 } }),
    );
  }

  /** Publishes anything on the report topic. */
  injectRaw(payload: Buffer | string): Promise<boolean> {
    return this.mqtt.publish(this.reportTopic, payload);
  }

  // ---- protocol ----

  private send(body: JsonObject): void {
    if (this.down || this.cutting) return;
    void this.mqtt.publish(this.reportTopic, JSON.stringify(body));
    if (this.resetCountdown === undefined || --this.resetCountdown > 0) return;
    this.resetCountdown = undefined;
    // Nothing more leaves; the reset comes once what did leave has reached the client's socket.
    this.cutting = true;
    setTimeout(() => {
      this.mqtt.resetConnections();
      this.cutting = false;
    }, RESET_FLUSH_MS);
  }

  private onPublish(topic: string, payload: Buffer, clientId: string): void {
    if (topic !== this.commandTopic || this.down) return;
    const request = parseRequest(payload);
    if (!request.ok) return this.options.log?.(`from ${clientId}: ignored (${request.problem.detail})`);
    this.options.log?.(
      `from ${clientId}: ${request.value.cmd}${request.value.msgId !== undefined ? ` (msgId ${request.value.msgId})` : ''}`,
    );
    if (request.value.gwSn !== undefined && request.value.gwSn !== this.serial) return;
    this.requests.push(request.value);
    handleRequest(this.handlerContext(), request.value);
  }

  private handlerContext(): HandlerContext {
    return {
      line: this.line,
      serial: this.serial,
      version: this.options.version ?? { swVersion: '3.72', fwVersion: '1.47' },
      searchChunkSize: Math.max(1, this.options.searchChunkSize ?? 4),
      groupOnReportsPowerFalse: this.options.groupOnReportsPowerFalse ?? false,
      send: (body) => this.send(body),
      // The acknowledgement leaves before the gateway goes down (a reboot is not instantaneous).
      restart: () => {
        this.rebootTimer = this.clock.setTimeout(
          () => void this.reboot(this.options.restartDownMs ?? 2_000),
          RESTART_AFTER_MS,
        );
      },
      startBusScan: (channels) => this.startScan(channels),
      stopBusScan: () => this.stopScan(),
    };
  }

  /** A bus scan: status 2 (scanning), then a batch (3) per step, then 1 (found) or 0 (nothing). */
  private startScan(channels: number[]): void {
    if (this.scanTimer !== undefined) return;
    const found: SimDevice[] = [...this.line.devices.values()].filter((device) =>
      channels.includes(device.channel),
    );
    const chunkSize = Math.max(1, this.options.searchChunkSize ?? 4);
    const stepMs = this.options.scanStepMs ?? 200;
    const scanMessage = (searchStatus: number, devices?: SimDevice[]) => ({
      cmd: 'searchDevRes',
      gwSn: this.serial,
      searchFlag: 'busDevice',
      searchStatus,
      ...(devices ? { data: devices.map((device) => foundDevice(this, device)) } : {}),
    });
    this.send(scanMessage(2));
    let next = 0;
    const step = () => {
      if (next < found.length) {
        this.send(scanMessage(3, found.slice(next, next + chunkSize)));
        next += chunkSize;
        this.scanTimer = this.clock.setTimeout(step, stepMs);
        return;
      }
      this.scanTimer = undefined;
      this.send(scanMessage(found.length > 0 ? 1 : 0, []));
    };
    this.scanTimer = this.clock.setTimeout(step, stepMs);
  }

  private stopScan(): void {
    this.clock.clearTimeout(this.scanTimer);
    this.scanTimer = undefined;
  }

  private wakeUpWaiters(): void {
    const waiters = this.upWaiters;
    this.upWaiters = [];
    for (const wake of waiters) wake();
  }
}
