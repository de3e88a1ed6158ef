// The last state a user commanded for each device (a lamp's on/off and level). It outlives the
// device's own memory: after a power failure, an adapter replug or a gateway restart the driver is told
// to apply it again, so a light comes back as it was last set, not as the hardware woke up.

import type Database from 'better-sqlite3';
import type { JsonValue } from '../drivers/contract.js';

export type DesiredState = { [key: string]: JsonValue };

interface Row {
  state: string;
}

export class DesiredStateStore {
  readonly #get: Database.Statement<[string], Row>;
  readonly #save: Database.Statement<[string, string, number]>;
  readonly #remove: Database.Statement<[string]>;

  constructor(db: Database.Database) {
    this.#get = db.prepare<[string], Row>('SELECT state FROM desired_states WHERE device_id = ?');
    this.#save = db.prepare<[string, string, number]>(
      `INSERT INTO desired_states (device_id, state, at) VALUES (?, ?, ?)
       ON CONFLICT (device_id) DO UPDATE SET state = excluded.state, at = excluded.at`,
    );
    this.#remove = db.prepare<[string]>('DELETE FROM desired_states WHERE device_id = ?');
  }

  /** The device is gone: a new device later configured under its id starts with nothing to restore. */
  remove(deviceId: string): void {
    this.#remove.run(deviceId);
  }

  get(deviceId: string): DesiredState | undefined {
    const row = this.#get.get(deviceId);
    return row ? (JSON.parse(row.state) as DesiredState) : undefined;
  }

  /** Merges `change` into the device's desired state (a brightness-only command keeps the on/off). */
  merge(deviceId: string, change: DesiredState, at: number): DesiredState {
    const state = { ...this.get(deviceId), ...change };
    this.#save.run(deviceId, JSON.stringify(state), at);
    return state;
  }
}
