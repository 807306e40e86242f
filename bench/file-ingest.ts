/**
 * File ingest: rows/s of `ingestFile` on a long CSV (time, device, measure, value) of 5 million rows
 * (200,000 with --quick), beside the store's raw bulk load of the same rows (`writeReadings` in batches of
 * 10,000, no parsing, checks or bronze) measured in the same run (BENCH_REPEATS=n: medians of n rounds).
 * Also the memory the import keeps, beside the file's size, to show that it streams: the peak of the live
 * JS heap (`heapUsed` right after a full collection, forced every 250 ms in an extra, untimed import of the
 * same file; without the collections `heapUsed` counts garbage and follows the collector's timing).
 */

import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { DuckdbStore } from '../src/adapters/duckdb/duckdb-store.js'
import { readRecords } from '../src/adapters/files/read-records.js'
import { FsLake } from '../src/adapters/fs-lake/fs-lake.js'
import { InProcessBus } from '../src/adapters/in-process/in-process-bus.js'
import { systemClock } from '../src/core/ports/clock.js'
import { silentLogger } from '../src/core/ports/logger.js'
import type { Reading } from '../src/core/types.js'
import { BronzeWriter } from '../src/pipeline/bronze.js'
import { ingestFile } from '../src/pipeline/ingest-file.js'
import { type BenchOptions, type BenchResult, median } from './types.js'

const DEVICES = 100
const MEASURES = ['co2', 'temperature', 'humidity', 'iaq'] as const
const START = Date.UTC(2024, 0, 1)
const BATCH = 10_000

/** Row `i` of the data set: devices round-robin, four measures per device and minute. */
function reading(i: number): Reading {
  const slot = Math.floor(i / MEASURES.length)
  const measure = MEASURES[i % MEASURES.length] ?? 'co2'
  return {
    time: START + Math.floor(slot / DEVICES) * 60_000,
    deviceId: `dev-${slot % DEVICES}`,
    measure,
    value:
      measure === 'co2'
        ? 400 + (i % 200) / 4
        : measure === 'temperature'
          ? 18 + (i % 80) / 10
          : 30 + (i % 40),
    source: 'bench',
  }
}

async function writeCsv(path: string, rows: number): Promise<void> {
  const out = createWriteStream(path)
  out.write('time,device,measure,value\n')
  let chunk = ''
  for (let i = 0; i < rows; i++) {
    const r = reading(i)
    chunk += `${new Date(r.time).toISOString()},${r.deviceId},${r.measure},${r.value}\n`
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain')
      chunk = ''
    }
  }
  out.end(chunk)
  await once(out, 'finish')
}

async function withStore<T>(
  dir: string,
  name: string,
  work: (store: DuckdbStore, lake: FsLake) => Promise<T>,
): Promise<T> {
  const store = await DuckdbStore.open(join(dir, `${name}.duckdb`))
  await store.migrate()
  try {
    return await work(store, new FsLake(join(dir, `${name}-lake`)))
  } finally {
    await store.close()
  }
}

/** Imports the CSV at `path` into a fresh store named `name`; its seconds. */
async function importFile(dir: string, name: string, path: string, rows: number): Promise<number> {
  return withStore(dir, name, async (store, lake) => {
    const bus = new InProcessBus()
    const bronze = new BronzeWriter(lake, systemClock)
    try {
      const started = performance.now()
      const report = await ingestFile(
        { store, bus, bronze, clock: systemClock, logger: silentLogger, readRecords },
        { path, source: 'bench' },
      )
      if (report.rowsStored !== rows)
        throw new Error(
          `stored ${report.rowsStored} of ${rows} rows: ${JSON.stringify(report.firstRejections)}`,
        )
      return (performance.now() - started) / 1000
    } finally {
      await bronze.close()
      await bus.close()
    }
  })
}

/** V8's full collection, exposed without restarting the process under `--expose-gc`. */
function fullCollection(): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

/** The most live JS heap `work` adds (MB): `heapUsed` after a full collection, every 250 ms and at the end. */
async function liveHeapAdded(work: () => Promise<unknown>): Promise<number> {
  const gc = fullCollection()
  gc()
  const before = process.memoryUsage().heapUsed
  let peak = before
  const sample = () => {
    gc()
    peak = Math.max(peak, process.memoryUsage().heapUsed)
  }
  const sampler = setInterval(sample, 250)
  try {
    await work()
  } finally {
    clearInterval(sampler)
  }
  return (peak - before) / 2 ** 20
}

export async function run({ quick }: BenchOptions): Promise<BenchResult[]> {
  const rows = quick ? 200_000 : 5_000_000
  // One round each: the full size takes minutes; the median is over rounds when more are asked for.
  const repeats = Number(process.env.BENCH_REPEATS ?? 1)
  const dir = await mkdtemp(join(tmpdir(), 'airlake-bench-file-'))
  try {
    const path = join(dir, 'readings.csv')
    await writeCsv(path, rows)
    const bytes = (await stat(path)).size
    const fileRates: number[] = []
    const bulkRates: number[] = []
    const rssPeaks: number[] = []
    for (let round = 0; round < repeats; round++) {
      const before = process.memoryUsage().rss
      let peakRss = before
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss)
      }, 50)
      let fileSeconds: number
      try {
        fileSeconds = await importFile(dir, `file-${round}`, path, rows)
      } finally {
        clearInterval(sampler)
      }
      rssPeaks.push((peakRss - before) / 2 ** 20)
      fileRates.push(rows / fileSeconds)

      const bulkSeconds = await withStore(dir, `bulk-${round}`, async (store) => {
        const started = performance.now()
        for (let from = 0; from < rows; from += BATCH) {
          const batch: Reading[] = []
          for (let i = from; i < Math.min(rows, from + BATCH); i++) batch.push(reading(i))
          await store.writeReadings(batch)
        }
        return (performance.now() - started) / 1000
      })
      bulkRates.push(rows / bulkSeconds)
    }
    const file = median(fileRates)
    const bulk = median(bulkRates)
    const heap = await liveHeapAdded(() => importFile(dir, 'memory', path, rows))
    return [
      {
        name: `ingest of a ${(rows / 1e6).toLocaleString('en-US')}M-row CSV (parse, check, bronze, store)`,
        figure: file,
        unit: 'rows/s',
        baseline: { name: 'store bulk load of the same rows', figure: bulk },
        ratio: file / bulk,
        notes: `median of ${repeats}; long CSV of ${(bytes / 2 ** 20).toFixed(0)} MB, batches of 10,000 rows, DuckDB store`,
      },
      {
        name: 'live JS heap added by the import (peak, after full collections)',
        figure: heap,
        unit: 'MB',
        baseline: { name: 'CSV file size', figure: bytes / 2 ** 20 },
        ratio: heap / (bytes / 2 ** 20),
        notes: `lower is better: the CSV streams in batches, so what the import keeps stays flat as the file grows; measured in an extra, untimed import; peak RSS added by the timed import ${median(rssPeaks).toFixed(0)} MB (with DuckDB's own buffers and uncollected garbage)`,
      },
    ]
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
