import {
  addressRequest,
  candidateIds,
  decodeReadResponse,
  guessFamily,
  idFromAddressResponse,
  isModbusFamily,
  loadStateFromEcho,
  loadSwitchRequest,
  type ModbusFamily,
  readPlan,
  type RenogyFamily,
  type RenogyValue,
  type Topology,
  type UncertainScales,
} from './codec/index.js';
import { RenogyFailure } from './failures.js';
import type { ModbusLink } from './modbusLink.js';

// What fieldbridge knows of one Renogy device across sessions (each poll is a session of its own: the
// link is let go between polls so the phone app can connect): its family, its Modbus id once found,
// its model (which picks a DC-DC charger's reads) and whether the `once` reads were done. A session
// reads through a ModbusLink; any failure ends it and is thrown as a RenogyFailure. A Smart Shunt
// answers no Modbus: its sessions read its notifications instead (shuntSession.ts).

export interface RenogyDeviceSpec {
  readonly deviceId: string;
  readonly mac: string;
  readonly family: RenogyFamily | undefined;
  /** The configured Modbus id; absent: discovered. */
  readonly modbusId: number | undefined;
  readonly topology: Topology;
  readonly connectTimeoutMs: number;
}

export type Reading = Record<string, RenogyValue>;

export class DeviceReader {
  readonly spec: RenogyDeviceSpec;
  #family: RenogyFamily | undefined;
  #scales: Partial<UncertainScales> | undefined;
  #modbusId: number | undefined;
  /** Which candidate id the discovery tries next (a silent candidate ends its session). */
  #candidate = 0;
  #model: string | undefined;
  /** The values of the `once` reads (model, address, settings), kept for every later reading. */
  #onceValues: Reading = {};
  #onceDone = false;
  /** Whether the advertised name was looked at (once: it says the family and the scales). */
  #named = false;

  constructor(spec: RenogyDeviceSpec) {
    this.spec = spec;
    this.#family = spec.family;
    this.#modbusId = spec.modbusId;
  }

  get family(): RenogyFamily | undefined {
    return this.#family;
  }

  /** Whether the advertised name is still to be looked at. */
  get wantsName(): boolean {
    return !this.#named;
  }

  /**
   * What the advertised name says: the family when none is configured (a BT module guesses controller
   * unless its name says battery; RTMShunt… is a Smart Shunt), and the scales where the sources disagree (a Pro battery's current
   * is in 0.1 A, §4.4) when it names the same family as configured.
   */
  learnName(name: string | undefined): void {
    const guess = name === undefined ? undefined : guessFamily(name);
    if (name !== undefined) this.#named = true;
    if (guess === undefined) return;
    if (this.spec.family === undefined) this.#family = guess.family;
    if (guess.family === this.#family) this.#scales = guess.scales;
  }

  #familyOrFail(): ModbusFamily {
    if (isModbusFamily(this.#family)) return this.#family;
    throw new RenogyFailure(
      'failed',
      this.#family === 'shunt'
        ? `${this.spec.mac} is a Smart Shunt: it answers no Modbus`
        : `the family of ${this.spec.mac} is not configured and its advertised name does not tell it (set family: controller, dc_charger, battery, inverter or shunt)`,
    );
  }

  /** The Modbus id, found when not configured: 0xFF (or the topology's candidates), then its address register. */
  async #id(link: ModbusLink, signal: AbortSignal): Promise<number> {
    if (this.#modbusId !== undefined) return this.#modbusId;
    const family = this.#familyOrFail();
    const candidates = candidateIds(family, this.spec.topology);
    for (; this.#candidate < candidates.length; this.#candidate += 1) {
      const asked = candidates[this.#candidate] ?? 0xff;
      const response = await link.request(addressRequest(family, asked), signal);
      // A device without the address register refuses its read, but it answered this id: use it
      // (inferred; the notes' procedure assumes the register is there, §2.3).
      const found =
        response.kind === 'exception' && response.deviceId === asked
          ? asked
          : idFromAddressResponse(family, asked, response);
      if (found !== undefined) {
        this.#modbusId = found;
        return found;
      }
    }
    this.#candidate = 0;
    throw new RenogyFailure(
      'exception',
      `no id of ${candidates.map((id) => `0x${id.toString(16)}`).join(', ')} answered the address register`,
    );
  }

  /** One poll's reads, in the plan's order and pacing; the reading with the family and id. */
  async read(link: ModbusLink, signal: AbortSignal): Promise<Reading> {
    const family = this.#familyOrFail();
    const id = await this.#id(link, signal);
    const plan = readPlan(family, id, {
      ...(this.#model !== undefined ? { model: this.#model } : {}),
      includeOnce: !this.#onceDone,
    });
    const values: Reading = {};
    const once: Reading = {};
    for (const planned of plan.reads) {
      const response = await link.request(planned.request, signal, planned.attempts);
      if (response.kind === 'exception') {
        if (planned.optional) continue;
        throw new RenogyFailure(
          'exception',
          `the ${planned.block} read (0x${planned.request.register.toString(16)}) was refused: ${response.codeName}`,
        );
      }
      if (response.kind !== 'read') {
        throw new RenogyFailure('stale_session', `a write echo answered the ${planned.block} read`);
      }
      const decoded = decodeReadResponse(
        family,
        planned.request,
        response,
        this.#scales ? { scales: this.#scales } : {},
      );
      Object.assign(planned.cadence === 'every_poll' ? values : once, decoded.values);
    }
    if (!this.#onceDone) {
      this.#onceValues = once;
      this.#onceDone = true;
      if (typeof once.model === 'string') this.#model = once.model.trim();
    }
    return { family, device_id: id, ...this.#onceValues, ...values };
  }

  /**
   * Switches the load output: the write, its echo checked, then the values read back, whose `load_on`
   * (what the device reports) is what is published, not the command.
   */
  async switchLoad(link: ModbusLink, on: boolean, signal: AbortSignal): Promise<Reading> {
    const family = this.#familyOrFail();
    const id = await this.#id(link, signal);
    const response = await link.request(loadSwitchRequest(family, id, on), signal);
    if (response.kind === 'exception') {
      throw new RenogyFailure('exception', `the load switch was refused: ${response.codeName}`);
    }
    if (response.kind !== 'write_echo') {
      throw new RenogyFailure('stale_session', 'a read answer came back for the load switch');
    }
    const echoed = loadStateFromEcho(family, response);
    if (echoed !== on) {
      throw new RenogyFailure('garbage_answer', `the load switch echo says ${echoed ? 'on' : 'off'}`);
    }
    return this.read(link, signal);
  }
}
