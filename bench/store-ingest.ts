/**
 * Bulk ingest through the store port (`writeReadings`, batches of 10,000 rows: staging, upsert, devices,
 * latest readings) beside the engine's own bulk load of the same rows into the same `readings` table
 * (DuckDB's appender; PostgreSQL's COPY). Each figure is the median of three loads into a fresh store.
 * Issue 2's target: the store at least 0.5x the engine's bulk load.
 *
 * Also exports the synthetic readings and raw loaders the other store and API benchmarks share.
 */
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { DuckDBInstance, timestampValue } from '@duckdb/node-api'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { DuckdbStore } from '../src/adapters/duckdb/duckdb-store.js'
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js'
import type { Store } from '../src/core/ports/store.js'
import type { Reading } from '../src/core/types.js'
import { VENDOR_MEASURES } from '../src/core/types.js'
import { reachable } from '../test/support/services.js'
import { type BenchOptions, type BenchResult, median } from './types.js'

export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
/** Rows per `writeReadings` call. */
export const STORE_BATCH = 10_000
const MINUTE_MS = 60_000
/** 2024-01-01T00:00Z: the first minute of every synthetic series. */
export const SERIES_START = Date.UTC(2024, 0, 1)

/**
 * Six vendor measures a minute for `devices` devices over `minutes` minutes, minute by minute. Values carry two
 * decimals, as sensors report them (the vendor's payload has one, the WSN motes of `data/` two). Values of
 * seventeen significant digits, as forecasts have, cost a page about twice as much to write as text: a
 * device-day's `GET /sensorsdata` took 4.3–4.8 ms of the JavaScript thread with them, 2.2–2.8 ms without.
 */
export function syntheticReadings(devices: number, minutes: number, start = SERIES_START): Reading[] {
  const rows: Reading[] = []
  for (let m = 0; m < minutes; m++) {
    const time = start + m * MINUTE_MS
    for (let d = 0; d < devices; d++) {
      const deviceId = `bench-${String(d).padStart(4, '0')}`
      for (let i = 0; i < VENDOR_MEASURES.length; i++) {
        rows.push({
          time,
          deviceId,
          measure: VENDOR_MEASURES[i]!,
          value: Math.round((20 + i + Math.sin(m / 30 + d)) * 100) / 100,
          source: 'bench',
        })
      }
    }
  }
  return rows
}

/** Writes `rows` through the store port in batches; returns seconds taken. */
export async function storeLoad(
  store: Store,
  rows: readonly Reading[],
  batch = STORE_BATCH,
): Promise<number> {
  const started = performance.now()
  for (let i = 0; i < rows.length; i += batch) await store.writeReadings(rows.slice(i, i + batch))
  return (performance.now() - started) / 1000
}

/** Appends `rows` to the `readings` table of the DuckDB file at `path` with DuckDB's appender; returns seconds. */
export async function duckdbAppend(path: string, rows: readonly Reading[]): Promise<number> {
  const instance = await DuckDBInstance.create(path)
  const connection = await instance.connect()
  try {
    const started = performance.now()
    const appender = await connection.createAppender('readings')
    for (const r of rows) {
      appender.appendTimestamp(timestampValue(BigInt(r.time) * 1000n))
      appender.appendVarchar(r.deviceId)
      appender.appendVarchar(r.measure)
      appender.appendDouble(r.value)
      appender.appendVarchar(r.source)
      appender.endRow()
    }
    appender.flushSync()
    appender.closeSync()
    return (performance.now() - started) / 1000
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}

/** COPYs `rows` into the `readings` table of `schema`; returns seconds. */
export async function postgresCopy(url: string, schema: string, rows: readonly Reading[]): Promise<number> {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` })
  await client.connect()
  try {
    const started = performance.now()
    async function* text(): AsyncGenerator<string> {
      for (let i = 0; i < rows.length; i += 5000) {
        let chunk = ''
        for (const r of rows.slice(i, i + 5000)) {
          chunk += `${new Date(r.time).toISOString()}\t${r.deviceId}\t${r.measure}\t${r.value}\t${r.source}\n`
        }
        yield chunk
      }
    }
    await pipeline(
      Readable.from(text()),
      client.query(copyFrom('COPY readings (time, device_id, measure, value, source) FROM STDIN')),
    )
    return (performance.now() - started) / 1000
  } finally {
    await client.end()
  }
}

/** Drops PostgreSQL schemas made by a benchmark. */
export async function dropSchemas(url: string, schemas: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  } finally {
    await client.end()
  }
}

/** A schema name no other run uses. */
export function benchSchema(tag: string): string {
  return `airlake_bench_${tag}_${randomUUID().slice(0, 8)}`
}

function rowsPerSecond(
  name: string,
  rows: number,
  storeSeconds: number[],
  rawSeconds: number[],
  raw: string,
): BenchResult {
  const figure = rows / median(storeSeconds)
  const baseline = rows / median(rawSeconds)
  const ratio = figure / baseline
  return {
    name,
    figure,
    unit: 'rows/s',
    baseline: { name: raw, figure: baseline },
    ratio,
    target: '>= 0.5x',
    met: ratio >= 0.5,
    notes: `${rows.toLocaleString('en-US')} rows, median of ${storeSeconds.length} loads into a fresh store`,
  }
}

export async function run({ quick = false }: BenchOptions): Promise<BenchResult[]> {
  const repeats = 3
  const results: BenchResult[] = []
  const dir = await mkdtemp(join(tmpdir(), 'airlake-bench-store-ingest-'))
  try {
    const rows = syntheticReadings(quick ? 40 : 500, quick ? 500 : 1667)
    const storeSeconds: number[] = []
    const rawSeconds: number[] = []
    for (let i = 0; i < repeats; i++) {
      const store = await DuckdbStore.open(join(dir, `store-${i}.duckdb`))
      storeSeconds.push(await storeLoad(store, rows))
      await store.close()
      const fresh = await DuckdbStore.open(join(dir, `raw-${i}.duckdb`))
      await fresh.close()
      rawSeconds.push(await duckdbAppend(join(dir, `raw-${i}.duckdb`), rows))
    }
    results.push(
      rowsPerSecond('DuckDB store writeReadings', rows.length, storeSeconds, rawSeconds, 'DuckDB appender'),
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }

  if (!(await reachable(5432))) {
    process.stderr.write(
      'PostgreSQL is not reachable on 127.0.0.1:5432: the PostgreSQL figures are skipped\n',
    )
    return results
  }
  const schemas: string[] = []
  try {
    const rows = syntheticReadings(quick ? 20 : 200, quick ? 500 : 1667)
    const storeSeconds: number[] = []
    const rawSeconds: number[] = []
    for (let i = 0; i < repeats; i++) {
      const schema = benchSchema('ingest')
      schemas.push(schema)
      const store = await PostgresStore.open(POSTGRES_URL, { schema })
      storeSeconds.push(await storeLoad(store, rows))
      await store.close()
      const rawSchema = benchSchema('copy')
      schemas.push(rawSchema)
      await (await PostgresStore.open(POSTGRES_URL, { schema: rawSchema })).close()
      rawSeconds.push(await postgresCopy(POSTGRES_URL, rawSchema, rows))
    }
    results.push(
      rowsPerSecond(
        'PostgreSQL store writeReadings',
        rows.length,
        storeSeconds,
        rawSeconds,
        'PostgreSQL COPY',
      ),
    )
  } finally {
    await dropSchemas(POSTGRES_URL, schemas)
  }
  return results
}
