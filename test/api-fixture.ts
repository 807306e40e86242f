/**
 * A real API over real parts for the api-* tests and benches: a DuckDB store and a folder lake in a
 * fresh temp dir, the in-process bus, the bronze writer, and the server built by `createServer`.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { DuckdbStore } from '../src/adapters/duckdb/duckdb-store.js'
import { FsLake } from '../src/adapters/fs-lake/fs-lake.js'
import { InProcessBus } from '../src/adapters/in-process/in-process-bus.js'
import { createServer, type ServerOptions } from '../src/api/server.js'
import { type Config, loadConfig } from '../src/config.js'
import { type Clock, systemClock } from '../src/core/ports/clock.js'
import { silentLogger } from '../src/core/ports/logger.js'
import { BronzeWriter } from '../src/pipeline/bronze.js'
import { createApiKey } from '../src/pipeline/keys.js'
import type { RouteModule } from '../src/api/deps.js'

export interface ApiFixture {
  app: FastifyInstance
  store: DuckdbStore
  lake: FsLake
  bus: InProcessBus
  bronze: BronzeWriter
  config: Config
  dir: string
  /** A valid key created in the store. */
  key: string
  close(): Promise<void>
}

export async function openApiFixture(
  options: {
    server?: ServerOptions
    config?: Partial<Config>
    clock?: Clock
    extraRoutes?: RouteModule[]
  } = {},
): Promise<ApiFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'airlake-api-'))
  const clock = options.clock ?? systemClock
  const store = await DuckdbStore.open(join(dir, 'airlake.duckdb'))
  await store.migrate()
  const lake = await FsLake.open(join(dir, 'lake'))
  const bus = new InProcessBus()
  const bronze = new BronzeWriter(lake, clock)
  const config = loadConfig({}, { home: dir, port: 0, host: '127.0.0.1', ...options.config })
  const app = await createServer(
    { store, bus, clock, logger: silentLogger, bronze, config, extraRoutes: options.extraRoutes },
    { webRoot: false, ...options.server },
  )
  const { key } = await createApiKey({ store, clock }, { name: 'test' })
  return {
    app,
    store,
    lake,
    bus,
    bronze,
    config,
    dir,
    key,
    async close() {
      await app.close()
      await bus.close()
      await bronze.close()
      await store.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Every object under `prefix` in the lake, as text. */
export async function lakeText(lake: FsLake, prefix: string): Promise<string> {
  let text = ''
  for await (const object of lake.list(prefix)) {
    const body = await lake.get(object.key)
    if (body) text += Buffer.from(body).toString('utf8')
  }
  return text
}
