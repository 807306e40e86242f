/**
 * One device-day (1,440 minutes x 6 measures) read through the store port's `readingsPage`, p50/p99, beside
 * the same rows read by a plain SQL query on the engine's own driver, on DuckDB and on PostgreSQL. The
 * stores hold many device-days (quick: about 350,000 readings; full: 10 million).
 *
 * Also exports the seeding the API read benchmark shares.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance, timestampValue } from '@duckdb/node-api'
import pg from 'pg'
import { DuckdbStore } from '../src/adapters/duckdb/duckdb-store.js'
import { rebuildSummaries } from '../src/adapters/duckdb/duckdb-summaries.js'
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js'
import type { SeriesPageQuery } from '../src/core/ports/store.js'
import { reachable } from '../test/support/services.js'
import {
  benchSchema,
  dropSchemas,
  duckdbAppend,
  POSTGRES_URL,
  postgresCopy,
  SERIES_START,
  syntheticReadings,
} from './store-ingest.js'
import { type BenchOptions, type BenchResult, quantile } from './types.js'

const DAY_MS = 86_400_000

/** How a seeded store is laid out: `devices` devices, each with `days` full days of six measures a minute. */
export interface SeedPlan {
  devices: number
  days: number
}

/**
 * Fills the `readings` table of a migrated, closed DuckDB store at `path` day by day with the engine's appender
 * (a quicker way to a big store than the upsert path, which store-ingest measures); returns the readings written.
 */
export async function seedDuckdb(path: string, plan: SeedPlan): Promise<number> {
  await (await DuckdbStore.open(path)).close()
  let written = 0
  for (let day = 0; day < plan.days; day++) {
    const rows = syntheticReadings(plan.devices, 1440, SERIES_START + day * DAY_MS)
    await duckdbAppend(path, rows)
    written += rows.length
  }
  const instance = await DuckDBInstance.create(path)
  const connection = await instance.connect()
  try {
    await rebuildSummaries(connection)
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
  return written
}

/** The same for PostgreSQL, by COPY into the store's schema, then vacuumed and analysed as autovacuum would. */
export async function seedPostgres(url: string, schema: string, plan: SeedPlan): Promise<number> {
  await (await PostgresStore.open(url, { schema })).close()
  let written = 0
  for (let day = 0; day < plan.days; day++) {
    const rows = syntheticReadings(plan.devices, 1440, SERIES_START + day * DAY_MS)
    await postgresCopy(url, schema, rows)
    written += rows.length
  }
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` })
  await client.connect()
  try {
    await client.query(POSTGRES_SUMMARIES_SQL)
    // What autovacuum would have done by the time these days are read: statistics, and the visibility map
    // that lets a page be read from the key's index alone.
    await client.query('VACUUM ANALYZE readings')
  } finally {
    await client.end()
  }
  return written
}

/**
 * What PostgreSQL keeps beside the readings it writes (each series' latest reading, each device's first and
 * last time; `GET /sensorsdata` reads a device's measures there), made once after the bulk load bypassed it.
 * The embedded store's is `rebuildSummaries`, its own recovery after a crash.
 */
const POSTGRES_SUMMARIES_SQL = `INSERT INTO latest_readings (device_id, measure, time, value, source)
    SELECT DISTINCT ON (device_id, measure) device_id, measure, time, value, source FROM readings
    ORDER BY device_id, measure, time DESC;
    INSERT INTO devices (id, source, first_seen, last_seen)
    SELECT device_id, min(source), min(time), max(time) FROM readings GROUP BY device_id`

/** `count` random device-day page queries over a seeded store (seeded randomness: the same in every run). */
export function deviceDayQueries(plan: SeedPlan, count: number): SeriesPageQuery[] {
  let state = 42
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31
    return state / 2 ** 31
  }
  return Array.from({ length: count }, () => {
    const device = Math.floor(random() * plan.devices)
    const from = SERIES_START + Math.floor(random() * plan.days) * DAY_MS
    return {
      deviceId: `bench-${String(device).padStart(4, '0')}`,
      from,
      to: from + DAY_MS - 1,
      limitTimes: 1441,
    }
  })
}

/** Latencies (ms) of `read` over every query, one after another, after a few warm-up reads. */
export async function timeQueries(
  queries: readonly SeriesPageQuery[],
  read: (query: SeriesPageQuery) => Promise<number>,
): Promise<number[]> {
  for (const query of queries.slice(0, 5)) await read(query)
  const latencies: number[] = []
  for (const query of queries) {
    const started = performance.now()
    const rows = await read(query)
    latencies.push(performance.now() - started)
    if (rows !== 8640) throw new Error(`a device-day read returned ${rows} rows, expected 8,640`)
  }
  return latencies
}

const RAW_SQL = `SELECT time, measure, value FROM readings
  WHERE device_id = $1 AND time >= $2 AND time <= $3 ORDER BY time DESC, measure`

function latencyResults(engine: string, store: number[], raw: number[], readings: number): BenchResult[] {
  const notes = `${readings.toLocaleString('en-US')} readings stored${engine === 'DuckDB' ? ' (closed days compacted)' : ''}, ${store.length} random device-days, one at a time`
  return [0.5, 0.99].map((q) => {
    const figure = quantile(store, q)
    const baseline = quantile(raw, q)
    return {
      name: `${engine} readingsPage one device-day p${q * 100}`,
      figure,
      unit: 'ms',
      baseline: { name: `plain SQL on the ${engine} driver`, figure: baseline },
      ratio: figure / baseline,
      notes: `${notes}; lower is better, ratio = figure / baseline`,
    }
  })
}

export async function run({ quick = false }: BenchOptions): Promise<BenchResult[]> {
  const results: BenchResult[] = []
  const count = quick ? 60 : 300
  const duckPlan: SeedPlan = quick ? { devices: 10, days: 4 } : { devices: 116, days: 10 }
  const dir = await mkdtemp(join(tmpdir(), 'airlake-bench-store-query-'))
  try {
    const path = join(dir, 'store.duckdb')
    const readings = await seedDuckdb(path, duckPlan)
    const store = await DuckdbStore.open(path)
    // The closed days as the store keeps them an hour after each ends: device by device.
    await store.compact()
    const queries = deviceDayQueries(duckPlan, count)
    const viaStore = await timeQueries(queries, async (q) => (await store.readingsPage(q)).length)
    await store.close()
    const instance = await DuckDBInstance.create(path)
    const connection = await instance.connect()
    try {
      const prepared = await connection.prepare(RAW_SQL)
      const viaDriver = await timeQueries(queries, async (q) => {
        prepared.bind([
          q.deviceId,
          timestampValue(BigInt(q.from) * 1000n),
          timestampValue(BigInt(q.to) * 1000n),
        ])
        return (await prepared.runAndReadAll()).getRows().length
      })
      results.push(...latencyResults('DuckDB', viaStore, viaDriver, readings))
    } finally {
      connection.closeSync()
      instance.closeSync()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }

  if (!(await reachable(5432))) {
    process.stderr.write(
      'PostgreSQL is not reachable on 127.0.0.1:5432: the PostgreSQL figures are skipped\n',
    )
    return results
  }
  const schema = benchSchema('query')
  try {
    const pgPlan: SeedPlan = quick ? { devices: 10, days: 2 } : { devices: 116, days: 10 }
    const readings = await seedPostgres(POSTGRES_URL, schema, pgPlan)
    const store = await PostgresStore.open(POSTGRES_URL, { schema })
    const client = new pg.Client({ connectionString: POSTGRES_URL, options: `-c search_path=${schema}` })
    try {
      await client.connect()
      const queries = deviceDayQueries(pgPlan, count)
      const viaStore = await timeQueries(queries, async (q) => (await store.readingsPage(q)).length)
      const viaDriver = await timeQueries(queries, async (q) => {
        const result = await client.query({
          name: 'device-day',
          text: RAW_SQL,
          values: [q.deviceId, new Date(q.from), new Date(q.to)],
        })
        return result.rowCount ?? 0
      })
      results.push(...latencyResults('PostgreSQL', viaStore, viaDriver, readings))
    } finally {
      await client.end().catch(() => undefined)
      await store.close()
    }
  } finally {
    await dropSchemas(POSTGRES_URL, [schema])
  }
  return results
}
