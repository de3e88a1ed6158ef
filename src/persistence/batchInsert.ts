import type Database from 'better-sqlite3';

// One INSERT statement for many rows: `INSERT … VALUES (…), (…), …`. A burst of readings writes a row
// per reading into several tables; a statement per row cost ~0.7 µs more per row than one statement
// for the burst (better-sqlite3's call, SQLite's statement setup). Statements are prepared once per
// row count and kept; a longer burst goes in chunks of MAX_ROWS.

const MAX_ROWS = 64;

export class BatchInsert {
  readonly #db: Database.Database;
  readonly #head: string;
  readonly #tail: string;
  readonly #tuple: string;
  readonly #columns: number;
  readonly #statements = new Map<number, Database.Statement<unknown[]>>();

  /**
   * `head` is the statement up to VALUES (`INSERT INTO t (a, b)`), `columns` the values per row, `tail`
   * what follows the values (an `ON CONFLICT` clause).
   */
  constructor(db: Database.Database, head: string, columns: number, tail = '') {
    this.#db = db;
    this.#head = head;
    this.#tail = tail;
    this.#columns = columns;
    this.#tuple = `(${new Array<string>(columns).fill('?').join(', ')})`;
  }

  /**
   * Inserts the rows in `values` (flat: row after row) in order. Returns the rowid of the last row: the
   * rows of one statement get consecutive rowids in an AUTOINCREMENT table written by one connection.
   */
  run(values: readonly unknown[]): number {
    const rows = values.length / this.#columns;
    let lastRowid = 0;
    for (let first = 0; first < rows; first += MAX_ROWS) {
      const count = Math.min(MAX_ROWS, rows - first);
      const chunk =
        count === rows ? values : values.slice(first * this.#columns, (first + count) * this.#columns);
      lastRowid = Number(this.#statement(count).run(chunk).lastInsertRowid);
    }
    return lastRowid;
  }

  #statement(rows: number): Database.Statement<unknown[]> {
    let statement = this.#statements.get(rows);
    if (statement === undefined) {
      const tuples = new Array<string>(rows).fill(this.#tuple).join(', ');
      statement = this.#db.prepare(`${this.#head} VALUES ${tuples} ${this.#tail}`);
      this.#statements.set(rows, statement);
    }
    return statement;
  }
}
