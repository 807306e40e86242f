import type { DuckDBConnection } from '@duckdb/node-api'

/** Runs `work` in one transaction on `c`: committed if it resolves, rolled back if it throws. */
export async function transaction<T>(c: DuckDBConnection, work: () => Promise<T>): Promise<T> {
  await c.run('BEGIN TRANSACTION')
  try {
    const result = await work()
    await c.run('COMMIT')
    return result
  } catch (error) {
    await c.run('ROLLBACK').catch(() => undefined)
    throw error
  }
}
