// What a corrupt database still holds, copied into the fresh file that replaced it (database.ts), so a
// damaged page costs the rows on it and not the whole queue, history and device state.
//
// Each table is read in key order up to the first damaged page, then from its far end backwards down
// to the last key read, so only the rows between the first and the last damage are lost. The corrupt
// file is opened read-only: it stays as it was found, for whoever wants to look at it.
//
// Sequence numbers must never be handed out twice (a consumer tells a replay from a new reading by
// them). A device's row in `sequences` is written in the same transaction as its readings, so when
// that table is read to the end, the numbers simply continue. When it is not (a damaged page, a file
// SQLite cannot open at all), a device whose row is lost could be anywhere: every device without a
// number then starts above a floor kept in `sequence_floor` — the highest of the current time in ms,
// the corrupt file's modification time, every readable timestamp and every readable sequence number.
// No device reaches that floor by counting (one reading per millisecond since 1970), a clock that is
// behind after a reboot is covered by the timestamps the old file holds, and it stays well below
// 2^53, so the numbers remain exact in JSON. A consumer sees one jump, as after any gap.

import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { errorText } from '../errorText.js';

/** What was recovered from a corrupt file. */
export interface Salvage {
  /** Rows copied into the fresh database, per table (0 for an empty, absent or unreadable table). */
  copied: Record<string, number>;
  /** What could not be read to the end, with SQLite's reason. */
  damaged: string[];
  /** Set when some device's last sequence number may be lost: such devices continue above it. */
  sequenceFloor: number | undefined;
}

interface SalvagedTable {
  name: string;
  /** Its primary key's columns: the order it is read in. */
  key: readonly string[];
  columns: readonly string[];
  /**
   * The table an older schema kept these rows in (a file from before the migration that replaced it),
   * read when the corrupt file has it: its name, an expression per column (in `columns`' order) and
   * its own primary key.
   */
  formerly?: { name: string; columns: readonly string[]; key: readonly string[] };
}

/** Every table with data of its own (outbox_totals is recomputed), in the schema's current shape. */
const SALVAGED_TABLES: readonly SalvagedTable[] = [
  { name: 'sequences', key: ['device_id'], columns: ['device_id', 'last_seq'] },
  { name: 'sequence_floor', key: ['id'], columns: ['id', 'floor'] },
  {
    name: 'outbox',
    key: ['id'],
    columns: ['id', 'topic', 'payload', 'qos', 'retain', 'kind', 'bytes', 'enqueued_at'],
  },
  { name: 'readings_history', key: ['id'], columns: ['id', 'device_id', 'seq', 'ts', 'payload'] },
  { name: 'desired_states', key: ['device_id'], columns: ['device_id', 'state', 'at'] },
  { name: 'device_states', key: ['device_id'], columns: ['device_id', 'state', 'at'] },
  { name: 'discovered_devices', key: ['device_id'], columns: ['device_id', 'config', 'found_at'] },
  { name: 'snapshots', key: ['device_id'], columns: ['device_id', 'version', 'snapshot', 'saved_at'] },
  {
    name: 'forgotten_devices',
    key: ['driver', 'key'],
    columns: ['driver', 'key', 'device_id', 'forgotten_at'],
    // Before migration 7 the only driver with a forget key kept its own table (see migrations.ts).
    formerly: {
      name: 'forgotten_ble_sensors',
      columns: ["'ble'", 'mac', 'device_id', 'forgotten_at'],
      key: ['mac'],
    },
  },
];

/** Tables whose complete reading proves every device's last sequence number was recovered. */
const SEQUENCE_TABLES = new Set(['sequences', 'sequence_floor']);

interface TableCopy {
  copied: number;
  /** Why the table could not be read to the end; undefined when it was (or does not exist). */
  damage: string | undefined;
}

/**
 * Copies `table` from `old` into `fresh`: forwards up to the first damage, then backwards down to it.
 * Only reading `old` may fail here; a failure to write `fresh` (a full disk) is thrown. A row whose
 * values break a constraint (garbage that SQLite did not notice) is skipped by OR IGNORE.
 */
function copyTable(
  old: Database.Database,
  fresh: Database.Database,
  table: SalvagedTable,
  source: { name: string; columns: readonly string[]; key: readonly string[] } = table,
): TableCopy {
  const insert = fresh.prepare(
    `INSERT OR IGNORE INTO ${table.name} (${table.columns.join(', ')}) VALUES (${table.columns.map(() => '?').join(', ')})`,
  );
  const keyIndexes = source.key.map((column) => source.columns.indexOf(column));
  let copied = 0;
  let lastKey: unknown[] | undefined;
  /** Copies rows until `old` fails; returns the failure, or undefined when all were read. */
  const copyRows = (sql: string, ...parameters: unknown[]): unknown => {
    let rows: Iterator<unknown[]>;
    try {
      rows = old
        .prepare<unknown[], unknown[]>(sql)
        .raw()
        .iterate(...parameters);
    } catch (error) {
      return error;
    }
    for (;;) {
      let next: IteratorResult<unknown[]>;
      try {
        next = rows.next();
      } catch (error) {
        return error;
      }
      if (next.done === true) return undefined;
      copied += insert.run(...next.value).changes;
      const row = next.value;
      lastKey = keyIndexes.map((index) => row[index]);
    }
  };
  const select = `SELECT ${source.columns.join(', ')} FROM ${source.name}`;
  const order = (direction: string) => source.key.map((column) => `${column} ${direction}`).join(', ');
  const failure = copyRows(`${select} ORDER BY ${order('ASC')}`);
  if (failure === undefined) return { copied, damage: undefined };
  // Whatever stops this one too (damage seen from the other end) is lost with the rows between.
  if (lastKey === undefined) copyRows(`${select} ORDER BY ${order('DESC')}`);
  else {
    // A row value compares column by column, in the key's order (SQLite ≥ 3.15).
    const after = `(${source.key.join(', ')}) > (${source.key.map(() => '?').join(', ')})`;
    copyRows(`${select} WHERE ${after} ORDER BY ${order('DESC')}`, ...lastKey);
  }
  return { copied, damage: `${source.name}: ${errorText(failure)}` };
}

/** A single number from `old`, or `fallback` when it cannot be read. */
function readNumber(db: Database.Database, sql: string, fallback: number): number {
  try {
    const value: unknown = db.prepare(sql).pluck().get();
    return typeof value === 'number' ? value : fallback;
  } catch {
    return fallback;
  }
}

/** The outbox's running totals and id counter, which its rows alone do not tell. */
function restoreOutboxCounters(old: Database.Database | undefined, fresh: Database.Database): void {
  const oldCounter = (sql: string) => (old === undefined ? 0 : readNumber(old, sql, 0));
  fresh
    .prepare(
      `UPDATE outbox_totals SET depth = (SELECT count(*) FROM outbox),
         bytes = (SELECT coalesce(sum(bytes), 0) FROM outbox), dropped = ?, published = ? WHERE id = 1`,
    )
    .run(
      oldCounter('SELECT dropped FROM outbox_totals WHERE id = 1'),
      oldCounter('SELECT published FROM outbox_totals WHERE id = 1'),
    );
  // Ids of acknowledged messages are not handed out again (see the outbox table in migrations.ts).
  const lastId = oldCounter("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'");
  if (lastId === 0) return;
  const raised = fresh
    .prepare("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'outbox'")
    .run(lastId);
  if (raised.changes === 0) {
    fresh.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)").run(lastId);
  }
}

/** The floor for devices whose number may be lost: above everything the old file still tells. */
function sequenceFloor(fresh: Database.Database, corruptPath: string, now: number): number {
  let modified = 0;
  try {
    modified = Math.ceil(statSync(corruptPath).mtimeMs);
  } catch {
    // Gone already: the other bounds remain.
  }
  const highest = (sql: string) => readNumber(fresh, sql, 0);
  return Math.max(
    now,
    modified,
    highest('SELECT max(ts) FROM readings_history'),
    highest('SELECT max(enqueued_at) FROM outbox'),
    highest('SELECT max(floor) FROM sequence_floor'),
    highest('SELECT max(last_seq) FROM sequences'),
    highest('SELECT max(seq) FROM readings_history'),
  );
}

/**
 * Raises each device's last number to the highest its history shows. With the sequences table read to
 * the end a device missing from it never had a number, so the history adds it; otherwise only devices
 * that kept their row are raised (the others start above the floor, history being no proof of their
 * last number).
 */
function continueSequences(fresh: Database.Database, sequencesComplete: boolean): void {
  const highestPerDevice =
    'SELECT device_id, max(seq) AS seq FROM readings_history WHERE true GROUP BY device_id';
  fresh.exec(
    sequencesComplete
      ? `INSERT INTO sequences (device_id, last_seq) ${highestPerDevice}
         ON CONFLICT (device_id) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)`
      : `UPDATE sequences SET last_seq = max(last_seq, history.seq) FROM (${highestPerDevice}) AS history
         WHERE history.device_id = sequences.device_id`,
  );
}

/** Sets the floor (see the top of this file) and returns it. */
function raiseSequenceFloor(fresh: Database.Database, corruptPath: string, now: number): number {
  const floor = sequenceFloor(fresh, corruptPath, now);
  fresh
    .prepare(
      `INSERT INTO sequence_floor (id, floor) VALUES (1, ?)
       ON CONFLICT (id) DO UPDATE SET floor = max(floor, excluded.floor)`,
    )
    .run(floor);
  return floor;
}

interface CorruptSource {
  db: Database.Database;
  tables: Set<string>;
}

/** The corrupt file, read-only, with the tables it has; or why it cannot be read at all. */
function openCorrupt(path: string): CorruptSource | string {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const names = db.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    return { db, tables: new Set(names) };
  } catch (error) {
    db?.close();
    return errorText(error);
  }
}

/** Copies every table `source` has; returns whether both sequence tables were read to the end. */
function copyTables(
  source: CorruptSource,
  fresh: Database.Database,
  copied: Record<string, number>,
  damaged: string[],
): boolean {
  let sequencesComplete = true;
  for (const table of SALVAGED_TABLES) {
    // A table that does not exist (a file from an older version) has no rows to lose, unless the
    // older version kept them in another table.
    const from = source.tables.has(table.name)
      ? table
      : table.formerly && source.tables.has(table.formerly.name)
        ? table.formerly
        : undefined;
    if (from === undefined) continue;
    const result = copyTable(source.db, fresh, table, from);
    copied[table.name] = result.copied;
    if (result.damage === undefined) continue;
    damaged.push(result.damage);
    if (SEQUENCE_TABLES.has(table.name)) sequencesComplete = false;
  }
  return sequencesComplete;
}

/**
 * Copies what can be read from the corrupt database at `corruptPath` into `fresh` (migrated, empty),
 * in one transaction, and sets the sequence floor if any device's number may be lost.
 */
export function salvageInto(fresh: Database.Database, corruptPath: string, now: number): Salvage {
  const copied: Record<string, number> = Object.fromEntries(SALVAGED_TABLES.map(({ name }) => [name, 0]));
  const damaged: string[] = [];
  const opened = openCorrupt(corruptPath);
  const source = typeof opened === 'string' ? undefined : opened;
  if (typeof opened === 'string') damaged.push(`the whole file: ${opened}`);
  let floor: number | undefined;
  try {
    fresh.transaction(() => {
      const sequencesComplete = source !== undefined && copyTables(source, fresh, copied, damaged);
      restoreOutboxCounters(source?.db, fresh);
      continueSequences(fresh, sequencesComplete);
      if (!sequencesComplete) floor = raiseSequenceFloor(fresh, corruptPath, now);
    })();
    return { copied, damaged, sequenceFloor: floor };
  } finally {
    source?.db.close();
  }
}
