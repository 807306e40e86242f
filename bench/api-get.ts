/**
 * `GET /sensorsdata` for one device-day (1,440 minutes, pivoted to six measures) over real HTTP, p50/p99,
 * beside the store port's `readingsGrid` (the read the route makes) of the same device-days in the same
 * process: on the embedded store (DuckDB) and on PostgreSQL (skipped when it is not reachable). Each store holds 10 million readings
 * (quick: about 350,000). DuckDB is measured twice: with the days as they were written (time order, every
 * device interleaved) and after the store's compaction of closed days (duckdb-compaction.ts), its state an
 * hour after each day ends. Issue 2's target: p99 at most 15 ms.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckdbStore } from '../src/adapters/duckdb/duckdb-store.js'
import { type ApiFixture, openApiFixture } from '../test/api-fixture.js'
import { reachable } from '../test/support/services.js'
import { listen, loadTest } from './load.js'
import { POSTGRES_URL } from './store-ingest.js'
import { deviceDayQueries, type SeedPlan, seedDuckdb, seedPostgres, timeQueries } from './store-query.js'
import { type BenchOptions, type BenchResult, quantile } from './types.js'

export async function run({ quick = false }: BenchOptions): Promise<BenchResult[]> {
  const plan: SeedPlan = quick ? { devices: 10, days: 4 } : { devices: 116, days: 10 }
  const count = quick ? 100 : 500
  const results: BenchResult[] = []
  const home = await mkdtemp(join(tmpdir(), 'airlake-bench-api-get-'))
  try {
    const readings = await seedDuckdb(join(home, 'airlake.duckdb'), plan)
    const f = await openApiFixture({ home })
    try {
      const port = await listen(f.app)
      results.push(...(await measure('DuckDB', f, port, plan, count, readings, 'days as written')))
      if (!(f.store instanceof DuckdbStore)) throw new Error('the fixture did not open the embedded store')
      const started = performance.now()
      const compacted = await f.store.compact()
      process.stderr.write(
        `  compacted ${compacted.days.length} days (${compacted.readings.toLocaleString('en-US')} readings) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
      )
      results.push(...(await measure('DuckDB', f, port, plan, count, readings, 'closed days compacted')))
    } finally {
      await f.close()
    }
  } finally {
    await rm(home, { recursive: true, force: true })
  }

  if (!(await reachable(5432))) {
    process.stderr.write(
      'PostgreSQL is not reachable on 127.0.0.1:5432: the PostgreSQL figures of api-get are skipped\n',
    )
    return results
  }
  // The fixture makes (and drops) its own schema; the readings are copied into it.
  const f = await openApiFixture({ store: { kind: 'postgres', url: POSTGRES_URL } })
  try {
    const schema = String((await f.store.query('SELECT current_schema() AS schema'))[0]?.schema)
    const readings = await seedPostgres(POSTGRES_URL, schema, plan)
    results.push(...(await measure('PostgreSQL', f, await listen(f.app), plan, count, readings)))
  } finally {
    await f.close()
  }
  return results
}

/** p50 and p99 of `count` device-day GETs over HTTP, one at a time, beside the store's own `readingsGrid`. */
async function measure(
  engine: string,
  f: ApiFixture,
  port: number,
  plan: SeedPlan,
  count: number,
  readings: number,
  layout?: string,
): Promise<BenchResult[]> {
  const queries = deviceDayQueries(plan, count)
  const paths = queries.map(
    (q) => `/sensorsdata?device=${q.deviceId}&from=${q.from / 1000}&to=${Math.floor(q.to / 1000)}&limit=1440`,
  )
  const headers = { 'x-api-key': f.key }
  await loadTest({ port, method: 'GET', paths: paths.slice(0, 10), headers, concurrency: 1, requests: 10 })
  const api = await loadTest({ port, method: 'GET', paths, headers, concurrency: 1, requests: count })
  if (api.statuses['200'] !== count) throw new Error(`${engine} GETs failed: ${JSON.stringify(api.statuses)}`)
  const direct = await timeQueries(queries, async (q) => {
    const grid = await f.store.readingsGrid(q)
    return grid.values.reduce((values, value) => (Number.isNaN(value) ? values : values + 1), 0)
  })
  const notes = `${engine}, ${readings.toLocaleString('en-US')} readings stored${layout ? ` (${layout})` : ''}, ${count} random device-days, one request at a time`
  const suffix = layout ? `, ${layout}` : ''
  return [0.5, 0.99].map((q) => {
    const figure = quantile(api.latenciesMs, q)
    const baseline = quantile(direct, q)
    return {
      name: `${engine} GET /sensorsdata one device-day p${q * 100}${suffix}`,
      figure,
      unit: 'ms',
      baseline: { name: `${engine} store readingsGrid p${q * 100}${suffix}`, figure: baseline },
      ratio: figure / baseline,
      ...(q === 0.99 ? { target: '<= 15 ms', met: figure <= 15 } : {}),
      notes: `${notes}; lower is better, ratio = figure / baseline`,
    }
  })
}
