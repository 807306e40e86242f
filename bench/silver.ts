/**
 * Silver build throughput and the bronze -> silver -> export round trip on one day of devices sending one
 * vendor reading (six measures) a minute: 1,000 devices = 8.64 million rows (quick: 100 devices, 864,000).
 *
 * Bronze segments are written as the bronze writer writes them (one envelope line per reading), then each
 * repetition promotes them to silver from scratch (`promoteToSilver`) and exports the day as CSV
 * (`exportReadings`). Baselines, measured in the same run on the same files with the same DuckDB threads:
 * DuckDB's own `COPY` from the NDJSON straight to Parquet, and straight to CSV (no de-duplication, no sort,
 * no lake). Figures are medians of the repetitions.
 */

import { once } from 'node:events'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { DuckdbColumnar } from '../src/adapters/duckdb/duckdb-columnar.js'
import { FsLake } from '../src/adapters/fs-lake/fs-lake.js'
import { ManualClock } from '../src/core/ports/clock.js'
import { silentLogger } from '../src/core/ports/logger.js'
import { DAY_MS, MINUTE_MS } from '../src/core/time.js'
import { bronzeLine } from '../src/pipeline/bronze.js'
import { exportReadings } from '../src/pipeline/export.js'
import { promoteToSilver } from '../src/pipeline/to-silver.js'
import { type BenchOptions, type BenchResult, median } from './types.js'

const DAY = '2024-01-31'
const DAY_START = Date.UTC(2024, 0, 31)
const MEASURES = ['temperature', 'humidity', 'pressure', 'iaq', 'co2', 'voc'] as const
const SOURCE = 'bench'
const SEGMENT_BYTES = 64 * 1024 * 1024
const THREADS = 2

/** Writes one day of vendor readings as bronze segments; returns their local paths and the rows they hold. */
async function writeBronze(
  lake: FsLake,
  devices: number,
): Promise<{ files: string[]; rows: number; bytes: number }> {
  const files: string[] = []
  let out: ReturnType<typeof createWriteStream> | undefined
  let segmentBytes = 0
  let bytes = 0
  const openSegment = async () => {
    if (out) {
      out.end()
      await once(out, 'finish')
    }
    const path = lake.localPath(
      `bronze/${SOURCE}/${DAY}/segment-${String(files.length).padStart(4, '0')}.ndjson`,
    )
    await mkdir(dirname(path), { recursive: true })
    files.push(path)
    out = createWriteStream(path)
    segmentBytes = 0
  }
  await openSegment()
  for (let minute = 0; minute < 1440; minute++) {
    const time = DAY_START + minute * MINUTE_MS
    let text = ''
    for (let d = 0; d < devices; d++) {
      const deviceId = `dev-${String(d).padStart(4, '0')}`
      const values = [
        21 + (d % 5) + (minute % 13) * 0.1,
        40 + (minute % 17) * 0.25,
        101.3,
        50 + ((minute + d) % 29),
        600 + (minute % 31) * 3,
        0.4 + (d % 3) * 0.1,
      ]
      const raw = JSON.stringify({ devid: deviceId, ts: time / 1000, readings: [...values, 25] })
      const readings = MEASURES.map((measure, i) => ({
        time,
        deviceId,
        measure,
        value: values[i] ?? 0,
        source: SOURCE,
      }))
      text += `${JSON.stringify(bronzeLine(SOURCE, time + 1500, raw, readings))}\n`
    }
    if (segmentBytes + text.length > SEGMENT_BYTES) await openSegment()
    segmentBytes += text.length
    bytes += text.length
    if (out && !out.write(text)) await once(out, 'drain')
  }
  if (out) {
    out.end()
    await once(out, 'finish')
  }
  return { files, rows: devices * 1440 * MEASURES.length, bytes }
}

/** Seconds `run` takes. */
async function seconds(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now()
  await run()
  return (performance.now() - started) / 1000
}

/** Deletes every silver object (partitions, manifest, exports) so the next repetition starts from bronze only. */
async function clearSilver(lake: FsLake): Promise<void> {
  const keys: string[] = []
  for await (const object of lake.list('silver/')) keys.push(object.key)
  for (const key of keys) await lake.delete(key)
}

/** Peak resident memory while `run` runs, sampled every 50 ms (MB). */
async function peakRss<T>(run: () => Promise<T>): Promise<{ result: T; peakMb: number }> {
  let peak = process.memoryUsage().rss
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 50)
  try {
    const result = await run()
    return { result, peakMb: Math.round(Math.max(peak, process.memoryUsage().rss) / 2 ** 20) }
  } finally {
    clearInterval(timer)
  }
}

export async function run(options: BenchOptions = {}): Promise<BenchResult[]> {
  const devices = options.quick ? 100 : 1000
  const repetitions = options.quick ? 3 : 2
  const dir = await mkdtemp(join(tmpdir(), 'airlake-bench-silver-'))
  const lake = await FsLake.open(join(dir, 'lake'))
  const columnar = await DuckdbColumnar.open({ threads: THREADS, memoryLimit: '1GB' })
  const baseline = await DuckDBInstance.create(':memory:', {
    threads: String(THREADS),
    memory_limit: '1GB',
    temp_directory: join(dir, 'spill'),
  })
  const connection = await baseline.connect()
  const deps = {
    lake,
    columnar,
    clock: new ManualClock(DAY_START + DAY_MS + 3_600_000),
    logger: silentLogger,
  }
  try {
    const bronze = await writeBronze(lake, devices)
    const rows = bronze.rows
    const list = `[${bronze.files.map((f) => `'${f}'`).join(', ')}]`
    const direct = (to: string, format: string) =>
      connection.run(`COPY (
        SELECT make_timestamptz((r->>0)::BIGINT * 1000) AS time, r->>1 AS device_id, r->>2 AS measure, (r->>3)::DOUBLE AS value,
          source, make_timestamptz(receivedAt * 1000) AS received_at
        FROM (SELECT receivedAt, source, unnest(rows) AS r FROM read_ndjson(${list}, columns = {receivedAt: 'BIGINT', source: 'VARCHAR', rows: 'JSON[]'}))
      ) TO '${join(dir, to)}' (${format})`)

    // DuckDB doing the silver job itself (same de-duplication and sort) from the NDJSON, once: context for the notes.
    const sameWork = await seconds(() =>
      connection.run(`COPY (
        SELECT make_timestamptz((r->>0)::BIGINT * 1000) AS time, r->>1 AS device_id, r->>2 AS measure, (r->>3)::DOUBLE AS value,
          source, make_timestamptz(receivedAt * 1000) AS received_at
        FROM (SELECT receivedAt, source, unnest(rows) AS r FROM read_ndjson(${list}, columns = {receivedAt: 'BIGINT', source: 'VARCHAR', rows: 'JSON[]'}))
        QUALIFY row_number() OVER (PARTITION BY device_id, measure, time ORDER BY received_at DESC) = 1
        ORDER BY device_id, measure, time
      ) TO '${join(dir, 'same-work.parquet')}' (FORMAT parquet, COMPRESSION zstd)`),
    )
    const rawRead: number[] = []
    const silver: number[] = []
    const exported: number[] = []
    const roundTrip: number[] = []
    const copyParquet: number[] = []
    const copyCsv: number[] = []
    let silverPeakMb = 0
    for (let i = 0; i < repetitions; i++) {
      rawRead.push(
        await seconds(async () => {
          for (const file of bronze.files)
            for await (const _chunk of createReadStream(file, { highWaterMark: 1 << 20 }));
        }),
      )
      await clearSilver(lake)
      const promoted = await peakRss(() => seconds(() => promoteToSilver(deps, { source: SOURCE })))
      const exportSeconds = await seconds(() =>
        exportReadings(deps, { source: SOURCE, range: { day: DAY }, refresh: false }),
      )
      silver.push(promoted.result)
      exported.push(exportSeconds)
      roundTrip.push(promoted.result + exportSeconds)
      silverPeakMb = Math.max(silverPeakMb, promoted.peakMb)
      copyParquet.push(await seconds(() => direct('direct.parquet', 'FORMAT parquet, COMPRESSION zstd')))
      copyCsv.push(await seconds(() => direct('direct.csv', 'FORMAT csv, HEADER true')))
    }
    const rate = (s: number[]) => rows / median(s)
    const size = `${devices.toLocaleString('en-US')} devices × 1,440 minutes × 6 measures = ${rows.toLocaleString('en-US')} rows, ${(bronze.bytes / 2 ** 20).toFixed(0)} MiB of bronze NDJSON in ${bronze.files.length} segments; DuckDB ${THREADS} threads; median of ${repetitions}`
    const rawReadRate = rate(rawRead)
    return [
      {
        name: 'silver build (bronze NDJSON -> typed, de-duplicated Parquet partition)',
        figure: rate(silver),
        unit: 'rows/s',
        baseline: { name: 'DuckDB COPY NDJSON -> Parquet (no de-dup, no sort)', figure: rate(copyParquet) },
        ratio: median(copyParquet) / median(silver),
        notes: `${size}. DuckDB doing the same job alone (de-dup and sort by device, measure, time; one run): ${Math.round(rows / sameWork).toLocaleString('en-US')} rows/s. Peak RSS of the process ${silverPeakMb} MB. Reading the bronze files alone: ${Math.round(rawReadRate).toLocaleString('en-US')} rows/s (${(bronze.bytes / 2 ** 20 / median(rawRead)).toFixed(0)} MiB/s).`,
      },
      {
        name: 'round trip bronze -> silver -> CSV export of the day',
        figure: rate(roundTrip),
        unit: 'rows/s',
        baseline: { name: 'DuckDB COPY NDJSON -> CSV (no de-dup, no lake)', figure: rate(copyCsv) },
        ratio: median(copyCsv) / median(roundTrip),
        notes: `${median(roundTrip).toFixed(1)} s for the day (${median(silver).toFixed(1)} s silver + ${median(exported).toFixed(1)} s export).`,
      },
      {
        name: 'CSV export of the day from silver (kept in the lake)',
        figure: rate(exported),
        unit: 'rows/s',
        baseline: { name: 'DuckDB COPY NDJSON -> CSV (no de-dup, no lake)', figure: rate(copyCsv) },
        ratio: median(copyCsv) / median(exported),
        notes:
          'DuckDB writes the file as it reads silver (COPY), then the lake publishes it by copy and rename: nothing holds the whole export in memory.',
      },
    ]
  } finally {
    connection.closeSync()
    baseline.closeSync()
    await columnar.close()
    await lake.close()
    await rm(dir, { recursive: true, force: true })
  }
}
