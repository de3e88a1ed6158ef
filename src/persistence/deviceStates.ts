// The last known state of each device (what its state topic last said), so that a restarted gateway
// can publish it at once, marked stale, instead of leaving Home Assistant blank until the device
// answers. Written behind like the snapshots: a state that changes 1,000 times in a burst is one row
// write.

import type Database from 'better-sqlite3';
import type { JsonValue } from '../drivers/contract.js';
import type { Logger } from '../logging/index.js';
import { BatchInsert } from './batchInsert.js';
import type { PendingWrites, WriteBehind } from './writeBehind.js';

export type DeviceState = { [key: string]: JsonValue };

export interface StoredDeviceState {
  deviceId: string;
  state: DeviceState;
  /** When the state was observed, ms since the epoch. */
  at: number;
}

interface DeviceStateRow {
  device_id: string;
  state: string;
  at: number;
}

export class DeviceStateStore implements PendingWrites {
  readonly #pending = new Map<string, StoredDeviceState>();
  readonly #writeBehind: WriteBehind;
  readonly #logger: Logger;
  readonly #upsert: BatchInsert;
  readonly #selectAll: Database.Statement<[], DeviceStateRow>;
  readonly #delete: Database.Statement<[string]>;

  constructor(db: Database.Database, writeBehind: WriteBehind, logger: Logger) {
    this.#writeBehind = writeBehind;
    this.#logger = logger;
    this.#upsert = new BatchInsert(
      db,
      'INSERT INTO device_states (device_id, state, at)',
      3,
      'ON CONFLICT (device_id) DO UPDATE SET state = excluded.state, at = excluded.at',
    );
    this.#selectAll = db.prepare('SELECT device_id, state, at FROM device_states ORDER BY device_id');
    this.#delete = db.prepare('DELETE FROM device_states WHERE device_id = ?');
    writeBehind.register(this);
  }

  /** Records a device's newest state; it reaches the disk with the next flush. */
  save(deviceId: string, state: DeviceState, at: number): void {
    if (this.#writeBehind.closed) {
      this.#logger.debug(`state of ${deviceId} ignored: persistence is closed`);
      return;
    }
    this.#pending.set(deviceId, { deviceId, state, at });
    this.#writeBehind.schedule();
  }

  /** Every device's last known state, pending ones included, ordered by device id. */
  all(): StoredDeviceState[] {
    const byDevice = new Map<string, StoredDeviceState>();
    for (const row of this.#selectAll.iterate()) {
      byDevice.set(row.device_id, {
        deviceId: row.device_id,
        state: JSON.parse(row.state) as DeviceState,
        at: row.at,
      });
    }
    for (const [deviceId, pending] of this.#pending) byDevice.set(deviceId, pending);
    return [...byDevice.values()].sort((a, b) =>
      a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0,
    );
  }

  remove(deviceId: string): void {
    this.#pending.delete(deviceId);
    this.#delete.run(deviceId);
  }

  get hasPending(): boolean {
    return this.#pending.size > 0;
  }

  writePending(): void {
    const values: (string | number)[] = [];
    for (const { deviceId, state, at } of this.#pending.values())
      values.push(deviceId, JSON.stringify(state), at);
    this.#upsert.run(values);
  }

  clearPending(): void {
    this.#pending.clear();
  }
}
