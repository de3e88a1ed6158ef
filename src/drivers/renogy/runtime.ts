import type { GatewayClock } from '../../machines/clock.js';
import { errorText } from '../../errorText.js';
import type { BusEvent, BusRuntime, JsonValue } from '../contract.js';
import { BusLock } from '../shared/busLock.js';
import { abortable } from '../shared/wait.js';
import {
  FAMILY_TABLES,
  isModbusFamily,
  NOTIFY_CHARACTERISTIC,
  type RenogyFamily,
  WRITE_CHARACTERISTIC,
} from './codec/index.js';
import {
  type CallListener,
  type ConnectedHost,
  GattFailure,
  type GattLink,
  PowerCycleRefused,
} from './bluez.js';
import { RenogyFailure } from './failures.js';
import { ModbusLink, sleep } from './modbusLink.js';
import { DeviceReader, type Reading, type RenogyDeviceSpec } from './reader.js';
import { LOAD_KEY } from './capabilities.js';
import { problemsText, readShuntFrame, type ShuntDrop } from './shuntSession.js';

// The BusRuntime of the Renogy devices on one adapter. A device is not held connected: every poll (and
// every load switch) is a session of its own — connect with a hard bound (through the adapter's
// connected-BLE host: one connect at a time, the BLE line's discovery paused around it), the services
// and both characteristics found, StartNotify, the paced Modbus requests, Disconnect — because a BT
// module takes one central at a time and the user's phone app must find it free between polls. Any
// failure ends the session (an out-of-step link is never trusted) and rejects the operation with a
// named RenogyFailure; the device's recovery ladder heals what a next session does not. A Smart Shunt
// is read the same way (a session per poll, so the phone app finds it free in between), except that
// nothing is written to it: the session takes the first live frame it streams (shuntSession.ts).

export interface RenogyLog {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

export interface RenogyBusOptions {
  host: ConnectedHost;
  devices: readonly RenogyDeviceSpec[];
  clock: GatewayClock;
  log: RenogyLog;
  /** Hears every D-Bus call made for these devices while the bus is open (/metrics). */
  recordCall?: CallListener | undefined;
}

interface DeviceSlot {
  readonly reader: DeviceReader;
  /** One session of a device at a time (a load switch waits for the poll under way). */
  readonly lock: BusLock;
  connected: boolean;
  /** The link of the session under way, dropped by disconnect() and close(). */
  link: GattLink | undefined;
  lastFailure: RenogyFailure | undefined;
  /** The kinds of implausible Smart Shunt value already logged (each once: a noisy shunt sends many). */
  readonly implausibleLogged: Set<string>;
}

/**
 * After the last answer of a session, how long bytes nobody asked for still void it: a device that
 * answered twice sends the copy right after the first (the next request's 0.5 s gap covers the others).
 */
const STRAY_GRACE_MS = 100;

/** What a session does once connected: Modbus requests, or a Smart Shunt's frames on the bare link. */
interface SessionWork {
  modbus(link: ModbusLink): Promise<Reading>;
  shunt(link: GattLink): Promise<Reading>;
}

export const RENOGY_STEPS = ['reconnect', 'remove_device', 'power_cycle_adapter'] as const;

export class RenogyBusRuntime implements BusRuntime {
  readonly busId: string;
  readonly #options: RenogyBusOptions;
  readonly #slots = new Map<string, DeviceSlot>();
  readonly #watchers = new Set<(event: BusEvent) => void>();
  readonly #stopRecordingCalls: () => void;
  #closed = false;

  constructor(busId: string, options: RenogyBusOptions) {
    this.busId = busId;
    this.#options = options;
    // The host's calls are this bus's (its only user); a restarted bus listens afresh, so none twice.
    const stop = options.recordCall ? options.host.calls.listen(options.recordCall) : undefined;
    this.#stopRecordingCalls = () => void stop?.();
    for (const spec of options.devices) {
      this.#slots.set(spec.deviceId, {
        reader: new DeviceReader(spec),
        lock: new BusLock(),
        connected: false,
        link: undefined,
        lastFailure: undefined,
        implausibleLogged: new Set(),
      });
    }
  }

  /** The device can be read once the adapter's D-Bus connection is open; the BLE link is per session. */
  async connect(deviceId: string, signal: AbortSignal): Promise<void> {
    if (this.#closed) throw new Error(`${this.busId} is closed`);
    const slot = this.#slot(deviceId);
    await abortable(this.#options.host.gatt(), signal);
    slot.connected = true;
  }

  async disconnect(deviceId: string): Promise<void> {
    const slot = this.#slots.get(deviceId);
    if (slot === undefined) return;
    slot.connected = false;
    await slot.link?.disconnect();
  }

  async execute(
    deviceId: string,
    operation: string,
    args: JsonValue,
    signal: AbortSignal,
  ): Promise<JsonValue> {
    const slot = this.#slot(deviceId);
    switch (operation) {
      case 'poll':
      case 'get':
        return this.#read(slot, operation, signal);
      case 'set': {
        const on = loadCommand(args);
        const family = slot.reader.family;
        if (family !== undefined && (!isModbusFamily(family) || !FAMILY_TABLES[family].loadSwitch)) {
          throw new Error(`${deviceId} is a ${family}: it has no load output to switch`);
        }
        return this.#session(slot, 'load switch', signal, {
          modbus: (link) => slot.reader.switchLoad(link, on, signal),
          shunt: () => Promise.reject(new RenogyFailure('failed', 'a Smart Shunt has no load output')),
        });
      }
      default:
        throw new Error(`a Renogy device has no operation "${operation}" (poll, get, set)`);
    }
  }

  watchBus(onEvent: (event: BusEvent) => void): () => void {
    this.#watchers.add(onEvent);
    return () => this.#watchers.delete(onEvent);
  }

  async runRecoveryStep(step: string, deviceId: string, signal: AbortSignal): Promise<void> {
    const slot = this.#slot(deviceId);
    const path = (await this.#options.host.gatt()).devicePath(slot.reader.spec.mac);
    const why = slot.lastFailure ? ` after ${slot.lastFailure.kind}` : '';
    this.#options.log.info(`${deviceId}: recovery step ${step}${why}`);
    switch (step) {
      case 'reconnect': {
        // A fresh session at once, verified by its reading (published as the device's data).
        await slot.link?.disconnect();
        const reading = await this.#read(slot, 'reconnect', signal);
        this.#emit({ type: 'device', deviceId, event: { type: 'data', operation: 'poll', result: reading } });
        return;
      }
      case 'remove_device': {
        // BlueZ forgets the device and its GATT cache; it comes back when it advertises again, and the
        // next poll resolves its services afresh.
        await slot.link?.disconnect();
        const gatt = await this.#options.host.gatt();
        await slot.lock.run('remove_device', signal, () => gatt.removeDevice(path, signal));
        return;
      }
      case 'power_cycle_adapter':
        try {
          await this.#options.host.powerCycle(signal, `Renogy device ${deviceId}`, this.#options.clock.now());
        } catch (error) {
          // Not run: the adapter's hourly limit (shared with the BLE line) is spent. The step fails, so
          // the ladder goes on to restart_actor instead of asking for a cycle again.
          if (error instanceof PowerCycleRefused)
            this.#options.log.warn(`${error.message}; the ladder goes on`);
          throw error;
        }
        return;
      default:
        throw new Error(`Renogy has no recovery step "${step}" (known: ${RENOGY_STEPS.join(', ')})`);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watchers.clear();
    try {
      await Promise.all([...this.#slots.values()].map((slot) => slot.link?.disconnect()));
      // This bus is the only user of the adapter's connected-BLE host: a restart (restart_actor) starts
      // over with fresh proxies, on a fresh D-Bus connection unless the BLE line holds the current one.
      await this.#options.host.reopen();
    } finally {
      // The Disconnects above were this bus's calls too.
      this.#stopRecordingCalls();
    }
  }

  #slot(deviceId: string): DeviceSlot {
    const slot = this.#slots.get(deviceId);
    if (slot === undefined) throw new Error(`no Renogy device "${deviceId}" on ${this.busId}`);
    return slot;
  }

  #emit(event: BusEvent): void {
    for (const watcher of [...this.#watchers]) watcher(event);
  }

  /** Modbus on a link: notify, `work`'s paced requests, and no stray answer after the last one. */
  async #modbusSession(
    link: GattLink,
    slot: DeviceSlot,
    signal: AbortSignal,
    work: (link: ModbusLink) => Promise<Reading>,
  ): Promise<Reading> {
    const modbus = new ModbusLink(link, pacingOf(slot.reader.family), this.#options.clock, (message) =>
      this.#options.log.debug(`${slot.reader.spec.deviceId}: ${message}`),
    );
    await modbus.start(signal);
    const reading = await work(modbus);
    // Give an answer sent twice the time to show before the reading is trusted.
    await sleep(this.#options.clock, STRAY_GRACE_MS, signal);
    modbus.finish();
    return reading;
  }

  /** A reading: a Smart Shunt's first live frame, any other device's reads over Modbus. */
  #read(slot: DeviceSlot, what: string, signal: AbortSignal): Promise<Reading> {
    return this.#session(slot, what, signal, {
      modbus: (link) => slot.reader.read(link, signal),
      shunt: (link) =>
        readShuntFrame(link, this.#options.clock, signal, (problem) => this.#noteImplausible(slot, problem)),
    });
  }

  /**
   * An implausible shunt frame, logged the first time its kind (what was dropped, for which values) is
   * seen: a noisy shunt sends many. A poll that fails for it is logged apart, as every failure is.
   */
  #noteImplausible(slot: DeviceSlot, dropped: ShuntDrop): void {
    const keys = dropped.problems.map((problem) => problem.key).join(',');
    const kind = `${dropped.what}:${keys}`;
    if (slot.implausibleLogged.has(kind)) return;
    slot.implausibleLogged.add(kind);
    const cost = dropped.what === 'frame' ? 'live frame dropped' : 'value withheld';
    this.#options.log.warn(
      `${slot.reader.spec.deviceId}: implausible ${problemsText(dropped.problems)}: ${cost} (logged once for ${keys})`,
    );
  }

  /** One session: connect, then `work` over Modbus or, for a Smart Shunt, on the bare link; let go. */
  #session(slot: DeviceSlot, what: string, signal: AbortSignal, work: SessionWork): Promise<Reading> {
    const spec = slot.reader.spec;
    return slot.lock.run(`${what} ${spec.deviceId}`, signal, async () => {
      if (this.#closed) throw new Error(`${this.busId} is closed`);
      const started = this.#options.clock.now();
      try {
        const host = this.#options.host;
        const gatt = await host.gatt();
        const learnName = async () => {
          if (slot.reader.wantsName) slot.reader.learnName(await host.deviceName(spec.mac, signal));
        };
        const options = () => ({
          timeoutMs: spec.connectTimeoutMs,
          signal,
          // The shunt's c411 is looked up once connected, under whichever service holds it.
          require: slot.reader.family === 'shunt' ? [] : [WRITE_CHARACTERISTIC, NOTIFY_CHARACTERISTIC],
        });
        await learnName();
        const path = gatt.devicePath(spec.mac);
        const link = await gatt.connect(path, options()).catch(async (error: unknown) => {
          // BlueZ does not know it (removed by remove_device, or not heard since bluetoothd started):
          // it must be heard advertising first, and then its name may tell its family.
          if (!(error instanceof GattFailure) || error.kind !== 'not_found') throw error;
          await host.findDevice(spec.mac, spec.connectTimeoutMs, signal);
          await learnName();
          return gatt.connect(path, options());
        });
        const family = slot.reader.family;
        slot.link = link;
        try {
          const reading =
            family === 'shunt'
              ? await work.shunt(link)
              : await this.#modbusSession(link, slot, signal, work.modbus);
          if (slot.lastFailure) {
            this.#options.log.info(`${spec.deviceId}: read again after ${slot.lastFailure.kind}`);
          }
          slot.lastFailure = undefined;
          this.#options.log.debug(`${spec.deviceId}: ${what} in ${this.#options.clock.now() - started} ms`);
          return reading;
        } finally {
          if (slot.link === link) slot.link = undefined;
          // One central at a time: the device is free for the phone app until the next poll.
          await link.disconnect();
        }
      } catch (error) {
        const failure = RenogyFailure.of(error);
        slot.lastFailure = failure;
        this.#options.log.warn(`${spec.deviceId}: ${what} failed: ${errorText(failure)}`);
        throw failure;
      }
    });
  }
}

function pacingOf(family: RenogyFamily | undefined) {
  return FAMILY_TABLES[isModbusFamily(family) ? family : 'controller'].pacing;
}

/** The `set` of a Renogy device: `{ load_on: true | false }` (the registry checked it already). */
function loadCommand(args: JsonValue): boolean {
  if (args !== null && typeof args === 'object' && !Array.isArray(args)) {
    const on = args[LOAD_KEY];
    if (typeof on === 'boolean') return on;
  }
  throw new Error(`a Renogy set takes { "${LOAD_KEY}": true | false }`);
}
