import type { BusCapabilities, BusEvent, BusRuntime, JsonValue } from '../contract.js';
import { BusLock } from '../shared/busLock.js';
import { lightSet } from '../shared/capabilities.js';
import { BusWatchers } from '../../hosting/busWatchers.js';
import { every, type GatewayClock, systemClock } from '../../machines/clock.js';
import {
  anyLampFailure,
  isPresent,
  type LampInfo,
  type LightCommand,
  type LightTarget,
  applyLightCommand,
  readLampInfo,
  readLevel,
  readStatus,
} from './lamps.js';
import { BROADCAST, gearCommand } from './codec/index.js';
import { DALI_LIGHT } from './capabilities.js';
import { DaliMaster } from './master.js';
import { type FoundLight, scanLights } from './scan.js';
import {
  HASSEB_PRODUCT_ID,
  HASSEB_VENDOR_ID,
  type HidAdapterInfo,
  type HidEnumerator,
  type HidTransport,
} from './hidTransport.js';

// One hasseb adapter and the DALI lights on it. The adapter opens when the first light connects and is
// shared; every exchange takes the bus lock (a DALI line carries one frame at a time). When the adapter
// goes away (a USB read or write error) every light goes `reconnecting`, and HID enumeration is checked
// twice a second so the lights come back within a second of the replug, not after their backoff.

export interface DaliLightSpec {
  deviceId: string;
  /** A light, or `adapter`: the adapter itself (its connectivity, and the bus self-test). */
  target: LightTarget | 'adapter';
}

export interface DaliBusOptions {
  enumerator: HidEnumerator;
  /** Picks one adapter when several are plugged in. */
  adapterSerial?: string | undefined;
  lights: readonly DaliLightSpec[];
  /** How often HID enumeration is checked while the adapter is away. */
  watchIntervalMs?: number;
  /** What that check is timed with (the gateway's clock; tests pass a SimulatedClock). */
  clock?: GatewayClock | undefined;
  queryTimeoutMs?: number;
  log?: (message: string) => void;
}

interface Open {
  transport: HidTransport;
  master: DaliMaster;
}

export class DaliBusRuntime implements BusRuntime {
  /** A scan of this line takes turns with the lights' commands and polls (drivers/dali/lineScan.ts). */
  readonly capabilities: Partial<BusCapabilities> = { daliLineScan: this };
  readonly #lock = new BusLock();
  readonly #lights = new Map<string, LightTarget>();
  readonly #adapterDevices = new Set<string>();
  readonly #info = new Map<number, LampInfo>();
  /** The last level each light had while on, for ON without a brightness. */
  readonly #lastOn = new Map<string, number>();
  readonly #watchers = new BusWatchers();
  #open: Open | undefined;
  #firmware: string | undefined;
  /** Cancels the check for the adapter's return. */
  #watch: (() => void) | undefined;
  #closed = false;

  constructor(
    readonly busId: string,
    private readonly options: DaliBusOptions,
  ) {
    for (const light of options.lights) {
      if (light.target === 'adapter') this.#adapterDevices.add(light.deviceId);
      else this.#lights.set(light.deviceId, light.target);
    }
  }

  /** What the adapter is, for the adapter's own entities: undefined while it is not open. */
  get adapter(): HidAdapterInfo | undefined {
    return this.#open?.transport.info;
  }

  async connect(deviceId: string, signal: AbortSignal): Promise<void> {
    if (this.#adapterDevices.has(deviceId)) {
      await this.#lock.run(`connect ${deviceId}`, signal, () => this.#ensureOpen(signal));
      return;
    }
    const target = this.#target(deviceId);
    await this.#lock.run(`connect ${deviceId}`, signal, async () => {
      const { master } = await this.#ensureOpen(signal);
      if (!('short' in target)) return; // a group is there when its adapter is
      if (!(await isPresent(master, target.short, signal))) {
        throw new Error(`no DALI lamp answers at short address ${target.short}`);
      }
      // Levels and groups are configuration: read once, not again at every reconnect (a scan refreshes them).
      if (!this.#info.has(target.short))
        this.#info.set(target.short, await readLampInfo(master, target.short, signal));
    });
  }

  async disconnect(): Promise<void> {
    // The adapter stays open for the other lights; it closes with the bus.
  }

  async execute(
    deviceId: string,
    operation: string,
    args: JsonValue,
    signal: AbortSignal,
  ): Promise<JsonValue> {
    if (this.#adapterDevices.has(deviceId)) return this.#selfTest(deviceId, operation, signal);
    const target = this.#target(deviceId);
    return this.#lock.run(`${operation} ${deviceId}`, signal, async () => {
      const open = this.#open;
      if (!open) throw new Error('the DALI adapter is not connected');
      switch (operation) {
        case 'set': {
          const command = lightSet(DALI_LIGHT, args);
          await applyLightCommand(open.master, target, command, this.#lastOn.get(deviceId), signal);
          return this.#confirm(open.master, deviceId, target, command, signal);
        }
        case 'get':
          return this.#confirm(open.master, deviceId, target, {}, signal);
        case 'poll': {
          // The self-test: a lamp that lost power comes back at its power-on level and says so. A
          // group's (or broadcast's) lamp failure is its members' (HA's lamp_failure entity reads it).
          if (!('short' in target)) {
            const level = await this.#confirm(open.master, deviceId, target, {}, signal);
            return { ...level, lamp_failure: await anyLampFailure(open.master, target, signal) };
          }
          const status = await readStatus(open.master, target.short, signal);
          const level = await readLevel(open.master, target.short, signal);
          this.#remember(deviceId, level.brightness);
          return { ...level, ...this.#levels(target), ...status };
        }
        default:
          throw new Error(`DALI lights support set, get and poll, not "${operation}"`);
      }
    });
  }

  /**
   * The adapter device's poll: one query for the whole bus (is any control gear there?), so a silently
   * dead adapter or bus is noticed even when nobody switches a light.
   */
  #selfTest(deviceId: string, operation: string, signal: AbortSignal): Promise<JsonValue> {
    if (operation !== 'poll' && operation !== 'get') {
      return Promise.reject(new Error(`the DALI adapter device takes no "${operation}" command`));
    }
    return this.#lock.run(`self-test ${deviceId}`, signal, async () => {
      const open = this.#open;
      if (!open) throw new Error('the DALI adapter is not connected');
      const answer = await open.master.send(gearCommand(BROADCAST, 'QUERY CONTROL GEAR PRESENT'), signal);
      return {
        connected: true,
        lamps_answering: answer.kind !== 'no_answer',
        firmware: this.#firmware ?? null,
        serial_number: open.transport.info.serialNumber ?? null,
      };
    });
  }

  /** The state published after a command: read back from the lamp (a group: from its first known member). */
  async #confirm(
    master: DaliMaster,
    deviceId: string,
    target: LightTarget,
    asked: LightCommand,
    signal: AbortSignal,
  ): Promise<Record<string, JsonValue>> {
    const member =
      'short' in target ? target.short : this.#memberOf('group' in target ? target.group : undefined);
    if (member === undefined) {
      // No lamp of this group is known on the bus: say what was sent, marked as unconfirmed.
      return {
        state: asked.state ?? (asked.brightness === 0 ? 'OFF' : 'ON'),
        ...(asked.brightness !== undefined ? { brightness: asked.brightness } : {}),
        confirmed: false,
      };
    }
    const level = await readLevel(master, member, signal);
    this.#remember(deviceId, level.brightness);
    return { ...level, ...this.#levels(target) };
  }

  #remember(deviceId: string, level: number): void {
    if (level > 0) this.#lastOn.set(deviceId, level);
  }

  #levels(target: LightTarget): Record<string, JsonValue> {
    const info = 'short' in target ? this.#info.get(target.short) : undefined;
    return info ? { min_level: info.minLevel, max_level: info.maxLevel, groups: info.groups } : {};
  }

  /** A lamp known on the bus in `group` (any lamp, for a broadcast). */
  #memberOf(group: number | undefined): number | undefined {
    for (const [short, info] of this.#info) {
      if (group === undefined || info.groups.includes(group)) return short;
    }
    return undefined;
  }

  watchBus(onEvent: (event: BusEvent) => void): () => void {
    return this.#watchers.add(onEvent);
  }

  async runRecoveryStep(step: string, deviceId: string, signal: AbortSignal): Promise<void> {
    if (!this.#adapterDevices.has(deviceId)) this.#target(deviceId);
    switch (step) {
      case 'reopen':
      case 'reenumerate':
        // Both look the adapter up again: a replugged hasseb gets a new /dev/hidraw path, so reopening
        // the old path would fail where enumeration finds it. A working adapter is left alone.
        await this.#lock.run(step, signal, async () => {
          if (this.#open && step === 'reopen') return;
          await this.#closeAdapter();
          await this.#ensureOpen(signal);
        });
        return;
      default:
        throw new Error(`DALI has no recovery step "${step}"`);
    }
  }

  /** Finds the lamps (and the groups they are in) on the bus. */
  scan(signal: AbortSignal, progress?: (light: FoundLight) => void): Promise<FoundLight[]> {
    return this.#lock.run('scan', signal, async () => {
      const { master } = await this.#ensureOpen(signal);
      const found = await scanLights(master, signal, progress);
      for (const light of found)
        if (light.info && 'short' in light.target) this.#info.set(light.target.short, light.info);
      return found;
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopWatch();
    this.#watchers.clear();
    await this.#closeAdapter();
  }

  #target(deviceId: string): LightTarget {
    const target = this.#lights.get(deviceId);
    if (!target) throw new Error(`no DALI light "${deviceId}" on ${this.busId}`);
    return target;
  }

  #find(): HidAdapterInfo | undefined {
    const { adapterSerial } = this.options;
    return this.options.enumerator
      .list()
      .find(
        (info) =>
          info.vendorId === HASSEB_VENDOR_ID &&
          info.productId === HASSEB_PRODUCT_ID &&
          (adapterSerial === undefined || info.serialNumber === adapterSerial),
      );
  }

  /** Call with the lock held. */
  async #ensureOpen(signal: AbortSignal): Promise<Open> {
    if (this.#open) return this.#open;
    if (this.#closed) throw new Error(`${this.busId} is closed`);
    const info = this.#find();
    if (!info) {
      const which = this.options.adapterSerial ? ` with serial number ${this.options.adapterSerial}` : '';
      throw new Error(`no hasseb DALI adapter${which} is plugged in (USB 04cc:0802)`);
    }
    const transport = await this.options.enumerator.open(info);
    const master = new DaliMaster(transport, this.options.queryTimeoutMs);
    try {
      const firmware = await master.checkFirmware(signal);
      this.#firmware = `${firmware.major}.${firmware.minor}`;
      this.options.log?.(
        `hasseb DALI adapter ${info.serialNumber ?? info.path} open, firmware ${firmware.major}.${firmware.minor}`,
      );
    } catch (error) {
      await transport.close();
      throw error;
    }
    const current: Open = { transport, master };
    transport.onLost((reason) => this.#lost(current, reason));
    this.#open = current;
    const returned = this.#watch !== undefined;
    this.#stopWatch();
    // Opened by one light's connect or a recovery step: the others skip the rest of their backoff.
    if (returned) this.#watchers.emit({ type: 'present' });
    return current;
  }

  #lost(which: Open, reason: string): void {
    if (this.#open !== which) return;
    this.#open = undefined;
    void which.transport.close();
    this.#watchers.emit({ type: 'lost', error: `DALI adapter: ${reason}` });
    if (this.#closed) return;
    this.#watch = every(
      this.options.clock ?? systemClock,
      this.options.watchIntervalMs ?? 500,
      () => {
        if (!this.#find()) return;
        this.#stopWatch();
        this.#watchers.emit({ type: 'present' });
      },
      { unref: true },
    );
  }

  #stopWatch(): void {
    this.#watch?.();
    this.#watch = undefined;
  }

  async #closeAdapter(): Promise<void> {
    const open = this.#open;
    this.#open = undefined;
    await open?.transport.close();
  }
}
