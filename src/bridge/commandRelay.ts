import { randomUUID } from 'node:crypto';
import type { JsonValue } from '../drivers/contract.js';
import type { DeviceConfig } from '../config/index.js';
import { BurstLog, type Logger } from '../logging/index.js';
import type { CommandResultNotice } from '../machines/notices.js';
import type { RootEvent } from '../machines/rootSupervisor.js';
import type { Persistence } from '../persistence/index.js';
import { checkDeviceCommand } from './deviceCommands.js';
import type { ReadingWriter } from './readingWriter.js';
import { type BridgeResponse, errorResponse, okResponse, type Transaction } from './requests.js';
import type { RetainedDeviceTopics } from './retainedDeviceTopics.js';
import type { StateRestorer } from './stateRestorer.js';

// A device's `<base>/<id>/set` and `/get`, from the broker to the device's actor and back: each command
// is checked before it is queued (a refused one is answered at once and logged, a flood of them
// collapsed), and its result is answered on `<base>/<id>/response` with the command's transaction.
// What a device answers to a `set` (a lamp's confirmed level) becomes its state, and what was asked
// becomes its desired state (for the drivers that restore state, see StateRestorer).

interface PendingCommand {
  deviceId: string;
  operation: 'set' | 'get';
  args: JsonValue;
  transaction?: Transaction;
}

export interface CommandRelayOptions {
  devices: ReadonlyMap<string, DeviceConfig>;
  persistence: Persistence;
  readings: ReadingWriter;
  retained: RetainedDeviceTopics;
  restorer: StateRestorer;
  /** Into the supervision tree. */
  send: (event: RootEvent) => void;
  /** Enqueues the answer on the device's response topic, in the caller's transaction. */
  respond: (deviceId: string, response: BridgeResponse) => void;
  /** Tells the drainer there is something to send. */
  kick: () => void;
  logger: Logger;
  now: () => number;
}

export class CommandRelay {
  readonly #pending = new Map<string, PendingCommand>();
  /** Commands refused before they reach a device: one line per interval in a flood, with the count. */
  readonly #refusals: BurstLog;

  constructor(private readonly options: CommandRelayOptions) {
    this.#refusals = new BurstLog(options.logger, { now: options.now });
  }

  /** A `set` or `get` from the broker: queued for the device, or refused with the reason. */
  received(deviceId: string, operation: 'set' | 'get', payload: Buffer): void {
    const checked = checkDeviceCommand(this.options.devices, deviceId, operation, payload);
    if (!checked.ok) {
      this.#refusals.record(
        'invalid',
        `${operation} for ${deviceId} refused: ${checked.error}`,
        'commands refused as invalid',
      );
      const response = errorResponse(checked.error, checked.transaction);
      this.options.persistence.transaction(() => this.options.respond(deviceId, response));
      return;
    }
    const { args, transaction } = checked.value;
    const id = randomUUID();
    this.#pending.set(id, { deviceId, operation, args, transaction });
    this.options.send({ type: 'COMMAND', deviceId, id, operation, args });
  }

  /**
   * The arguments of the `set`s of a device still waiting for their result, oldest first: a state
   * restore queued behind them must not put back an older state after they ran.
   */
  pendingSets(deviceId: string): JsonValue[] {
    return [...this.#pending.values()]
      .filter((pending) => pending.deviceId === deviceId && pending.operation === 'set')
      .map((pending) => pending.args);
  }

  /** Writes the count of a flood of refusals that is due, even when the flood stopped (a periodic tick). */
  flushRefusals(): void {
    this.#refusals.flush();
  }

  /** A command's result (a user's, or a state restore's: those are StateRestorer's to answer). */
  answered(notice: CommandResultNotice): void {
    const { persistence, readings, retained, restorer } = this.options;
    const restored = restorer.handleResult(notice);
    const pending = this.#pending.get(notice.commandId);
    this.#pending.delete(notice.commandId);
    const device = this.options.devices.get(notice.deviceId);
    // Readings waiting for their group commit are older than this answer: committed first, so the
    // answer's state is merged last (see ReadingWriter.mergeState).
    readings.flush();
    persistence.transaction(() => {
      if (!restored) {
        const response = notice.result.ok
          ? okResponse(notice.result.result, pending?.transaction)
          : errorResponse(notice.result.error, pending?.transaction);
        this.options.respond(notice.deviceId, response);
      }
      if (!notice.result.ok) return;
      if (!restored && pending && device && notice.operation === 'set') {
        restorer.commanded(device, pending.args, notice.at);
      }
      // What the device answered (a lamp's confirmed level) is its state, not what was asked.
      const result = notice.result.result;
      if (result !== null && typeof result === 'object' && !Array.isArray(result)) {
        readings.mergeState(notice.deviceId, result, notice.at);
        retained.reported(notice.deviceId);
        this.options.kick();
      }
    });
  }
}
