/**
 * A real API over real parts for the api-* tests and benches: a store (DuckDB in a fresh temp dir by
 * default, or PostgreSQL in a fresh schema), a folder lake, the in-process bus, the bronze writer, and the
 * server built by `createServer`.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { DuckdbStore } from '../src/adapters/duckdb/duckdb-store.js'
import { FsLake } from '../src/adapters/fs-lake/fs-lake.js'
import { InProcessBus } from '../src/adapters/in-process/in-process-bus.js'
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js'
import type { RouteModule } from '../src/api/deps.js'
import { createServer, type ServerOptions } from '../src/api/server.js'
import { type Config, loadConfig } from '../src/config.js'
import { type Clock, systemClock } from '../src/core/ports/clock.js'
import { silentLogger } from '../src/core/ports/logger.js'
import type { Store } from '../src/core/ports/store.js'
import { BronzeWriter } from '../src/pipeline/bronze.js'
import { createApiKey } from '../src/pipeline/keys.js'

export interface ApiFixture {
  app: FastifyInstance
  store: Store
  lake: FsLake
  bus: InProcessBus
  bronze: BronzeWriter
  config: Config
  dir: string
  /** A valid key created in the store. */
  key: string
  close(): Promise<void>
}

/** Where the fixture's store lives: the embedded default, or a PostgreSQL URL (a fresh schema is made and dropped). */
export type FixtureStore = { kind: 'duckdb' } | { kind: 'postgres'; url: string }

let schemas = 0

export async function openApiFixture(
  options: {
    server?: ServerOptions
    config?: Partial<Config>
    clock?: Clock
    extraRoutes?: RouteModule[]
    store?: FixtureStore
    /** An existing AIRLAKE_HOME to serve (kept on close); a fresh temp dir otherwise. */
    home?: string
  } = {},
): Promise<ApiFixture> {
  const dir = options.home ?? (await mkdtemp(join(tmpdir(), 'airlake-api-')))
  const clock = options.clock ?? systemClock
  const where = options.store ?? { kind: 'duckdb' }
  const schema = `airlake_api_test_${process.pid}_${++schemas}`
  const store =
    where.kind === 'duckdb'
      ? await DuckdbStore.open(join(dir, 'airlake.duckdb'))
      : await PostgresStore.open(where.url, { schema, poolSize: 8 })
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
      if (where.kind === 'postgres') await dropSchema(where.url, schema)
      if (options.home === undefined) await rm(dir, { recursive: true, force: true })
    },
  }
}

async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  } finally {
    await client.end()
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
