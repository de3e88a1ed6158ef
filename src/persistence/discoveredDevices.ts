// Devices fieldbridge found by itself (an M-Bus scan): stored as the config entry they would have in
// the YAML file, so on every start they join the configured devices exactly as if the user had written
// them. The config file is never rewritten: a device that the user configures explicitly wins.
// A found device removed on request is remembered by its driver's forget key (DriverModule.forgetKey:
// a BLE sensor's MAC), so a driver that adds what it hears by itself (BLE auto_add, which hears it again
// within seconds) does not add it back; a scan or a device entry in the config adds it again.

import type Database from 'better-sqlite3';

export interface DiscoveredDevice {
  id: string;
  /** The device's config entry, as the config file would have it (validated again on every start). */
  config: Record<string, unknown>;
  foundAt: number;
}

interface Row {
  device_id: string;
  config: string;
  found_at: number;
}

export class DiscoveredDeviceStore {
  readonly #list: Database.Statement<[], Row>;
  readonly #save: Database.Statement<[string, string, number]>;
  readonly #remove: Database.Statement<[string]>;
  readonly #forget: Database.Statement<[string, string, string, number]>;
  readonly #unforget: Database.Statement<[string, string]>;
  readonly #forgotten: Database.Statement<[string], { key: string }>;

  constructor(db: Database.Database) {
    this.#list = db.prepare<[], Row>(
      'SELECT device_id, config, found_at FROM discovered_devices ORDER BY device_id',
    );
    this.#save = db.prepare<[string, string, number]>(
      `INSERT INTO discovered_devices (device_id, config, found_at) VALUES (?, ?, ?)
       ON CONFLICT (device_id) DO UPDATE SET config = excluded.config, found_at = excluded.found_at`,
    );
    this.#remove = db.prepare<[string]>('DELETE FROM discovered_devices WHERE device_id = ?');
    this.#forget = db.prepare<[string, string, string, number]>(
      `INSERT INTO forgotten_devices (driver, key, device_id, forgotten_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (driver, key) DO UPDATE SET device_id = excluded.device_id, forgotten_at = excluded.forgotten_at`,
    );
    this.#unforget = db.prepare<[string, string]>(
      'DELETE FROM forgotten_devices WHERE driver = ? AND key = ?',
    );
    this.#forgotten = db.prepare<[string], { key: string }>(
      'SELECT key FROM forgotten_devices WHERE driver = ?',
    );
  }

  list(): DiscoveredDevice[] {
    return this.#list.all().map((row) => ({
      id: row.device_id,
      config: JSON.parse(row.config) as Record<string, unknown>,
      foundAt: row.found_at,
    }));
  }

  save(device: DiscoveredDevice): void {
    this.#save.run(device.id, JSON.stringify(device.config), device.foundAt);
  }

  /** Forgets a found device; true when there was one. */
  remove(id: string): boolean {
    return this.#remove.run(id).changes > 0;
  }

  /** Remembers a device removed on request by its driver's forget key: auto-adding leaves it alone. */
  forget(driver: string, key: string, deviceId: string, at: number): void {
    this.#forget.run(driver, key, deviceId, at);
  }

  /** A removed device added again (by a scan): its driver may add it by itself again. */
  unforget(driver: string, key: string): void {
    this.#unforget.run(driver, key);
  }

  /** The forget keys of the driver's devices removed on request (a BLE sensor's MAC). */
  forgottenKeys(driver: string): Set<string> {
    return new Set(this.#forgotten.all(driver).map((row) => row.key));
  }
}
