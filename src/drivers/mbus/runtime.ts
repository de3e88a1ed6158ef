import type { BusCapabilities, BusEvent, BusRuntime, JsonValue } from '../contract.js';
import { BusLock } from '../shared/busLock.js';
import { BusWatchers } from '../../hosting/busWatchers.js';
import { describeTarget, MbusMaster, type MeterTarget } from './master.js';
import type { GatewayClock } from '../../machines/clock.js';
import { PortWatch } from './portWatch.js';
import { meterReading } from './readings.js';
import {
  type FoundMeter,
  type PrimaryRange,
  type ScanProgress,
  type ScanTurn,
  scanPrimary,
  scanSecondary,
} from './scan.js';
import { type ByteLink, openSerialLink, type SerialSettings } from './serialLink.js';
import { findConverter, rememberConverter } from './reenumerate.js';
import { openTcpLink } from './tcpLink.js';
import { isTcpPort } from './portConfig.js';
import { errorText } from '../../errorText.js';

// One M-Bus line: a serial port shared by the meters on it, one conversation at a time (BusLock). The
// port opens when the first meter connects and closes when the last one leaves. Each meter has a
// circuit breaker: after `breakerThreshold` failed reads in a row the runtime reports the meter's link
// lost, so its machine waits out its backoff (the breaker is open) and then connects, which is a single
// probe (half-open): a dead meter costs the bus one timeout per cool-down, never a stalled poll cycle.

export interface MbusMeterSpec {
  deviceId: string;
  target: MeterTarget;
}

export interface MbusBusOptions extends SerialSettings {
  meters: readonly MbusMeterSpec[];
  /** Failed reads in a row that open a meter's breaker. */
  breakerThreshold?: number;
  /** Opens the port; tests may put another ByteLink under the master. */
  openLink?: (settings: SerialSettings, signal: AbortSignal) => Promise<ByteLink>;
  /** How long a meter has to start answering; default scaled to the baud rate (replyTimeoutMs()). */
  replyTimeoutMs?: number | undefined;
  /** How often a lost port's path is checked for the converter coming back. */
  watchIntervalMs?: number;
  /** What that check is timed with (the gateway's clock; tests pass a SimulatedClock). */
  clock?: GatewayClock | undefined;
  /**
   * False when the link is no device node (the in-process simulator): its path is not watched, and
   * `reenumerate` opens it again instead of looking for a converter under another name.
   */
  deviceNode?: boolean;
  /**
   * A TCP converter from which nothing at all has come for this long while meters were being asked is
   * taken for a dead connection (half-open: the converter vanished without closing it), and the line is
   * reported lost so the ladder reconnects.
   */
  silentLinkMs?: number;
  log?: (message: string) => void;
}

export const DEFAULT_BREAKER_THRESHOLD = 5;
export const DEFAULT_SILENT_LINK_MS = 60_000;

interface Open {
  link: ByteLink;
  master: MbusMaster;
  openedAt: number;
}

export class MbusBusRuntime implements BusRuntime {
  /** A scan of this line takes turns with the meters' polls (drivers/mbus/lineScan.ts). */
  readonly capabilities: Partial<BusCapabilities> = { mbusLineScan: this };
  readonly #lock = new BusLock();
  readonly #meters = new Map<string, MeterTarget>();
  readonly #connected = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #watchers = new BusWatchers();
  readonly #watch: PortWatch;
  readonly #settings: SerialSettings;
  #open: Open | undefined;
  #closed = false;
  /** The port was lost and has not been seen back yet. */
  #waitingForReturn = false;

  constructor(
    readonly busId: string,
    private readonly options: MbusBusOptions,
  ) {
    this.#settings = { path: options.path, baud: options.baud };
    for (const meter of options.meters) this.#meters.set(meter.deviceId, meter.target);
    this.#watch = new PortWatch(
      options.watchIntervalMs ?? 100,
      () => {
        this.#waitingForReturn = false;
        this.#watchers.emit({ type: 'present' });
      },
      options.clock,
    );
  }

  /** The port in use (it changes when `reenumerate` finds the converter under another name). */
  get path(): string {
    return this.#settings.path;
  }

  async connect(deviceId: string, signal: AbortSignal): Promise<void> {
    const target = this.#target(deviceId);
    await this.#lock.run(`connect ${deviceId}`, signal, async () => {
      const { master } = await this.#ensureOpen(signal);
      // The half-open probe: one exchange, so a dead meter costs the bus one timeout per cool-down.
      const answer =
        'primary' in target
          ? await master.ping(target.primary, signal, 2)
          : await master.select(target.secondary, signal, 2);
      if (answer !== 'ack') {
        // Nothing at all from a TCP converter for long: its connection, not the meter, is dead.
        if (answer === 'none') this.#checkSilentLink();
        throw new Error(
          answer === 'collision'
            ? `more than one meter answers at ${describeTarget(target)}`
            : `no meter answers at ${describeTarget(target)}`,
        );
      }
    });
    this.#connected.add(deviceId);
    this.#failures.set(deviceId, 0);
  }

  async disconnect(deviceId: string): Promise<void> {
    this.#connected.delete(deviceId);
    if (this.#connected.size > 0 || !this.#open) return;
    await this.#lock.run('close the idle port', undefined, () => this.#closeLink());
  }

  async execute(
    deviceId: string,
    operation: string,
    _args: JsonValue,
    signal: AbortSignal,
  ): Promise<JsonValue> {
    const target = this.#target(deviceId);
    if (operation !== 'poll' && operation !== 'get') {
      throw new Error(`M-Bus meters support reading only ("poll" or "get"), not "${operation}"`);
    }
    try {
      const readout = await this.#lock.run(`read ${deviceId}`, signal, async () => {
        const open = this.#open;
        if (!open) throw new Error(`${this.#settings.path} is not open`);
        return open.master.read(target, signal);
      });
      this.#failures.set(deviceId, 0);
      return meterReading(readout);
    } catch (error) {
      if (!signal.aborted) {
        this.#checkSilentLink();
        this.#countFailure(deviceId, errorText(error));
      }
      throw error;
    }
  }

  /** On a TCP line: nothing heard for `silentLinkMs` is a dead connection, not a bus of dead meters. */
  #checkSilentLink(): void {
    const open = this.#open;
    if (open === undefined || !isTcpPort(this.#settings.path)) return;
    const limit = this.options.silentLinkMs ?? DEFAULT_SILENT_LINK_MS;
    const silentMs = Date.now() - Math.max(open.openedAt, open.master.lastHeardAt);
    if (silentMs < limit) return;
    this.#lost(
      open,
      `nothing heard from the converter for ${Math.round(silentMs / 1000)} s: the connection is half-open or the converter hangs`,
    );
  }

  #countFailure(deviceId: string, message: string): void {
    const failures = (this.#failures.get(deviceId) ?? 0) + 1;
    const threshold = this.options.breakerThreshold ?? DEFAULT_BREAKER_THRESHOLD;
    if (failures < threshold) {
      this.#failures.set(deviceId, failures);
      return;
    }
    this.#failures.set(deviceId, 0);
    this.#connected.delete(deviceId);
    this.#watchers.emit({
      type: 'device',
      deviceId,
      event: {
        type: 'lost',
        error: `circuit breaker open after ${failures} failed reads (last: ${message})`,
      },
    });
  }

  watchBus(onEvent: (event: BusEvent) => void): () => void {
    return this.#watchers.add(onEvent);
  }

  async runRecoveryStep(step: string, deviceId: string, signal: AbortSignal): Promise<void> {
    this.#target(deviceId);
    switch (step) {
      case 'reopen':
      case 'reconnect':
        await this.#lock.run('reopen', signal, async () => {
          // Every meter on the line climbs its own ladder; while other meters are being read the
          // port is fine, and closing it under them would only spread the outage.
          if (this.#open && this.#connected.size > 0) return;
          await this.#closeLink();
          await this.#ensureOpen(signal);
        });
        return;
      case 'reenumerate':
        await this.#lock.run('reenumerate', signal, async () => {
          const path = this.#hasDeviceNode()
            ? await findConverter(this.options.path, this.#settings.path, signal)
            : this.#settings.path;
          if (path !== this.#settings.path)
            this.options.log?.(`the converter is now at ${path} (was ${this.#settings.path})`);
          await this.#closeLink();
          this.#settings.path = path;
          await this.#ensureOpen(signal);
        });
        return;
      default:
        throw new Error(`M-Bus has no recovery step "${step}"`);
    }
  }

  /**
   * Scans the bus (primary range or secondary tree). The scan takes the line one step at a time (a
   * probe, and the read of what answered), so the meters already known keep being polled in between.
   */
  async scan(
    mode: { kind: 'primary'; range: PrimaryRange } | { kind: 'secondary' },
    signal: AbortSignal,
    progress?: ScanProgress,
  ): Promise<FoundMeter[]> {
    const what = `scan (${mode.kind})`;
    const { master } = await this.#lock.run(what, signal, () => this.#ensureOpen(signal));
    const turn: ScanTurn = (work) =>
      this.#lock.run(what, signal, async () => {
        // The port went away (or was reopened) since the scan started: this scan's master is gone.
        if (this.#open?.master !== master)
          throw new Error(`${this.#settings.path} was closed during the scan`);
        return work();
      });
    try {
      return mode.kind === 'primary'
        ? await scanPrimary(master, mode.range, signal, progress, turn)
        : await scanSecondary(master, signal, progress, turn);
    } finally {
      await this.#lock.run('close the idle port', undefined, async () => {
        if (this.#connected.size === 0) await this.#closeLink();
      });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#watch.stop();
    this.#connected.clear();
    this.#watchers.clear();
    await this.#closeLink();
  }

  #target(deviceId: string): MeterTarget {
    const target = this.#meters.get(deviceId);
    if (!target) throw new Error(`no meter "${deviceId}" on ${this.busId}`);
    return target;
  }

  /** Whether the line is a serial port's device node (not a TCP converter, not the in-process simulator). */
  #hasDeviceNode(): boolean {
    return this.options.deviceNode !== false && !isTcpPort(this.#settings.path);
  }

  /** Call with the lock held. */
  async #ensureOpen(signal: AbortSignal): Promise<Open> {
    if (this.#open) return this.#open;
    if (this.#closed) throw new Error(`${this.busId} is closed`);
    const tcp = isTcpPort(this.#settings.path);
    const open = this.options.openLink ?? (tcp ? openTcpLink : openSerialLink);
    const link = await open({ ...this.#settings }, signal);
    const master = new MbusMaster(link, this.#settings.baud, { replyTimeoutMs: this.options.replyTimeoutMs });
    const current: Open = { link, master, openedAt: Date.now() };
    link.onLost((reason) => this.#lost(current, reason));
    this.#open = current;
    // A TCP converter or the in-process simulator has no device node to watch or find again: its
    // connection tells when it is gone.
    if (this.#hasDeviceNode()) {
      rememberConverter(this.options.path, this.#settings.path);
      this.#watch.whileOpen(this.#settings.path, () => this.#lost(current, 'the port disappeared'));
    }
    if (this.#waitingForReturn) {
      // Opened again by one meter's connect or recovery step before the watch saw the port return:
      // the other meters are still waiting out their backoff and can come back now.
      this.#waitingForReturn = false;
      this.#watchers.emit({ type: 'present' });
    }
    return current;
  }

  #lost(which: Open, reason: string): void {
    if (this.#open !== which) return;
    this.#open = undefined;
    void which.link.close();
    this.#connected.clear();
    this.#watchers.emit({ type: 'lost', error: `${this.#settings.path}: ${reason}` });
    this.#waitingForReturn = true;
    if (!this.#closed && !isTcpPort(this.#settings.path))
      this.#watch.start(this.#settings.path, this.options.path);
  }

  /** Call with the lock held. */
  async #closeLink(): Promise<void> {
    const open = this.#open;
    this.#open = undefined;
    this.#watch.stop();
    await open?.link.close();
  }
}
