/**
 * Real parts for the silver, export and quality tests: a DuckDB store, a folder lake and the DuckDB columnar
 * engine in a fresh temp dir, the in-process bus and the bronze writer, all on a manual clock. Readings go in
 * through the one ingestion path (`ingestRecords`), so bronze and the store hold what a user's data would.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { DuckdbColumnar } from '../src/adapters/duckdb/duckdb-columnar.js'
import { DuckdbStore } from '../src/adapters/duckdb/duckdb-store.js'
import { FsLake } from '../src/adapters/fs-lake/fs-lake.js'
import { InProcessBus } from '../src/adapters/in-process/in-process-bus.js'
import type { RouteModule } from '../src/api/deps.js'
import { createServer } from '../src/api/server.js'
import { loadConfig } from '../src/config.js'
import { ManualClock } from '../src/core/ports/clock.js'
import { silentLogger } from '../src/core/ports/logger.js'
import type { Reading } from '../src/core/types.js'
import { BronzeWriter } from '../src/pipeline/bronze.js'
import { type IngestReport, ingestRecords } from '../src/pipeline/ingest.js'
import { createApiKey } from '../src/pipeline/keys.js'

export interface LakePipelineFixture {
  dir: string
  store: DuckdbStore
  lake: FsLake
  columnar: DuckdbColumnar
  bus: InProcessBus
  bronze: BronzeWriter
  clock: ManualClock
  logger: typeof silentLogger
  /** Ingests `readings` of `source` as one record per reading (as the API would), at the clock's now. */
  ingest(source: string, readings: ReadonlyArray<Omit<Reading, 'source'>>): Promise<IngestReport>
  /** The API with `routes` behind the key check (closed by `close`), and a valid key. */
  serve(routes: RouteModule[]): Promise<{ api: FastifyInstance; key: string }>
  close(): Promise<void>
}

export async function openLakePipeline(start = Date.UTC(2024, 0, 31, 12)): Promise<LakePipelineFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'airlake-lakepipe-'))
  const clock = new ManualClock(start)
  const store = await DuckdbStore.open(join(dir, 'airlake.duckdb'))
  await store.migrate()
  const lake = await FsLake.open(join(dir, 'lake'))
  const columnar = await DuckdbColumnar.open({ threads: 1, memoryLimit: '512MB' })
  const bus = new InProcessBus()
  const bronze = new BronzeWriter(lake, clock)
  const servers: FastifyInstance[] = []
  const fixture: LakePipelineFixture = {
    dir,
    store,
    lake,
    columnar,
    bus,
    bronze,
    clock,
    logger: silentLogger,
    async ingest(source, readings) {
      const records = readings.map((reading) => ({
        raw: JSON.stringify(reading),
        readings: [{ ...reading, source }],
      }))
      return ingestRecords(fixture, { source, records })
    },
    async serve(routes) {
      const config = loadConfig({}, { home: dir, port: 0, host: '127.0.0.1' })
      const api = await createServer(
        { store, bus, clock, logger: silentLogger, bronze, config, extraRoutes: routes },
        { webRoot: false, maxEventLoopDelayMs: 0 },
      )
      servers.push(api)
      const { key } = await createApiKey({ store, clock }, { name: 'lake-test' })
      return { api, key }
    },
    async close() {
      for (const api of servers) await api.close()
      await bronze.close()
      await bus.close()
      await columnar.close()
      await lake.close()
      await store.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
  return fixture
}

/** Readings of `devices` × `measures` every minute of [from, from + minutes), value from `valueOf`. */
export function minuteReadings(
  from: number,
  minutes: number,
  devices: readonly string[],
  measures: readonly string[],
  value: (deviceIndex: number, measure: string, minute: number) => number = (d, _m, minute) =>
    20 + d + (minute % 7) * 0.5,
): Array<Omit<Reading, 'source'>> {
  const rows: Array<Omit<Reading, 'source'>> = []
  for (let minute = 0; minute < minutes; minute++) {
    devices.forEach((deviceId, d) => {
      for (const measure of measures)
        rows.push({ time: from + minute * 60_000, deviceId, measure, value: value(d, measure, minute) })
    })
  }
  return rows
}

/**
 * Runs `run` while collecting the text a command writes to stdout and stderr. Buffers pass through: the
 * test runner reports through stdout with them.
 */
export async function captureOutput(run: () => Promise<void>): Promise<{ stdout: string; stderr: string }> {
  const captured = { stdout: '', stderr: '' }
  const originals = { stdout: process.stdout.write, stderr: process.stderr.write }
  for (const name of ['stdout', 'stderr'] as const) {
    const original = originals[name]
    process[name].write = ((chunk: unknown, ...rest: unknown[]) => {
      if (typeof chunk !== 'string')
        return (original as (...args: unknown[]) => boolean).call(process[name], chunk, ...rest)
      captured[name] += chunk
      return true
    }) as typeof process.stdout.write
  }
  try {
    await run()
  } finally {
    process.stdout.write = originals.stdout
    process.stderr.write = originals.stderr
  }
  return captured
}
