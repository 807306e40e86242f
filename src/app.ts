/**
 * The composition root: reads no settings itself (see config.ts) but turns them into adapters, picking
 * each by its URL's scheme (DESIGN.md section 1), and wires the pipeline to them. Nothing else in airlake
 * names an adapter.
 */
import { mkdirSync } from 'node:fs'
import { DuckdbColumnar } from './adapters/duckdb/duckdb-columnar.js'
import { DuckdbStore } from './adapters/duckdb/duckdb-store.js'
import { FsLake } from './adapters/fs-lake/fs-lake.js'
import { InProcessBus } from './adapters/in-process/in-process-bus.js'
import { NatsBus } from './adapters/nats/nats-bus.js'
import { PostgresStore } from './adapters/postgres/postgres-store.js'
import { type Config, redact } from './config.js'
import { AirlakeError } from './core/errors.js'
import type { ForecastTrainer } from './core/model.js'
import type { Bus } from './core/ports/bus.js'
import { type Clock, systemClock } from './core/ports/clock.js'
import type { Columnar } from './core/ports/columnar.js'
import type { Lake } from './core/ports/lake.js'
import type { Logger } from './core/ports/logger.js'
import type { Store } from './core/ports/store.js'
import { createLogger } from './logger.js'
import { BronzeWriter } from './pipeline/bronze.js'
import type { IngestDeps } from './pipeline/ingest.js'
import { forecastTrainers } from './trainers.js'

/** Everything a command or the server works with, opened from one Config. */
export interface App extends IngestDeps {
  config: Config
  store: Store
  lake: Lake
  columnar: Columnar
  bus: Bus
  clock: Clock
  logger: Logger
  bronze: BronzeWriter
  /** The forecasting model kinds by algorithm name (src/trainers.ts). */
  trainers: Readonly<Record<string, ForecastTrainer>>
  /** Closes in reverse order of opening; safe to call twice. */
  close(): Promise<void>
}

export interface OpenOptions {
  logger?: Logger
  clock?: Clock
}

/** Opens the store, lake, columnar engine and bus that `config` names, and runs the store's migrations. */
export async function openApp(config: Config, options: OpenOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel)
  const clock = options.clock ?? systemClock
  const closers: Array<() => Promise<void>> = []
  try {
    const store = await openStore(config, logger)
    closers.push(() => store.close())
    await store.migrate()
    const lake = await openLake(config.lakeUrl)
    const columnar = await DuckdbColumnar.open()
    closers.push(() => columnar.close())
    const bus = await openBus(config.busUrl, logger)
    closers.push(() => bus.close())
    const bronze = new BronzeWriter(lake, clock)
    closers.push(() => bronze.close())
    const trainers = await forecastTrainers(logger)
    let closed = false
    return {
      trainers,
      config,
      store,
      lake,
      columnar,
      bus,
      clock,
      logger,
      bronze,
      async close() {
        if (closed) return
        closed = true
        await closeAll(closers, logger)
      },
    }
  } catch (error) {
    await closeAll(closers, logger)
    throw error
  }
}

async function closeAll(closers: Array<() => Promise<void>>, logger: Logger): Promise<void> {
  for (const close of closers.reverse()) {
    await close().catch((error: unknown) => logger.warn('close failed', { error: String(error) }))
  }
}

/** `duckdb:<path>` (the default, under AIRLAKE_HOME) or `postgres://…`. */
export async function openStore(
  config: Pick<Config, 'databaseUrl' | 'home'>,
  logger: Logger,
): Promise<Store> {
  const url = config.databaseUrl
  if (url.startsWith('duckdb:')) {
    const path = url.slice('duckdb:'.length) || ':memory:'
    if (path !== ':memory:') mkdirSync(config.home, { recursive: true })
    return DuckdbStore.open(path, { logger })
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return PostgresStore.open(url, { logger })
  }
  throw new AirlakeError(
    'CONFIG_INVALID',
    `DATABASE_URL=${redact(url)}: use duckdb:<path> or postgres://user@host/db`,
  )
}

/** `file:<folder>` (the default) or, later, `s3://bucket/prefix`. */
export async function openLake(url: string): Promise<Lake> {
  if (url.startsWith('file:')) return FsLake.open(url.slice('file:'.length))
  throw new AirlakeError(
    'CONFIG_INVALID',
    `LAKE_URL=${redact(url)}: only file:<folder> lakes are available in this version (S3 is planned; see README)`,
  )
}

/** `memory:` (the default: in this process) or `nats://host:port` (JetStream). */
export async function openBus(url: string, logger: Logger): Promise<Bus> {
  if (url === 'memory:' || url.startsWith('memory:')) return new InProcessBus(logger)
  if (url.startsWith('nats://')) return NatsBus.connect(url, { logger })
  throw new AirlakeError('CONFIG_INVALID', `BUS_URL=${redact(url)}: use memory: or nats://host:4222`)
}
