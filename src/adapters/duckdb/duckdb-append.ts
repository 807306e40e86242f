/** DuckDB's appender, the engine's own bulk load, as the embedded store uses it. */
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api'

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
