/**
 * The embedded store: one DuckDB file (or `:memory:`) holding the time series and airlake's own records.
 *
 * DuckDB allows one writing process per file. Inside it, writes go through three connections ("lanes"), each
 * in call order: predictions, the device and series summaries (with retention and the sweep of covered
 * forecasts), and everything else; DuckDB runs writes to different tables side by side. Reads use a small
 * pool of other connections and see committed writes. Predictions are stored one row per forecast
 * (duckdb-forecasts.ts).
 */
import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue, StatementType } from '@duckdb/node-api'
import { AirlakeError, wrapError } from '../../core/errors.js'
import { type Logger, silentLogger } from '../../core/ports/logger.js'
import type {
  ArmState,
  ModelRecord,
  ModelVersionRecord,
  RunLogLine,
  RunRecord,
  RunStatus,
  SelectionEvent,
  SeriesGrid,
  SeriesPageQuery,
  ShadowForecast,
  Store,
} from '../../core/ports/store.js'
import {
  checkPrediction,
  checkReading,
  checkTime,
  chunks,
  compareShadow,
  distinctMeasures,
  emptyGrid,
  lastPerKey,
  lastPerSeriesKey,
  limitOf,
  optionalNumber,
  optionalString,
  pageRange,
  placeholders,
  type Row,
  toDevice,
  toKey,
  toReading,
  toShadowForecast,
} from '../../core/store-rows.js'
import type { TimeMs } from '../../core/time.js'
import type {
  ApiKeyRecord,
  Device,
  Prediction,
  Reading,
  Rejection,
  StoredRejection,
  WriteReport,
} from '../../core/types.js'
import { type TableSpec, TableWriter } from './duckdb-append.js'
import { Checkpointer } from './duckdb-checkpoints.js'
import { type CompactionOptions, type CompactionReport, Compactor } from './duckdb-compaction.js'
import {
  deleteCoveredForecasts,
  deleteForecastsBefore,
  FORECASTS,
  type ForecastRow,
  forecastRows,
  loadForecastState,
  readPredictionsPage,
  spanOf,
} from './duckdb-forecasts.js'
import { duckdbMigrations } from './duckdb-migrations.js'
import { readingsTable, readReadingsGrid, readSeriesPage } from './duckdb-series.js'
import { FLUSH_CHUNK, FLUSH_INTERVAL_MS, Summaries } from './duckdb-summaries.js'
import { ts } from './duckdb-time.js'
import { transaction } from './duckdb-transaction.js'

/** How often covered forecast rows are swept, how far a sweep looks back past the previous one, and the first. */
const SWEEP_EVERY_MS = 10 * 60_000
const SWEEP_OVERLAP_MS = 3_600_000
const SWEEP_FIRST_LOOKBACK_MS = 86_400_000

/** How many connections serve reads (DuckDB parallelises each query over its own threads). */
const READ_CONNECTIONS = 2
/** Rows per multi-row INSERT for the small tables (rejections, shadow forecasts, events). */
const VALUES_CHUNK = 500
/**
 * Rows up to which concurrent calls are merged into one statement. Merging copies and deduplicates their rows
 * on the JavaScript thread, which pays for itself when the statement would otherwise carry a few rows.
 */
export const MERGED_ROWS = 512

/**
 * `Store` on DuckDB (`@duckdb/node-api`). Times are `TIMESTAMP` columns holding UTC; the port speaks epoch ms.
 * A batch of readings (or predictions) is written by one statement (duckdb-append.ts), so it is stored whole or
 * not at all; calls that arrive while their lane is busy share that statement. Each device's first and last seen times
 * and each series' latest reading are kept in memory and written behind (duckdb-summaries.ts). A device
 * described before any reading reports first/last seen as 0.
 *
 * @example
 * const store = await DuckdbStore.open('.airlake/airlake.duckdb')
 * await store.writeReadings([{ time: Date.UTC(2024, 0, 1), deviceId: 'dev1', measure: 'iaq', value: 51, source: 'http' }])
 */
export class DuckdbStore implements Store {
  readonly kind = 'duckdb'
  // Calls that arrive while their lane is busy share one statement (group commit): a commit costs an fsync,
  // so many small writes (a PUT or a forecast each) would otherwise queue behind one fsync apiece.
  private readonly readingWrites = new GroupedWrites<Reading>({
    schedule: (work) => this.write('writing readings', work),
    flush: async (rows) => {
      await this.tables.readings.write(rows)
      this.summaries.apply(rows)
      this.scheduleSummaries()
    },
    name: (r) => r.measure,
    mergeUpTo: MERGED_ROWS,
    failed: (error) => this.failure('writing readings', error),
  })
  private readonly predictionWrites = new GroupedWrites<Prediction>({
    schedule: (work) => this.write('writing predictions', work, this.predictionLane),
    flush: (rows) => this.writeForecasts(rows),
    name: (r) => r.measureName,
    mergeUpTo: MERGED_ROWS,
    failed: (error) => this.failure('writing predictions', error),
  })
  /** The writers of the two big tables, prepared on their lanes' connections at open. */
  private tables!: { readings: TableWriter<Reading>; forecasts: TableWriter<ForecastRow> }
  /** The last write order given to a forecast row, and the longest span of a stored one (duckdb-forecasts.ts). */
  private forecasts = { written: 0, spanMs: 0 }
  /** The next sweep of covered forecast rows, and the first time it looks back to. */
  private sweepTimer: NodeJS.Timeout | undefined
  private sweptFrom = 0
  /** Device spans and latest readings, loaded at open (see duckdb-summaries.ts). */
  private summaries = new Summaries()
  private summaryTimer: NodeJS.Timeout | undefined
  private checkpointer: Checkpointer | undefined
  /** Rewrites closed days of readings in device order (duckdb-compaction.ts). */
  private readonly compactor: Compactor
  private closed = false

  private constructor(
    private readonly path: string,
    private readonly instance: DuckDBInstance,
    /** Every write but the predictions'. */
    private readonly writer: WriteLane,
    /**
     * Predictions, on a connection of their own: the live loop writes them as often as readings, and DuckDB
     * runs writes to different tables from different connections side by side.
     */
    private readonly predictionLane: WriteLane,
    /**
     * The device and series summaries (`devices`, `latest_readings`), retention's deletes and the sweep of
     * covered forecasts: their upserts and deletes are DuckDB's slowest writes, and would otherwise hold up
     * the readings behind them.
     */
    private readonly summaryLane: WriteLane,
    private readonly readers: ConnectionPool,
    private readonly logger: Logger,
  ) {
    this.compactor = new Compactor(
      {
        write: (what, work) => this.write(what, work),
        read: (what, work) => this.reading(what, work),
        checkpoint: async () => this.checkpointer?.checkpointNow(),
      },
      logger,
    )
  }

  /**
   * Opens (creating if needed) the store at `path` (`:memory:` for a private in-memory store) and runs the
   * migrations. Throws CONFLICT when another process holds the file, STORE_UNAVAILABLE for other failures.
   */
  static async open(path: string, options: { logger?: Logger } = {}): Promise<DuckdbStore> {
    const logger = (options.logger ?? silentLogger).child({ store: 'duckdb' })
    let instance: DuckDBInstance
    try {
      if (path !== ':memory:') await mkdir(dirname(path), { recursive: true })
      instance = await DuckDBInstance.create(path)
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error)
      if (/could not set lock on file/i.test(detail)) {
        throw new AirlakeError(
          'CONFLICT',
          `the embedded store at ${path} is in use by a running airlake server (\`airlake serve\`): stop it, or use the HTTP API, or run the command with DATABASE_URL=postgres://… (a store several processes can share)`,
          { cause: error },
        )
      }
      throw wrapError(
        error,
        'STORE_UNAVAILABLE',
        `cannot open the DuckDB store ${path} (check that the folder is writable and the file is a DuckDB database)`,
      )
    }
    const connections: DuckDBConnection[] = []
    try {
      for (let i = 0; i < READ_CONNECTIONS + 3; i++) connections.push(await instance.connect())
      const [writer, predictionWriter, summaryWriter, ...readers] = connections
      const store = new DuckdbStore(
        path,
        instance,
        new WriteLane(writer!),
        new WriteLane(predictionWriter!),
        new WriteLane(summaryWriter!),
        new ConnectionPool(readers),
        logger,
      )
      await store.migrate()
      await store.prepareWriter()
      store.summaries = await store.write(
        'loading device and series summaries',
        (c) => Summaries.load(c),
        store.summaryLane,
      )
      store.checkpointer = await Checkpointer.start(instance, path, logger)
      if (path !== ':memory:') {
        store.compactor.start()
        store.scheduleSweep()
      }
      return store
    } catch (error) {
      for (const connection of connections) connection.closeSync()
      instance.closeSync()
      throw wrapError(error, 'STORE_UNAVAILABLE', `cannot prepare the DuckDB store ${path}`)
    }
  }

  async migrate(): Promise<void> {
    await this.write('running migrations', async (c) => {
      await c.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name VARCHAR NOT NULL,
        applied_at TIMESTAMP NOT NULL
      )`)
      const applied = new Set(
        (await all(c, 'SELECT version FROM schema_migrations')).map((row) => Number(row.version)),
      )
      for (const migration of duckdbMigrations) {
        if (applied.has(migration.version)) continue
        await transaction(c, async () => {
          for (const statement of migration.statements) await c.run(statement)
          await c.run('INSERT INTO schema_migrations VALUES ($1, $2, $3)', [
            migration.version,
            migration.name,
            ts(Date.now()),
          ])
        })
        this.logger.info('applied store migration', { version: migration.version, name: migration.name })
      }
    })
  }

  /**
   * Rewrites every closed day of readings that needs it in device order, so a device-day is read from a few
   * consecutive vectors instead of the whole day (duckdb-compaction.ts). Runs by itself a minute after open
   * and hourly; benchmarks and tests call it to wait for it.
   */
  compact(options?: CompactionOptions): Promise<CompactionReport> {
    this.assertOpen()
    return this.compactor.compact(options)
  }

  /**
   * Deletes the forecast rows a later row wholly covers (duckdb-forecasts.ts), among those first timed at or
   * after `since`: by default since the previous sweep (less an hour), or the last day for the first sweep
   * after open. Runs by itself every 10 minutes on the summaries' lane, out of the forecasts' way.
   */
  async sweepForecasts(since?: TimeMs): Promise<number> {
    this.assertOpen()
    const started = Date.now()
    const from =
      since ?? (this.sweptFrom === 0 ? started - SWEEP_FIRST_LOOKBACK_MS : this.sweptFrom - SWEEP_OVERLAP_MS)
    const deleted = await this.write(
      'sweeping covered forecasts',
      (c) => deleteCoveredForecasts(c, from),
      this.summaryLane,
    )
    this.sweptFrom = started
    if (deleted > 0) this.logger.debug('swept covered forecasts', { deleted, ms: Date.now() - started })
    return deleted
  }

  private scheduleSweep(): void {
    this.sweepTimer = setTimeout(() => {
      this.sweepForecasts()
        .catch((error: unknown) => {
          if (!this.closed) this.logger.warn('could not sweep covered forecasts', { error: String(error) })
        })
        .finally(() => {
          if (!this.closed) this.scheduleSweep()
        })
    }, SWEEP_EVERY_MS)
    this.sweepTimer.unref()
  }

  async ping(): Promise<void> {
    await this.read('ping', 'SELECT 1')
  }

  async query(sql: string, params: readonly unknown[] = []): Promise<Record<string, unknown>[]> {
    const values = params.map(toQueryParam)
    this.assertOpen()
    return this.readers
      .use(async (c) => {
        const prepared = await c.prepare(sql)
        try {
          if (
            prepared.statementType !== StatementType.SELECT &&
            prepared.statementType !== StatementType.EXPLAIN
          ) {
            throw new AirlakeError(
              'BAD_REQUEST',
              'only read-only queries (SELECT, WITH … SELECT, EXPLAIN) may run here',
            )
          }
          if (values.length > 0) prepared.bind(values)
          const reader = await prepared.runAndReadAll()
          return reader.getRowObjectsJS().map(plainRow)
        } finally {
          prepared.destroySync()
        }
      })
      .catch((error: unknown) => {
        throw wrapError(error, 'BAD_REQUEST', 'the query failed')
      })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.summaryTimer)
    clearTimeout(this.sweepTimer)
    await this.compactor.stop()
    await Promise.all([this.writer.idle(), this.predictionLane.idle(), this.summaryLane.idle()])
    await this.summaries.close(this.summaryLane.connection).catch((error: unknown) =>
      this.logger.warn('could not write the device and series summaries; they are rebuilt at next open', {
        error: String(error),
      }),
    )
    await this.readers.drain()
    await this.checkpointer?.stop()
    this.writer.connection.closeSync()
    this.predictionLane.connection.closeSync()
    this.summaryLane.connection.closeSync()
    this.readers.closeAll()
    this.instance.closeSync()
  }

  // readings

  async writeReadings(rows: readonly Reading[]): Promise<WriteReport> {
    if (rows.length === 0) return { stored: 0 }
    rows.forEach(checkReading)
    const unique = lastPerSeriesKey(rows, (r) => r.measure)
    await this.readingWrites.add(unique)
    return { stored: unique.length }
  }

  async readingsPage(query: SeriesPageQuery): Promise<Reading[]> {
    const range = pageRange(query)
    if (range === undefined) return []
    // One ordered query read from its vectors and cut at the page's last time (duckdb-series.ts).
    return this.reading('reading a page of readings', (c) => readSeriesPage(c, readingsTable, range))
  }

  async readingsGrid(query: SeriesPageQuery): Promise<SeriesGrid> {
    const measures = query.measures
      ? distinctMeasures(query.measures)
      : this.summaries.measures(query.deviceId)
    const range = pageRange({ ...query, measures })
    if (range === undefined) return emptyGrid(measures)
    return this.reading('reading a page of readings', (c) => readReadingsGrid(c, { ...range, measures }))
  }

  async readingSeries(deviceId: string, measure: string, from: TimeMs, to: TimeMs): Promise<Reading[]> {
    checkTime(from, 'from')
    checkTime(to, 'to')
    const rows = await this.read(
      'reading a series',
      `SELECT epoch_ms(time) AS time, device_id, measure, value, source FROM readings
       WHERE device_id = $1 AND measure = $2 AND time >= $3 AND time <= $4 ORDER BY time`,
      [deviceId, measure, ts(from), ts(to)],
    )
    return rows.map(toReading)
  }

  async latestReadings(): Promise<Reading[]> {
    this.assertOpen()
    return this.summaries.latestReadings()
  }

  async listMeasures(deviceId?: string): Promise<string[]> {
    this.assertOpen()
    return this.summaries.measures(deviceId)
  }

  async countReadings(filter: { deviceId?: string; source?: string } = {}): Promise<number> {
    const where = conditions({ device_id: filter.deviceId, source: filter.source })
    const rows = await this.read(
      'counting readings',
      `SELECT count(*) AS n FROM readings${where.sql}`,
      where.params,
    )
    return Number(rows[0]?.n ?? 0)
  }

  async deleteReadingsBefore(time: TimeMs): Promise<number> {
    checkTime(time, 'time')
    return this.write(
      'deleting old readings',
      (c) =>
        transaction(c, async () => {
          const result = await c.run('DELETE FROM readings WHERE time < $1', [ts(time)])
          // A pair whose newest reading is older than the cut has no reading left at all.
          await c.run('DELETE FROM latest_readings WHERE time < $1', [ts(time)])
          this.summaries.forgetBefore(time)
          return result.rowsChanged
        }),
      this.summaryLane,
    )
  }

  // predictions

  async writePredictions(rows: readonly Prediction[]): Promise<WriteReport> {
    if (rows.length === 0) return { stored: 0 }
    rows.forEach(checkPrediction)
    const unique = lastPerSeriesKey(rows, (r) => r.measureName)
    await this.predictionWrites.add(unique)
    return { stored: unique.length }
  }

  async predictionsPage(query: SeriesPageQuery): Promise<Prediction[]> {
    const range = pageRange(query)
    if (range === undefined) return []
    const { spanMs } = this.forecasts
    return this.reading('reading a page of predictions', (c) => readPredictionsPage(c, range, spanMs))
  }

  async countPredictions(filter: { deviceId?: string } = {}): Promise<number> {
    const where = conditions({ device_id: filter.deviceId })
    const rows = await this.read(
      'counting predictions',
      `SELECT count(*) AS n FROM predictions${where.sql}`,
      where.params,
    )
    return Number(rows[0]?.n ?? 0)
  }

  async deletePredictionsBefore(time: TimeMs): Promise<number> {
    checkTime(time, 'time')
    return this.write(
      'deleting old predictions',
      (c) => transaction(c, () => deleteForecastsBefore(c, time)),
      this.predictionLane,
    )
  }

  // devices

  async listDevices(): Promise<Device[]> {
    const rows = await this.read('listing devices', `${DEVICE_SELECT} ORDER BY id`)
    const described = new Set(rows.map((row) => String(row.id)))
    const devices = rows.map((row) => this.withSpan(toDevice(row)))
    // Devices whose first readings are newer than the last summary write.
    for (const id of this.summaries.deviceIds()) {
      if (!described.has(id)) devices.push(this.withSpan(undescribed(id)))
    }
    return described.size === devices.length ? devices : devices.sort((a, b) => (a.id < b.id ? -1 : 1))
  }

  async getDevice(id: string): Promise<Device | undefined> {
    const rows = await this.read('reading a device', `${DEVICE_SELECT} WHERE id = $1`, [id])
    if (rows[0] !== undefined) return this.withSpan(toDevice(rows[0]))
    return this.summaries.span(id) === undefined ? undefined : this.withSpan(undescribed(id))
  }

  async describeDevice(
    device: Pick<Device, 'id' | 'source'> & { name?: string; location?: string },
  ): Promise<void> {
    await this.write(
      'describing a device',
      (c) =>
        c.run(
          `INSERT INTO devices (id, name, source, location) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET
           name = coalesce(excluded.name, devices.name),
           source = excluded.source,
           location = coalesce(excluded.location, devices.location)`,
          [device.id, device.name ?? null, device.source, device.location ?? null],
        ),
      this.summaryLane,
    )
  }

  // rejections

  async writeRejections(rows: readonly Rejection[]): Promise<void> {
    if (rows.length === 0) return
    for (const r of rows) checkTime(r.receivedAt, 'receivedAt')
    await this.write('writing rejections', (c) =>
      transaction(c, async () => {
        for (const chunk of chunks(rows, VALUES_CHUNK)) {
          await c.run(
            `INSERT INTO rejected (received_at, source, reason, code, payload) VALUES ${placeholders(chunk.length, 5)}`,
            chunk.flatMap((r) => [ts(r.receivedAt), r.source, r.reason, r.code, r.payload]),
          )
        }
      }),
    )
  }

  async listRejections(query: { source?: string; limit?: number } = {}): Promise<StoredRejection[]> {
    const where = conditions({ source: query.source })
    const rows = await this.read(
      'listing rejections',
      `SELECT id, epoch_ms(received_at) AS received_at, source, reason, code, payload FROM rejected${where.sql}
       ORDER BY received_at DESC, id DESC LIMIT ${limitOf(query.limit)}`,
      where.params,
    )
    return rows.map((row) => ({
      id: Number(row.id),
      receivedAt: Number(row.received_at),
      source: String(row.source),
      reason: String(row.reason),
      code: String(row.code),
      payload: String(row.payload),
    }))
  }

  async countRejections(filter: { source?: string } = {}): Promise<number> {
    const where = conditions({ source: filter.source })
    const rows = await this.read(
      'counting rejections',
      `SELECT count(*) AS n FROM rejected${where.sql}`,
      where.params,
    )
    return Number(rows[0]?.n ?? 0)
  }

  // api keys

  async createKey(key: ApiKeyRecord): Promise<void> {
    await this.write('creating an API key', (c) =>
      c.run('INSERT INTO api_keys VALUES ($1, $2, $3, $4, $5, $6)', [
        key.id,
        key.name,
        key.hash,
        ts(key.createdAt),
        tsOrNull(key.revokedAt),
        tsOrNull(key.lastUsedAt),
      ]),
    )
  }

  async getKey(id: string): Promise<ApiKeyRecord | undefined> {
    const rows = await this.read('reading an API key', `${KEY_SELECT} WHERE id = $1`, [id])
    return rows[0] === undefined ? undefined : toKey(rows[0])
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    const rows = await this.read('listing API keys', `${KEY_SELECT} ORDER BY created_at, id`)
    return rows.map(toKey)
  }

  async revokeKey(id: string, at: TimeMs): Promise<boolean> {
    checkTime(at, 'at')
    return this.write('revoking an API key', async (c) => {
      const result = await c.run('UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1', [
        id,
        ts(at),
      ])
      return result.rowsChanged > 0
    })
  }

  async touchKey(id: string, at: TimeMs): Promise<void> {
    checkTime(at, 'at')
    await this.write('touching an API key', (c) =>
      c.run('UPDATE api_keys SET last_used_at = $2 WHERE id = $1', [id, ts(at)]),
    )
  }

  // registry

  async createModelVersion(
    input: Omit<ModelVersionRecord, 'version'> & { task: string },
  ): Promise<ModelVersionRecord> {
    checkTime(input.createdAt, 'createdAt')
    return this.write('registering a model version', (c) =>
      transaction(c, async () => {
        await c.run('INSERT INTO models VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [
          input.model,
          input.task,
          ts(input.createdAt),
        ])
        const rows = await all(
          c,
          'SELECT coalesce(max(version), 0) + 1 AS version FROM model_versions WHERE model = $1',
          [input.model],
        )
        const version = Number(rows[0]?.version ?? 1)
        await c.run('INSERT INTO model_versions VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)', [
          input.model,
          version,
          input.algorithm,
          JSON.stringify(input.signature),
          JSON.stringify(input.metrics),
          JSON.stringify(input.params),
          input.snapshotId ?? null,
          input.artifactKey,
          input.runId ?? null,
          ts(input.createdAt),
          input.description ?? null,
        ])
        const { task: _task, ...record } = input
        return { ...record, version }
      }),
    )
  }

  async getModel(name: string): Promise<ModelRecord | undefined> {
    return (await this.models(name))[0]
  }

  async listModels(): Promise<ModelRecord[]> {
    return this.models(undefined)
  }

  async getModelVersion(model: string, version: number): Promise<ModelVersionRecord | undefined> {
    if (!Number.isSafeInteger(version)) return undefined
    const rows = await this.read(
      'reading a model version',
      `${VERSION_SELECT} WHERE model = $1 AND version = $2`,
      [model, version],
    )
    return rows[0] === undefined ? undefined : toModelVersion(rows[0])
  }

  async listModelVersions(model?: string): Promise<ModelVersionRecord[]> {
    const where = conditions({ model })
    const rows = await this.read(
      'listing model versions',
      `${VERSION_SELECT}${where.sql} ORDER BY created_at DESC, model, version DESC`,
      where.params,
    )
    return rows.map(toModelVersion)
  }

  async setAlias(model: string, alias: string, version: number): Promise<void> {
    await this.write('setting a model alias', async (c) => {
      const found = Number.isSafeInteger(version)
        ? await all(c, 'SELECT 1 FROM model_versions WHERE model = $1 AND version = $2', [model, version])
        : []
      if (found.length === 0) {
        throw new AirlakeError(
          'MODEL_NOT_FOUND',
          `model ${model} has no version ${version}: see the registered versions with \`airlake models list\``,
        )
      }
      await c.run(
        `INSERT INTO model_aliases VALUES ($1, $2, $3)
         ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version`,
        [model, alias, version],
      )
    })
  }

  async deleteAlias(model: string, alias: string): Promise<boolean> {
    return this.write('deleting a model alias', async (c) => {
      const result = await c.run('DELETE FROM model_aliases WHERE model = $1 AND alias = $2', [model, alias])
      return result.rowsChanged > 0
    })
  }

  async listAliases(): Promise<Array<{ model: string; alias: string; version: number }>> {
    const rows = await this.read(
      'listing model aliases',
      'SELECT model, alias, version FROM model_aliases ORDER BY model, alias',
    )
    return rows.map((row) => ({
      model: String(row.model),
      alias: String(row.alias),
      version: Number(row.version),
    }))
  }

  // runs

  async saveRun(run: RunRecord): Promise<void> {
    checkTime(run.createdAt, 'createdAt')
    await this.write('saving a run', (c) =>
      c.run('INSERT OR REPLACE INTO runs VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)', [
        run.id,
        run.kind,
        run.status,
        JSON.stringify(run.params),
        JSON.stringify(run.steps),
        JSON.stringify(run.metrics),
        JSON.stringify(run.artifacts),
        ts(run.createdAt),
        tsOrNull(run.startedAt),
        tsOrNull(run.endedAt),
        run.error ?? null,
      ]),
    )
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const rows = await this.read('reading a run', `${RUN_SELECT} WHERE id = $1`, [id])
    return rows[0] === undefined ? undefined : toRun(rows[0])
  }

  async listRuns(query: { kind?: string; status?: RunStatus; limit?: number } = {}): Promise<RunRecord[]> {
    const where = conditions({ kind: query.kind, status: query.status })
    const rows = await this.read(
      'listing runs',
      `${RUN_SELECT}${where.sql} ORDER BY created_at DESC, id DESC LIMIT ${limitOf(query.limit)}`,
      where.params,
    )
    return rows.map(toRun)
  }

  async appendRunLog(line: Omit<RunLogLine, 'seq'>): Promise<void> {
    checkTime(line.time, 'time')
    await this.write('appending a run log line', (c) =>
      c.run(
        `INSERT INTO run_logs
         SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4 FROM run_logs WHERE run_id = $1`,
        [line.runId, ts(line.time), line.level, line.message],
      ),
    )
  }

  async listRunLogs(runId: string, afterSeq = 0): Promise<RunLogLine[]> {
    const rows = await this.read(
      'reading run logs',
      `SELECT run_id, seq, epoch_ms(time) AS time, level, message FROM run_logs
       WHERE run_id = $1 AND seq > $2 ORDER BY seq`,
      [runId, Math.trunc(afterSeq)],
    )
    return rows.map((row) => ({
      runId: String(row.run_id),
      seq: Number(row.seq),
      time: Number(row.time),
      level: String(row.level) as RunLogLine['level'],
      message: String(row.message),
    }))
  }

  // model selection

  async writeShadowForecasts(rows: readonly ShadowForecast[]): Promise<void> {
    if (rows.length === 0) return
    rows.forEach((r) => {
      checkTime(r.time, 'time')
      checkTime(r.issuedAt, 'issuedAt')
    })
    const unique = lastPerKey(
      rows,
      (r) =>
        `${r.deviceId}\u0000${r.measure}\u0000${r.time}\u0000${r.selector}\u0000${r.horizon}\u0000${r.arm}`,
    )
    await this.write('writing shadow forecasts', (c) =>
      transaction(c, async () => {
        for (const chunk of chunks(unique, VALUES_CHUNK)) {
          await c.run(
            `INSERT OR REPLACE INTO shadow_forecasts
             (selector, device_id, measure, time, horizon, arm, value, issued_at) VALUES ${placeholders(chunk.length, 8)}`,
            chunk.flatMap((r) => [
              r.selector,
              r.deviceId,
              r.measure,
              ts(r.time),
              r.horizon,
              r.arm,
              r.value,
              ts(r.issuedAt),
            ]),
          )
        }
      }),
    )
  }

  async takeShadowForecasts(deviceId: string, measure: string, time: TimeMs): Promise<ShadowForecast[]> {
    checkTime(time, 'time')
    const rows = await this.write('taking shadow forecasts', (c) =>
      all(
        c,
        `DELETE FROM shadow_forecasts WHERE device_id = $1 AND measure = $2 AND time = $3
         RETURNING selector, device_id, measure, epoch_ms(time) AS time, horizon, arm, value,
           epoch_ms(issued_at) AS issued_at`,
        [deviceId, measure, ts(time)],
      ),
    )
    return rows.map(toShadowForecast).sort(compareShadow)
  }

  async deleteShadowForecastsBefore(time: TimeMs): Promise<number> {
    checkTime(time, 'time')
    return this.write('deleting old shadow forecasts', async (c) => {
      const result = await c.run('DELETE FROM shadow_forecasts WHERE time < $1', [ts(time)])
      return result.rowsChanged
    })
  }

  async listArms(selector?: string): Promise<ArmState[]> {
    const where = conditions({ selector })
    const rows = await this.read(
      'listing bandit arms',
      `SELECT selector, arm, pulls, reward_sum, epoch_ms(updated_at) AS updated_at FROM bandit_arms${where.sql}
       ORDER BY selector, arm`,
      where.params,
    )
    return rows.map((row) => ({
      selector: String(row.selector),
      arm: String(row.arm),
      pulls: Number(row.pulls),
      rewardSum: Number(row.reward_sum),
      updatedAt: Number(row.updated_at),
    }))
  }

  async addReward(selector: string, arm: string, reward: number, at: TimeMs, pulls = 1): Promise<void> {
    checkTime(at, 'at')
    if (!Number.isFinite(reward) || !Number.isSafeInteger(pulls)) {
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `reward must be finite and pulls an integer, got ${reward}, ${pulls}`,
      )
    }
    await this.write('adding a bandit reward', (c) =>
      c.run(
        `INSERT INTO bandit_arms VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (selector, arm) DO UPDATE SET
           pulls = bandit_arms.pulls + excluded.pulls,
           reward_sum = bandit_arms.reward_sum + excluded.reward_sum,
           updated_at = excluded.updated_at`,
        [selector, arm, pulls, reward, ts(at)],
      ),
    )
  }

  async appendSelectionEvents(events: readonly SelectionEvent[]): Promise<void> {
    if (events.length === 0) return
    for (const e of events) checkTime(e.time, 'time')
    await this.write('appending selection events', (c) =>
      transaction(c, async () => {
        for (const chunk of chunks(events, VALUES_CHUNK)) {
          await c.run(
            `INSERT INTO selection_events (selector, time, kind, arm, value, details)
             VALUES ${placeholders(chunk.length, 6)}`,
            chunk.flatMap((e) => [
              e.selector,
              ts(e.time),
              e.kind,
              e.arm,
              e.value ?? null,
              e.details === undefined ? null : JSON.stringify(e.details),
            ]),
          )
        }
      }),
    )
  }

  async listSelectionEvents(
    query: { selector?: string; kind?: string; limit?: number } = {},
  ): Promise<SelectionEvent[]> {
    const where = conditions({ selector: query.selector, kind: query.kind })
    const rows = await this.read(
      'listing selection events',
      `SELECT selector, epoch_ms(time) AS time, kind, arm, value, details FROM selection_events${where.sql}
       ORDER BY time DESC, id DESC LIMIT ${limitOf(query.limit)}`,
      where.params,
    )
    return rows.map(toSelectionEvent)
  }

  async getPin(selector: string): Promise<string | undefined> {
    const rows = await this.read(
      'reading a selection pin',
      'SELECT arm FROM selection_pins WHERE selector = $1',
      [selector],
    )
    return rows[0] === undefined ? undefined : String(rows[0].arm)
  }

  async setPin(selector: string, arm: string | undefined): Promise<void> {
    await this.write('setting a selection pin', (c) =>
      arm === undefined
        ? c.run('DELETE FROM selection_pins WHERE selector = $1', [selector])
        : c.run('INSERT OR REPLACE INTO selection_pins VALUES ($1, $2)', [selector, arm]),
    )
  }

  // state

  async getState(key: string): Promise<string | undefined> {
    const rows = await this.read('reading state', 'SELECT value FROM state WHERE key = $1', [key])
    return rows[0] === undefined ? undefined : String(rows[0].value)
  }

  async setState(key: string, value: string): Promise<void> {
    await this.write('writing state', (c) =>
      c.run('INSERT OR REPLACE INTO state VALUES ($1, $2)', [key, value]),
    )
  }

  // internals

  /** `device` with first and last seen from the summaries (authoritative; the table lags), and its source if new. */
  private withSpan(device: Device): Device {
    const span = this.summaries.span(device.id)
    if (span === undefined) return device
    return { ...device, source: device.source || span.source, firstSeen: span.first, lastSeen: span.last }
  }

  /**
   * Writes the summaries' changes behind the readings, at most every FLUSH_INTERVAL_MS, one chunk per turn of
   * their lane so that writes queued meanwhile go between the chunks.
   */
  private scheduleSummaries(): void {
    if (this.summaryTimer !== undefined || !this.summaries.dirty) return
    this.summaryTimer = setTimeout(() => void this.writeSummaries(), FLUSH_INTERVAL_MS)
    this.summaryTimer.unref()
  }

  private async writeSummaries(): Promise<void> {
    try {
      // What is dirty now; what changes meanwhile waits for the next turn.
      for (let left = this.summaries.dirtyCount; left > 0 && !this.closed; left -= FLUSH_CHUNK) {
        await this.write(
          'writing device and series summaries',
          (c) => this.summaries.flush(c, FLUSH_CHUNK),
          this.summaryLane,
        )
      }
    } catch (error) {
      this.logger.warn('could not write the device and series summaries; retrying', { error: String(error) })
    } finally {
      this.summaryTimer = undefined
      if (!this.closed) this.scheduleSummaries()
    }
  }

  /**
   * Each write lane's staging tables for the appender (temporary, so never visible to other connections) and
   * prepared statements.
   */
  private async prepareWriter(): Promise<void> {
    const [readings, forecasts] = await Promise.all([
      this.write('preparing the readings writer', (c) => TableWriter.prepare(c, READINGS)),
      this.write(
        'preparing the predictions writer',
        async (c) => {
          this.forecasts = await loadForecastState(c)
          return TableWriter.prepare(c, FORECASTS)
        },
        this.predictionLane,
      ),
      this.write('preparing the summaries writer', (c) => Summaries.prepare(c), this.summaryLane),
    ])
    this.tables = { readings, forecasts }
  }

  /** Writes predictions (unique on their key) as forecast rows, numbered in write order. */
  private async writeForecasts(rows: readonly Prediction[]): Promise<void> {
    const forecasts = forecastRows(rows, () => ++this.forecasts.written)
    // Widened before the rows are visible, so that no page misses their first times.
    for (const row of forecasts) this.forecasts.spanMs = Math.max(this.forecasts.spanMs, spanOf(row))
    await this.tables.forecasts.write(forecasts)
  }

  private async models(name: string | undefined): Promise<ModelRecord[]> {
    const where = name === undefined ? '' : ' WHERE m.name = $1'
    const params = name === undefined ? [] : [name]
    const [models, aliases] = await Promise.all([
      this.read(
        'reading models',
        `SELECT m.name, m.task, epoch_ms(m.created_at) AS created_at, coalesce(max(v.version), 0) AS latest_version
         FROM models m LEFT JOIN model_versions v ON v.model = m.name${where}
         GROUP BY m.name, m.task, m.created_at ORDER BY m.name`,
        params,
      ),
      this.read(
        'reading model aliases',
        `SELECT model AS name, alias, version FROM model_aliases m${name === undefined ? '' : ' WHERE m.model = $1'}`,
        params,
      ),
    ])
    return models.map((row) => ({
      name: String(row.name),
      task: String(row.task),
      createdAt: Number(row.created_at),
      latestVersion: Number(row.latest_version),
      aliases: Object.fromEntries(
        aliases.filter((a) => a.name === row.name).map((a) => [String(a.alias), Number(a.version)]),
      ),
    }))
  }

  private assertOpen(): void {
    if (this.closed) throw new AirlakeError('STORE_UNAVAILABLE', `the DuckDB store ${this.path} is closed`)
  }

  /**
   * Runs `work` on the lane's connection (the writer's by default) after every earlier write of the lane; a
   * closed store rejects, never throws.
   */
  private async write<T>(
    what: string,
    work: (c: DuckDBConnection) => Promise<T>,
    lane: WriteLane = this.writer,
  ): Promise<T> {
    this.assertOpen()
    return lane.run(work).catch((error: unknown) => {
      throw this.failure(what, error)
    })
  }

  private failure(what: string, error: unknown): AirlakeError {
    return wrapError(error, 'STORE_UNAVAILABLE', `DuckDB store ${this.path}: ${what} failed`)
  }

  private read(what: string, sql: string, params: DuckDBValue[] = []): Promise<Row[]> {
    return this.reading(what, (c) => all(c, sql, params))
  }

  /** `work` on a read connection; its failure reported as `what` failing. */
  private async reading<T>(what: string, work: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    this.assertOpen()
    try {
      return await this.readers.use(work)
    } catch (error) {
      throw this.failure(what, error)
    }
  }
}

/** A write connection and the chain of its writes: one at a time, in call order. */
class WriteLane {
  private tail: Promise<unknown> = Promise.resolve()

  constructor(readonly connection: DuckDBConnection) {}

  run<T>(work: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const result = this.tail.then(() => work(this.connection))
    this.tail = result.catch(() => undefined)
    return result
  }

  /** Resolves when the writes called so far have ended. */
  async idle(): Promise<void> {
    await this.tail
  }
}

/** Hands each read connection to one query at a time (a DuckDB connection runs one statement at a time). */
class ConnectionPool {
  private readonly idle: DuckDBConnection[]
  private readonly waiting: Array<(c: DuckDBConnection) => void> = []
  private busy = 0

  constructor(private readonly connections: readonly DuckDBConnection[]) {
    this.idle = [...connections]
  }

  async use<T>(work: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const connection = this.idle.pop() ?? (await new Promise<DuckDBConnection>((r) => this.waiting.push(r)))
    this.busy++
    try {
      return await work(connection)
    } finally {
      this.busy--
      const next = this.waiting.shift()
      if (next === undefined) this.idle.push(connection)
      else next(connection)
    }
  }

  /** Waits until no query is running (new ones are refused by the store once it is closed). */
  async drain(): Promise<void> {
    while (this.busy > 0 || this.waiting.length > 0) await new Promise((r) => setTimeout(r, 5))
  }

  closeAll(): void {
    for (const connection of this.connections) connection.closeSync()
  }
}

const DEVICE_SELECT = `SELECT id, name, source, location, epoch_ms(first_seen) AS first_seen,
  epoch_ms(last_seen) AS last_seen FROM devices`
const KEY_SELECT = `SELECT id, name, hash, epoch_ms(created_at) AS created_at, epoch_ms(revoked_at) AS revoked_at,
  epoch_ms(last_used_at) AS last_used_at FROM api_keys`
const VERSION_SELECT = `SELECT model, version, algorithm, signature, metrics, params, snapshot_id, artifact_key, run_id,
  epoch_ms(created_at) AS created_at, description FROM model_versions`
const RUN_SELECT = `SELECT id, kind, status, params, steps, metrics, artifacts, epoch_ms(created_at) AS created_at,
  epoch_ms(started_at) AS started_at, epoch_ms(ended_at) AS ended_at, error FROM runs`

async function all(c: DuckDBConnection, sql: string, params: DuckDBValue[] = []): Promise<Row[]> {
  const reader = await c.runAndReadAll(sql, params.length > 0 ? params : undefined)
  return reader.getRowObjectsJS()
}

/** One call waiting in a `GroupedWrites`: its rows and how to answer it. */
interface PendingWrite<T> {
  rows: readonly T[]
  resolve: () => void
  reject: (error: unknown) => void
}

/**
 * Rows of calls that arrive while their lane is busy (or in the same turn of the event loop), written together
 * once the lane is free. Small calls are merged into one statement (one commit) up to `mergeUpTo` rows, rows
 * repeated across them keeping the last call's; a larger call is a statement of its own, so its rows are never
 * deduplicated again. The statements run in call order, so a later call still wins a key written by several,
 * and each call resolves or fails with its own statement.
 */
class GroupedWrites<T extends { deviceId: string; time: number }> {
  private waiting: Array<PendingWrite<T>> | undefined

  constructor(
    private readonly options: {
      /** Runs `work` on the lane once the writes before it have ended; rejects (wrapped), never throws, when it cannot. */
      schedule: (work: () => Promise<void>) => Promise<void>
      /** Writes rows unique on their key as one statement. */
      flush: (rows: readonly T[]) => Promise<void>
      /** The row's name within its device's series (the key is device, name, time). */
      name: (row: T) => string
      mergeUpTo: number
      /** The error a call gets when its statement fails. */
      failed: (error: unknown) => unknown
    },
  ) {}

  /** Resolves once `rows` (unique on the key) are committed. */
  add(rows: readonly T[]): Promise<void> {
    return new Promise((resolve, reject) => {
      let calls = this.waiting
      if (calls === undefined) {
        const opened: Array<PendingWrite<T>> = []
        this.waiting = calls = opened
        // The lane refused the work (a closed store): every call of the group fails with that.
        this.options
          .schedule(() => this.writeAll(opened))
          .catch((error: unknown) => {
            if (this.waiting === opened) this.waiting = undefined
            for (const call of opened) call.reject(error)
          })
      }
      calls.push({ rows, resolve, reject })
    })
  }

  private async writeAll(calls: Array<PendingWrite<T>>): Promise<void> {
    // Start on the next turn of the event loop, not the next microtask: calls made in this turn (a burst of
    // requests read from many sockets, or released by one bronze fsync) then share the statement instead of
    // the first going alone and the rest waiting a whole commit for it.
    await nextTurn()
    if (this.waiting === calls) this.waiting = undefined
    for (const chunk of merged(calls, this.options.mergeUpTo)) {
      try {
        const [only, ...more] = chunk
        await this.options.flush(
          more.length === 0
            ? only!.rows
            : lastPerSeriesKey(
                chunk.flatMap((call) => call.rows),
                this.options.name,
              ),
        )
        for (const call of chunk) call.resolve()
      } catch (error) {
        const failure = this.options.failed(error)
        for (const call of chunk) call.reject(failure)
      }
    }
  }
}

/** Consecutive calls merged while their rows add up to at most `limit`; a larger call alone. */
function* merged<T>(calls: ReadonlyArray<PendingWrite<T>>, limit: number): Generator<Array<PendingWrite<T>>> {
  let chunk: Array<PendingWrite<T>> = []
  let rows = 0
  for (const call of calls) {
    if (chunk.length > 0 && rows + call.rows.length > limit) {
      yield chunk
      chunk = []
      rows = 0
    }
    chunk.push(call)
    rows += call.rows.length
  }
  if (chunk.length > 0) yield chunk
}

/** A device known only from its readings (its row is not written yet): source and times come from its span. */
function undescribed(id: string): Device {
  return { id, name: undefined, source: '', location: undefined, firstSeen: 0, lastSeen: 0 }
}

const READINGS: TableSpec<Reading> = {
  table: 'readings',
  columns: [
    { name: 'time', type: 'timestamp', value: (r) => r.time },
    { name: 'device_id', type: 'varchar', value: (r) => r.deviceId },
    { name: 'measure', type: 'varchar', value: (r) => r.measure },
    { name: 'value', type: 'double', value: (r) => r.value },
    { name: 'source', type: 'varchar', value: (r) => r.source },
  ],
  key: ['device_id', 'measure', 'time'],
}

function tsOrNull(time: TimeMs | undefined): DuckDBValue {
  return time === undefined ? null : ts(time)
}

function parseJson<T>(value: unknown, fallback: T): T {
  return typeof value === 'string' ? (JSON.parse(value) as T) : fallback
}

/** ` WHERE a = $1 AND b = $2` for the defined entries (empty when none). */
function conditions(filter: Record<string, string | undefined>): { sql: string; params: DuckDBValue[] } {
  const parts: string[] = []
  const params: DuckDBValue[] = []
  for (const [column, value] of Object.entries(filter)) {
    if (value === undefined) continue
    params.push(value)
    parts.push(`${column} = $${params.length}`)
  }
  return { sql: parts.length === 0 ? '' : ` WHERE ${parts.join(' AND ')}`, params }
}

function toQueryParam(value: unknown): DuckDBValue {
  if (value === null || value === undefined) return null
  if (value instanceof Date) return ts(value.getTime())
  if (
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean' ||
    typeof value === 'bigint'
  ) {
    return value
  }
  throw new AirlakeError('PARAMETER_INVALID', `query parameters must be strings, numbers, booleans or dates`)
}

/** Query rows as plain JSON-friendly values: integers that fit become numbers, timestamps stay Dates. */
function plainRow(row: Row): Row {
  const out: Row = {}
  for (const [key, value] of Object.entries(row)) {
    out[key] =
      typeof value === 'bigint'
        ? value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
          ? Number(value)
          : value.toString()
        : value
  }
  return out
}

function toModelVersion(row: Row): ModelVersionRecord {
  return {
    model: String(row.model),
    version: Number(row.version),
    algorithm: String(row.algorithm),
    signature: parseJson(row.signature, {}),
    metrics: parseJson(row.metrics, {}),
    params: parseJson(row.params, {}),
    snapshotId: optionalString(row.snapshot_id),
    artifactKey: String(row.artifact_key),
    runId: optionalString(row.run_id),
    createdAt: Number(row.created_at),
    description: optionalString(row.description),
  }
}

function toRun(row: Row): RunRecord {
  return {
    id: String(row.id),
    kind: String(row.kind),
    status: String(row.status) as RunStatus,
    params: parseJson(row.params, {}),
    steps: parseJson(row.steps, []),
    metrics: parseJson(row.metrics, {}),
    artifacts: parseJson(row.artifacts, {}),
    createdAt: Number(row.created_at),
    startedAt: optionalNumber(row.started_at),
    endedAt: optionalNumber(row.ended_at),
    error: optionalString(row.error),
  }
}

function toSelectionEvent(row: Row): SelectionEvent {
  return {
    selector: String(row.selector),
    time: Number(row.time),
    kind: String(row.kind),
    arm: String(row.arm),
    value: optionalNumber(row.value),
    details: parseJson<Record<string, unknown> | undefined>(row.details, undefined),
  }
}
