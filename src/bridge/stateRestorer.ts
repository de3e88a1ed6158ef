import { randomUUID } from 'node:crypto';
import { DRIVERS } from '../drivers/registry.js';
import { stateFieldsOf } from '../drivers/shared/capabilities.js';
import type { JsonValue } from '../drivers/contract.js';
import type { DeviceConfig } from '../config/index.js';
import type { Logger } from '../logging/index.js';
import type { RootEvent } from '../machines/rootSupervisor.js';
import type { CommandResultNotice } from '../machines/notices.js';
import type { DesiredState, Persistence } from '../persistence/index.js';

// Lamps forget: a power cut brings a DALI lamp back at its power-on level, a replugged adapter or a
// restarted gateway knows nothing of what was set. For drivers that ask for it (`restoresState`), the
// last commanded state of each device is kept in the database and sent again as a `set` when the
// device becomes available and when it reports a power failure; the device answers with what it
// really is, which becomes its published state. What was restored is said on bridge/event.

interface Restoring {
  deviceId: string;
  reason: string;
  state: DesiredState;
}

export class StateRestorer {
  readonly #restoring = new Map<string, Restoring>();

  constructor(
    private readonly persistence: Persistence,
    private readonly send: (event: RootEvent) => void,
    private readonly logger: Logger,
    private readonly event: (type: string, data: Record<string, unknown>) => void,
    /** A device's `set`s still queued (user commands sent before it came back), oldest first. */
    private readonly pendingSets: (deviceId: string) => JsonValue[] = () => [],
  ) {}

  /** A user's `set` succeeded: what it asked for is the device's desired state from now on. */
  commanded(device: DeviceConfig, args: JsonValue, at: number): void {
    if (!DRIVERS[device.driver].restoresState) return;
    if (args === null || typeof args !== 'object' || Array.isArray(args)) return;
    // How to get there (a transition, HA's flash) is not where: only what the device's state shows.
    const stateFields = stateFieldsOf(DRIVERS[device.driver].capabilities(device, undefined));
    const change = Object.fromEntries(Object.entries(args).filter(([key]) => stateFields.has(key)));
    this.persistence.desired.merge(device.id, change, at);
  }

  /** Sends the desired state again, if the driver restores state and one was ever commanded. */
  restore(device: DeviceConfig, reason: string): void {
    if (!DRIVERS[device.driver].restoresState) return;
    const desired = this.persistence.desired.get(device.id);
    if (!desired) return;
    // The restore runs after the commands already queued: what they ask for is the newer desired state.
    const stateFields = stateFieldsOf(DRIVERS[device.driver].capabilities(device, undefined));
    let state = desired;
    for (const args of this.pendingSets(device.id)) {
      if (args === null || typeof args !== 'object' || Array.isArray(args)) continue;
      state = {
        ...state,
        ...Object.fromEntries(Object.entries(args).filter(([key]) => stateFields.has(key))),
      };
    }
    if ([...this.#restoring.values()].some((pending) => pending.deviceId === device.id)) return;
    const id = `restore:${randomUUID()}`;
    this.#restoring.set(id, { deviceId: device.id, reason, state });
    this.logger.info(`${device.id}: restoring its last commanded state (${reason})`, { state });
    this.send({ type: 'COMMAND', deviceId: device.id, id, operation: 'set', args: state });
  }

  /** Handles the answer to a restore; false when the result belongs to a user's command. */
  handleResult(notice: CommandResultNotice): boolean {
    const restoring = this.#restoring.get(notice.commandId);
    if (!restoring) return false;
    this.#restoring.delete(notice.commandId);
    const data = { id: restoring.deviceId, reason: restoring.reason, state: restoring.state };
    if (notice.result.ok) {
      this.event('state_restored', { ...data, result: notice.result.result });
    } else {
      this.logger.warn(`${restoring.deviceId}: restoring its state failed: ${notice.result.error}`);
      this.event('state_restore_failed', { ...data, error: notice.result.error });
    }
    return true;
  }
}
