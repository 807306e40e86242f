/**
 * The store contract against PostgreSQL (a fresh schema per test, all dropped at the end), plus what only a
 * shared server does: two processes migrating at once, and a clear error when the server cannot be reached.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import pg from 'pg'
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js'
import { isAirlakeError } from '../src/core/errors.js'
import { storeContract } from './store.contract.js'
import { POSTGRES_URL, skipUnless } from './support/services.js'

const skip = await skipUnless('PostgreSQL', 5432)
if (skip) {
  it('PostgresStore contract', { skip }, () => {})
} else {
  const schemas: string[] = []
  const freshSchema = () => {
    const schema = `airlake_store_test_${process.pid}_${schemas.length + 1}`
    schemas.push(schema)
    return schema
  }

  after(async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL })
    await client.connect()
    try {
      for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    } finally {
      await client.end()
    }
  })

  storeContract('PostgreSQL', () => PostgresStore.open(POSTGRES_URL, { schema: freshSchema(), poolSize: 4 }))

  describe('PostgreSQL store', () => {
    it('migrates once when several processes start together on one schema', async () => {
      const schema = freshSchema()
      const stores = await Promise.all(
        [1, 2, 3].map(() => PostgresStore.open(POSTGRES_URL, { schema, poolSize: 2 })),
      )
      try {
        const rows = await stores[0]!.query(
          'SELECT version, count(*) AS n FROM schema_migrations GROUP BY version',
        )
        assert.ok(rows.length >= 4)
        assert.ok(rows.every((r) => r.n === 1))
        // Writers in different processes upserting the same keys: one row each, the last write kept.
        await Promise.all(
          stores.map((store, i) =>
            store.writeReadings(
              Array.from({ length: 200 }, (_, m) => ({
                time: Date.UTC(2024, 0, 1) + m * 60_000,
                deviceId: 'shared',
                measure: 'iaq',
                value: i,
                source: 'http',
              })),
            ),
          ),
        )
        assert.equal(await stores[1]!.countReadings(), 200)
        const values = await stores[2]!.query('SELECT count(DISTINCT value) AS n FROM readings')
        assert.ok(Number(values[0]?.n) >= 1)
      } finally {
        await Promise.all(stores.map((s) => s.close()))
      }
    })

    it('keeps each schema apart', async () => {
      const a = await PostgresStore.open(POSTGRES_URL, { schema: freshSchema(), poolSize: 2 })
      const b = await PostgresStore.open(POSTGRES_URL, { schema: freshSchema(), poolSize: 2 })
      try {
        await a.setState('k', 'a')
        assert.equal(await b.getState('k'), undefined)
      } finally {
        await Promise.all([a.close(), b.close()])
      }
    })

    it('reads a page of readings from the key alone once the table is vacuumed', async () => {
      const schema = freshSchema()
      const store = await PostgresStore.open(POSTGRES_URL, { schema, poolSize: 2 })
      // The exact statement the store sends for the pivoted page, caught on its way to the server.
      const query = pg.Client.prototype.query
      let page: { text: string; values: unknown[] } | undefined
      pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
        const config = args[0] as { text?: string; values?: unknown[] }
        if (config?.text?.includes('FILTER (WHERE measure'))
          page = { text: config.text, values: config.values ?? [] }
        return (query as (...a: unknown[]) => unknown).apply(this, args)
      } as typeof query
      try {
        const at = Date.UTC(2024, 0, 1)
        await store.writeReadings(
          ['a', 'b'].flatMap((deviceId) =>
            Array.from({ length: 200 }, (_, m) => ({
              time: at + Math.floor(m / 2) * 60_000,
              deviceId,
              measure: m % 2 === 0 ? 'iaq' : 'co2',
              value: m,
              source: 'http',
            })),
          ),
        )
        const grid = await store.readingsGrid({ deviceId: 'a', from: at, to: at + 3_600_000, limitTimes: 10 })
        assert.equal(grid.times.length, 10)
      } finally {
        pg.Client.prototype.query = query
        await store.close()
      }
      assert.ok(page, 'the store sent its pivoted page query')
      const client = new pg.Client({ connectionString: POSTGRES_URL, options: `-c search_path=${schema}` })
      await client.connect()
      try {
        await client.query('VACUUM ANALYZE readings')
        // A table this small is cheaper to read whole: the planner is asked for its index plans only.
        await client.query('SET enable_seqscan = off')
        await client.query('SET enable_bitmapscan = off')
        const plan = await client.query(`EXPLAIN (FORMAT JSON) ${page.text}`, page.values)
        assert.match(JSON.stringify(plan.rows), /Index Only Scan/)
      } finally {
        await client.end()
      }
    })

    it('names host and port when PostgreSQL cannot be reached', async () => {
      await assert.rejects(
        PostgresStore.open('postgres://postgres@127.0.0.1:1/test'),
        (error: unknown) =>
          isAirlakeError(error, 'STORE_UNAVAILABLE') &&
          error.message.includes('127.0.0.1:1') &&
          error.message.includes('DATABASE_URL'),
      )
    })

    it('refuses a schema name that is not an identifier', async () => {
      await assert.rejects(
        PostgresStore.open(POSTGRES_URL, { schema: 'x"; DROP TABLE readings; --' }),
        (error: unknown) => isAirlakeError(error, 'CONFIG_INVALID'),
      )
    })
  })
}
