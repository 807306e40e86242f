/**
 * Batched ingest through the API: `POST /sensorsdata/batch` with NDJSON bodies of 2,000 vendor readings
 * (12,000 rows each, 4 requests in flight) over real HTTP into the embedded store, in readings/s, beside the
 * store port's `writeReadings` of the same rows in the same batches and DuckDB's appender loading the same
 * rows into the same table. The API figure includes parsing, checks, bronze (fsync) and the upsert.
 * Issue 2's targets: at least 0.5x the engine's bulk load, and at least 100,000 readings/s through the API.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckdbStore } from '../src/adapters/duckdb/duckdb-store.js'
import { readingsFromVendor } from '../src/core/readings.js'
import type { Reading } from '../src/core/types.js'
import { openApiFixture } from '../test/api-fixture.js'
import { listen, loadTest } from './load.js'
import { duckdbAppend } from './store-ingest.js'
import { type BenchOptions, type BenchResult, median } from './types.js'

const DEVICES = 200
const MINUTES_PER_BODY = 10
const START_S = Date.UTC(2024, 0, 1) / 1000

/** NDJSON bodies of vendor readings: body b holds every device's readings of minutes [10b, 10b + 10). */
function ndjsonBodies(count: number): string[] {
  return Array.from({ length: count }, (_, b) => {
    const lines: string[] = []
    for (let m = b * MINUTES_PER_BODY; m < (b + 1) * MINUTES_PER_BODY; m++) {
      for (let d = 0; d < DEVICES; d++) {
        const readings = [
          1,
          21 + (d % 7) / 10,
          40 + (m % 11),
          101.2,
          50 + ((m + d) % 90),
          600 + (m % 300),
          0.8,
        ]
        lines.push(JSON.stringify({ devid: `batch-${d}`, ts: START_S + m * 60 + 7, readings }))
      }
    }
    return lines.join('\n')
  })
}

export async function run({ quick = false }: BenchOptions): Promise<BenchResult[]> {
  const requests = quick ? 16 : 170
  const repeats = quick ? 1 : 3
  const bodies = ndjsonBodies(requests)
  const batches: Reading[][] = bodies.map((body) =>
    body.split('\n').flatMap((line) => readingsFromVendor(JSON.parse(line), 'http')),
  )
  const rows = batches.flat()
  const seconds = { api: [] as number[], store: [] as number[], appender: [] as number[] }
  const dir = await mkdtemp(join(tmpdir(), 'airlake-bench-api-ingest-'))
  try {
    for (let i = 0; i < repeats; i++) {
      const f = await openApiFixture()
      try {
        const result = await loadTest({
          port: await listen(f.app),
          method: 'POST',
          paths: ['/sensorsdata/batch'],
          bodies,
          headers: { 'content-type': 'application/x-ndjson', 'x-api-key': f.key },
          concurrency: 4,
          requests,
        })
        if (result.statuses['200'] !== requests)
          throw new Error(`batches failed: ${JSON.stringify(result.statuses)}`)
        const stored = await f.store.countReadings()
        if (stored !== rows.length) throw new Error(`stored ${stored} readings of ${rows.length}`)
        seconds.api.push(requests / result.rate)
      } finally {
        await f.close()
      }

      const store = await DuckdbStore.open(join(dir, `store-${i}.duckdb`))
      const started = performance.now()
      for (const batch of batches) await store.writeReadings(batch)
      seconds.store.push((performance.now() - started) / 1000)
      await store.close()

      await (await DuckdbStore.open(join(dir, `raw-${i}.duckdb`))).close()
      seconds.appender.push(await duckdbAppend(join(dir, `raw-${i}.duckdb`), rows))
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  const api = rows.length / median(seconds.api)
  const store = rows.length / median(seconds.store)
  const appender = rows.length / median(seconds.appender)
  const notes = `${rows.length.toLocaleString('en-US')} readings in ${requests} NDJSON requests of ${(
    DEVICES * MINUTES_PER_BODY
  ).toLocaleString('en-US')} vendor readings, median of ${repeats}`
  return [
    {
      name: 'POST /sensorsdata/batch readings/s (embedded store)',
      figure: api,
      unit: 'rows/s',
      baseline: { name: 'DuckDB appender', figure: appender },
      ratio: api / appender,
      target: '>= 0.5x and >= 100,000 rows/s',
      met: api / appender >= 0.5 && api >= 100_000,
      notes,
    },
    {
      name: 'store writeReadings readings/s (same batches)',
      figure: store,
      unit: 'rows/s',
      baseline: { name: 'DuckDB appender', figure: appender },
      ratio: store / appender,
      target: '>= 0.5x',
      met: store / appender >= 0.5,
      notes: 'the store port alone, batches of 12,000 rows, one after another',
    },
  ]
}
