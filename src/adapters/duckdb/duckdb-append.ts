/**
 * How the embedded store writes rows: one prepared `INSERT` bound to a text per column, and DuckDB's appender
 * (the engine's own bulk load) for batches past 100,000 rows.
 *
 * The appender runs on the JavaScript thread: a call per cell, and a flush that costs a fixed 0.25–0.9 ms
 * however few its rows, with the commit's fsync when it commits. A prepared statement runs, commits and
 * syncs on DuckDB's threads, so a server goes on reading requests meanwhile. Its rows are bound as one text
 * per column (numbers joined by commas, strings by a control character) that DuckDB splits back. Binding
 * them as lists made a native value per cell, and the garbage collector's pass over those values stalled
 * the JavaScript thread 7–10 ms every ~3,700 rows written. Past 100,000 rows the texts cost more than the
 * appender, above all when the batch's keys are stored already (docs/decisions/002-embedded-write-path.md).
 */
import type { DuckDBAppender, DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api'
import { ts } from './duckdb-time.js'
import { transaction } from './duckdb-transaction.js'

/** Rows up to which a batch is written by the text-bound `INSERT`; larger ones by the appender. */
export const TEXT_BOUND_ROWS = 100_000

/**
 * Rows up to which one append is one flush of the appender, so atomic on its own in autocommit mode
 * (DuckDB's appender flushes by itself past about 200,000 rows); larger appends get their own transaction.
 */
const ATOMIC_APPEND_ROWS = 100_000

/** Appends `rows` to `table` of the database (`main`) or the connection's temp tables, inside the open transaction if any. */
export async function appendRows<T>(
  c: DuckDBConnection,
  table: string,
  schema: 'main' | 'temp',
  rows: readonly T[],
  append: (appender: DuckDBAppender, row: T) => void,
): Promise<void> {
  const appender =
    schema === 'temp' ? await c.createAppender(table, 'main', 'temp') : await c.createAppender(table)
  try {
    for (const row of rows) {
      append(appender, row)
      appender.endRow()
    }
    appender.flushSync()
  } catch (error) {
    // Drop the rows that failed before closing: closing (or the garbage collector, if closing fails) flushes
    // them again, and a flush failing later aborts whatever transaction the connection has open by then.
    try {
      appender.clear()
      appender.closeSync()
    } catch {}
    throw error
  }
  appender.closeSync()
}

/**
 * Upserts `rows` (unique on the table's key) as one transaction. New rows (the usual case) are appended
 * straight to the table, the engine's own bulk load; a row whose key is already stored makes the append fail,
 * having stored nothing, and then the rows are appended to `stage` (a temporary table of the same columns)
 * and upserted from it by `upsert`.
 */
export async function appendOrUpsert<T>(
  c: DuckDBConnection,
  rows: readonly T[],
  append: (appender: DuckDBAppender, row: T) => void,
  sql: { table: string; stage: string; upsert: string },
): Promise<void> {
  if (await appendNew(c, sql.table, rows, append)) return
  await c.run('BEGIN TRANSACTION')
  try {
    await appendRows(c, sql.stage, 'temp', rows, append)
    // The stage is emptied inside the transaction, and by its rollback on failure.
    await c.run(`${sql.upsert}; DELETE FROM ${sql.stage}; COMMIT`)
  } catch (error) {
    await c.run('ROLLBACK').catch(() => undefined)
    throw error
  }
}

/**
 * Appends `rows` to `table` as one transaction of their own (outside any open one); resolves false, having
 * stored nothing, when a row's primary key is already in the table.
 */
async function appendNew<T>(
  c: DuckDBConnection,
  table: string,
  rows: readonly T[],
  append: (appender: DuckDBAppender, row: T) => void,
): Promise<boolean> {
  const own = rows.length > ATOMIC_APPEND_ROWS
  if (own) await c.run('BEGIN TRANSACTION')
  try {
    await appendRows(c, table, 'main', rows, append)
    if (own) await c.run('COMMIT')
    return true
  } catch (error) {
    if (own) await c.run('ROLLBACK').catch(() => undefined)
    if (isDuplicateKey(error)) return false
    throw error
  }
}

/** Whether a driver error is a primary-key violation (a row that is already stored). */
function isDuplicateKey(error: unknown): boolean {
  return /duplicate key/i.test(error instanceof Error ? error.message : String(error))
}

/** Joins a column's strings for `string_split`; a batch whose strings hold it binds them as JSON instead. */
const SEPARATOR = '\u001f'

/** An insert of one table bound to a text per column, and the same insert as an upsert. */
interface Bound {
  insert: DuckDBPreparedStatement
  upsert: DuckDBPreparedStatement
}

/** A column written by a `TableWriter`: its name, its type, and its value in a row (times in epoch ms). */
export type TableColumn<T> =
  | { name: string; type: 'timestamp' | 'double'; value: (row: T) => number }
  | { name: string; type: 'varchar'; value: (row: T) => string }

/** A table as a `TableWriter` writes it. */
export interface TableSpec<T> {
  table: string
  /** Every column, in the table's order. */
  columns: ReadonlyArray<TableColumn<T>>
  /**
   * The primary key's columns; the others are replaced on conflict (last write wins). Empty for a table
   * without a key, which is only appended to.
   */
  key: readonly string[]
}

/**
 * Upserts batches of rows (unique on the key) into one table, each batch as one statement: stored whole or
 * not at all. Batches up to `TEXT_BOUND_ROWS` bind each column as one text to a prepared
 * `INSERT … SELECT unnest(string_split(…))`; larger ones go through the appender (`appendOrUpsert`). New rows
 * (the usual case) are a plain insert; when a key is already stored that insert fails having stored nothing,
 * and the batch is upserted instead.
 *
 * Bound to the connection it was prepared on (a write lane's), which must run one write at a time.
 */
export class TableWriter<T> {
  private constructor(
    private readonly connection: DuckDBConnection,
    private readonly spec: TableSpec<T>,
    /** The statements for strings joined by `SEPARATOR`, and for strings as a JSON array. */
    private readonly split: Bound,
    private readonly json: Bound,
    private readonly stage: { stage: string; upsert: string },
  ) {}

  /**
   * Prepares the text-bound statements and, for a table with a key, creates the connection's staging table
   * for the appender's upserts.
   */
  static async prepare<T>(c: DuckDBConnection, spec: TableSpec<T>): Promise<TableWriter<T>> {
    const keyed = spec.key.length > 0
    const names = spec.columns.map((column) => column.name).join(', ')
    const sqlType = { timestamp: 'TIMESTAMP', double: 'DOUBLE', varchar: 'VARCHAR' } as const
    const stage = `${spec.table}_stage`
    if (keyed) {
      await c.run(
        `CREATE TEMP TABLE IF NOT EXISTS ${stage} (${spec.columns.map((column) => `${column.name} ${sqlType[column.type]}`).join(', ')})`,
      )
    }
    const onConflict = `ON CONFLICT (${spec.key.join(', ')}) DO UPDATE SET ${spec.columns
      .filter((column) => !spec.key.includes(column.name))
      .map((column) => `${column.name} = excluded.${column.name}`)
      .join(', ')}`
    const bound = async (strings: 'split' | 'json'): Promise<Bound> => {
      const texts = spec.columns
        .map((column, i) => {
          const p = `$${i + 1}`
          const value =
            column.type === 'varchar'
              ? strings === 'split'
                ? `unnest(string_split(${p}, chr(31)))`
                : `unnest(CAST(CAST(${p} AS JSON) AS VARCHAR[]))`
              : `unnest(CAST(string_split(${p}, ',') AS DOUBLE[]))`
          return column.type === 'timestamp' ? `make_timestamp(CAST(${value} * 1000 AS BIGINT))` : value
        })
        .join(', ')
      const insert = `INSERT INTO ${spec.table} (${names}) SELECT ${texts}`
      const prepared = await c.prepare(insert)
      // A table without a key is only appended to: it has no conflict to resolve.
      return { insert: prepared, upsert: keyed ? await c.prepare(`${insert} ${onConflict}`) : prepared }
    }
    return new TableWriter(c, spec, await bound('split'), await bound('json'), {
      stage,
      upsert: `INSERT INTO ${spec.table} (${names}) SELECT * FROM ${stage} ${onConflict}`,
    })
  }

  /**
   * Upserts `rows`, unique on the key, as one statement; appends them to a table without a key, in
   * statements of at most `TEXT_BOUND_ROWS` rows inside one transaction.
   */
  async write(rows: readonly T[]): Promise<void> {
    if (this.spec.key.length === 0) {
      if (rows.length <= TEXT_BOUND_ROWS) await this.bind(rows, 'insert').run()
      else
        await transaction(this.connection, async () => {
          for (let from = 0; from < rows.length; from += TEXT_BOUND_ROWS)
            await this.bind(rows.slice(from, from + TEXT_BOUND_ROWS), 'insert').run()
        })
      return
    }
    if (rows.length > TEXT_BOUND_ROWS) {
      await appendOrUpsert(this.connection, rows, this.appendRow, { table: this.spec.table, ...this.stage })
      return
    }
    try {
      await this.bind(rows, 'insert').run()
    } catch (error) {
      if (!isDuplicateKey(error)) throw error
      await this.bind(rows, 'upsert').run()
    }
  }

  /** Binds each column of `rows` as one text to the insert or the upsert, and returns that statement. */
  private bind(rows: readonly T[], to: keyof Bound): DuckDBPreparedStatement {
    const columns = this.spec.columns.map((column) => rows.map(column.value as (row: T) => string | number))
    const split = columns.every(
      (values, i) =>
        this.spec.columns[i]!.type !== 'varchar' ||
        !values.some((value) => (value as string).includes(SEPARATOR)),
    )
    const statement = (split ? this.split : this.json)[to]
    columns.forEach((values, i) => {
      const varchar = this.spec.columns[i]!.type === 'varchar'
      statement.bindVarchar(
        i + 1,
        !varchar ? values.join(',') : split ? values.join(SEPARATOR) : JSON.stringify(values),
      )
    })
    return statement
  }

  private readonly appendRow = (appender: DuckDBAppender, row: T): void => {
    for (const column of this.spec.columns) {
      if (column.type === 'varchar') appender.appendVarchar(column.value(row))
      else if (column.type === 'double') appender.appendDouble(column.value(row))
      else appender.appendTimestamp(ts(column.value(row)))
    }
  }
}
