/**
 * The scaled-out store: PostgreSQL through `pg`, bulk writes through `COPY` (`pg-copy-streams`).
 *
 * Several airlake processes may share one database: writes are upserts in single transactions, counters and
 * sequences are taken under row or advisory locks, and migrations run under an advisory lock.
 */
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
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
  deviceSpans,
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
  toPrediction,
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
import { postgresMigrations } from './postgres-migrations.js'

/** Rows per multi-row INSERT for the small tables (rejections, shadow forecasts, events). */
const VALUES_CHUNK = 500
/** Rows per chunk written to a COPY stream. */
const COPY_CHUNK = 2000
/** Default `limit` of the newest-first listings. */
/** First key of the advisory locks airlake takes ('airl'); the second is per schema, run or purpose. */
const LOCK_CLASS = 0x6169726c
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

const INT8_OID = 20
const NUMERIC_OID = 1700
/** int8 and numeric as JS numbers (exact up to 2^53; larger integers stay strings). */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID) {
      return (text: string) => {
        const n = Number(text)
        return Number.isSafeInteger(n) ? n : text
      }
    }
    if (oid === NUMERIC_OID) return (text: string) => Number(text)
    return pg.types.getTypeParser(oid, format)
  }) as pg.CustomTypesConfig['getTypeParser'],
}

/** `timestamptz` column as epoch ms (exact: `extract` gives numeric). */
function ms(column: string, as = column): string {
  return `(extract(epoch from ${column}) * 1000)::int8 AS ${as}`
}

/** Epoch-ms `bigint` column of a staging table as `timestamptz` (exact to the microsecond). */
function fromMs(column: string): string {
  return `timestamptz 'epoch' + ${column} * interval '1 millisecond'`
}

/**
 * `Store` on PostgreSQL. Times are `timestamptz`; the port speaks epoch ms. A batch of readings is COPied
 * straight into its table (or, when some of it is already stored, into a session-local staging table and
 * upserted from it) in one transaction, so it is stored whole or not at all. A device described before any
 * reading reports first/last seen as 0.
 *
 * @example
 * const store = await PostgresStore.open('postgres://airlake@db.example:5432/airlake', { poolSize: 20 })
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres'
  private closed = false

  private constructor(
    private readonly pool: pg.Pool,
    /** `host:port/database`, for messages (never the password). */
    private readonly target: string,
    private readonly schema: string | undefined,
    private readonly logger: Logger,
  ) {}

  /**
   * Connects to `url` and runs the migrations. `schema` (created if missing) becomes the search path, so
   * several stores can share a database. Throws STORE_UNAVAILABLE naming host:port when PostgreSQL cannot
   * be reached, CONFIG_INVALID for a bad URL or schema name.
   */
  static async open(
    url: string,
    options: { schema?: string; logger?: Logger; poolSize?: number } = {},
  ): Promise<PostgresStore> {
    const logger = (options.logger ?? silentLogger).child({ store: 'postgres' })
    const target = describeTarget(url)
    const schema = options.schema
    if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
      throw new AirlakeError(
        'CONFIG_INVALID',
        `PostgreSQL schema must be letters, digits and underscores (not starting with a digit), got ${JSON.stringify(schema)}`,
      )
    }
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 10_000,
      types,
      ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
    })
    pool.on('error', (error) => logger.warn('an idle PostgreSQL connection failed', { error: error.message }))
    const store = new PostgresStore(pool, target, schema, logger)
    try {
      await store.migrate()
      return store
    } catch (error) {
      await pool.end().catch(() => undefined)
      throw error
    }
  }

  async migrate(): Promise<void> {
    const client = await this.connect()
    try {
      // Two processes starting at once must not both apply a migration: one waits for the other here.
      await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [
        LOCK_CLASS,
        `migrate:${this.schema ?? ''}`,
      ])
      try {
        if (this.schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`)
        await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
          version integer PRIMARY KEY,
          name text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`)
        const applied = new Set(
          (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
            (r) => r.version,
          ),
        )
        for (const migration of postgresMigrations) {
          if (applied.has(migration.version)) continue
          await client.query('BEGIN')
          try {
            for (const statement of migration.statements) await client.query(statement)
            await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
              migration.version,
              migration.name,
            ])
            await client.query('COMMIT')
          } catch (error) {
            await client.query('ROLLBACK').catch(() => undefined)
            throw error
          }
          this.logger.info('applied store migration', { version: migration.version, name: migration.name })
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [
          LOCK_CLASS,
          `migrate:${this.schema ?? ''}`,
        ])
      }
    } catch (error) {
      throw this.wrap(error, 'running migrations')
    } finally {
      client.release()
    }
  }

  async ping(): Promise<void> {
    await this.rows('ping', 'SELECT 1')
  }

  async query(sql: string, params: readonly unknown[] = []): Promise<Record<string, unknown>[]> {
    const client = await this.connect()
    try {
      await client.query('BEGIN READ ONLY')
      const result = await client.query(sql, [...params])
      await client.query('COMMIT')
      return result.rows
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      const code = (error as { code?: unknown }).code
      // SQL errors (syntax, unknown names, bad data, writes refused by READ ONLY) are the caller's to fix.
      if (typeof code === 'string' && /^(42|22|25|0A)/.test(code)) {
        throw wrapError(error, 'BAD_REQUEST', 'the query failed (only read-only SQL may run here)')
      }
      throw this.wrap(error, 'running a query')
    } finally {
      client.release()
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.pool.end()
  }

  // readings

  async writeReadings(rows: readonly Reading[]): Promise<WriteReport> {
    if (rows.length === 0) return { stored: 0 }
    rows.forEach(checkReading)
    // Sorted in key order so concurrent writers lock rows in the same order and cannot deadlock.
    const unique = [...lastPerSeriesKey(rows, (r) => r.measure)].sort(byReadingKey)
    await this.transaction('writing readings', async (c) => {
      // New readings (the usual case) are COPied straight into the table, the engine's own bulk load. A reading
      // that is already stored fails the COPY on the key; then the batch is staged and upserted instead.
      await c.query('SAVEPOINT direct_copy')
      try {
        await copyRows(
          c,
          'COPY readings (time, device_id, measure, value, source) FROM STDIN',
          unique,
          (r) =>
            `${new Date(r.time).toISOString()}\t${copyText(r.deviceId)}\t${copyText(r.measure)}\t${r.value}\t${copyText(r.source)}\n`,
        )
        await c.query('RELEASE SAVEPOINT direct_copy')
      } catch (error) {
        if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error
        await c.query('ROLLBACK TO SAVEPOINT direct_copy')
        await c.query(`CREATE TEMP TABLE IF NOT EXISTS readings_stage (
          time_ms int8, device_id text, measure text, value float8, source text) ON COMMIT DELETE ROWS`)
        await copyRows(
          c,
          'COPY readings_stage (time_ms, device_id, measure, value, source) FROM STDIN',
          unique,
          (r) =>
            `${r.time}\t${copyText(r.deviceId)}\t${copyText(r.measure)}\t${r.value}\t${copyText(r.source)}\n`,
        )
        await c.query(
          `INSERT INTO readings (time, device_id, measure, value, source)
           SELECT ${fromMs('time_ms')}, device_id, measure, value, source FROM readings_stage
           ORDER BY device_id, time_ms, measure
           ON CONFLICT (device_id, time, measure) DO UPDATE SET value = excluded.value, source = excluded.source`,
        )
      }
      const devices = deviceSpans(unique)
      await c.query(
        `INSERT INTO devices (id, source, first_seen, last_seen)
         SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[])
         ON CONFLICT (id) DO UPDATE SET
           first_seen = least(devices.first_seen, excluded.first_seen),
           last_seen = greatest(devices.last_seen, excluded.last_seen)`,
        [
          devices.map((d) => d.id),
          devices.map((d) => d.source),
          devices.map((d) => date(d.first)),
          devices.map((d) => date(d.last)),
        ],
      )
      const latest = latestPerMeasure(unique)
      await c.query(
        `INSERT INTO latest_readings (device_id, measure, time, value, source)
         SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::float8[], $5::text[])
         ON CONFLICT (device_id, measure) DO UPDATE SET
           time = excluded.time, value = excluded.value, source = excluded.source
         WHERE excluded.time >= latest_readings.time`,
        [
          latest.map((r) => r.deviceId),
          latest.map((r) => r.measure),
          latest.map((r) => date(r.time)),
          latest.map((r) => r.value),
          latest.map((r) => r.source),
        ],
      )
    })
    return { stored: unique.length }
  }

  async readingsPage(query: SeriesPageQuery): Promise<Reading[]> {
    const rows = await this.seriesPage('readings', 'measure', 'source', query)
    return rows.map(toReading)
  }

  async readingsGrid(query: SeriesPageQuery): Promise<SeriesGrid> {
    const measures = query.measures
      ? distinctMeasures(query.measures)
      : await this.listMeasures(query.deviceId)
    const range = pageRange({ ...query, measures })
    if (range === undefined) return emptyGrid(measures)
    // Pivoted here: the key's index is walked backwards on (device, time) and grouped as it goes, so the
    // page stops at its last time; the values come from the key's leaves (migration 6), not the table. A day
    // comes back as 1,440 rows of numbers instead of 8,640 of text.
    const names = measures.map((_, j) => `$${4 + j}`)
    const rows = (await this.arrays(
      'reading a page of readings',
      `SELECT (extract(epoch from time) * 1000)::float8,
         ${names.map((name) => `max(value) FILTER (WHERE measure = ${name})`).join(', ')}
       FROM readings WHERE device_id = $1 AND time >= $2 AND time <= $3 AND measure IN (${names.join(', ')})
       GROUP BY time ORDER BY time DESC LIMIT ${range.limitTimes}`,
      [query.deviceId, date(range.from), date(range.upper), ...measures],
    )) as Array<Array<number | null>>
    const width = measures.length
    const times = new Float64Array(rows.length)
    const values = new Float64Array(rows.length * width)
    rows.forEach((row, i) => {
      times[i] = row[0]!
      for (let j = 0; j < width; j++) values[i * width + j] = row[j + 1] ?? Number.NaN
    })
    return { measures: [...measures], times, values }
  }

  async readingSeries(deviceId: string, measure: string, from: TimeMs, to: TimeMs): Promise<Reading[]> {
    checkTime(from, 'from')
    checkTime(to, 'to')
    const rows = await this.rows(
      'reading a series',
      `SELECT ${ms('time')}, device_id, measure, value, source FROM readings
       WHERE device_id = $1 AND time >= $3 AND time <= $4 AND measure = $2 ORDER BY time`,
      [deviceId, measure, date(from), date(to)],
    )
    return rows.map(toReading)
  }

  async latestReadings(): Promise<Reading[]> {
    const rows = await this.rows(
      'reading the latest readings',
      `SELECT ${ms('time')}, device_id, measure, value, source FROM latest_readings ORDER BY device_id, measure`,
    )
    return rows.map(toReading)
  }

  async listMeasures(deviceId?: string): Promise<string[]> {
    const rows =
      deviceId === undefined
        ? await this.rows('listing measures', 'SELECT DISTINCT measure FROM latest_readings ORDER BY measure')
        : await this.rows(
            'listing measures',
            'SELECT measure FROM latest_readings WHERE device_id = $1 ORDER BY measure',
            [deviceId],
          )
    return rows.map((row) => String(row.measure))
  }

  async countReadings(filter: { deviceId?: string; source?: string } = {}): Promise<number> {
    const where = conditions({ device_id: filter.deviceId, source: filter.source })
    const rows = await this.rows(
      'counting readings',
      `SELECT count(*) AS n FROM readings${where.sql}`,
      where.params,
    )
    return Number(rows[0]?.n ?? 0)
  }

  async deleteReadingsBefore(time: TimeMs): Promise<number> {
    checkTime(time, 'time')
    return this.transaction('deleting old readings', async (c) => {
      const result = await c.query('DELETE FROM readings WHERE time < $1', [date(time)])
      // A pair whose newest reading is older than the cut has no reading left at all.
      await c.query('DELETE FROM latest_readings WHERE time < $1', [date(time)])
      return result.rowCount ?? 0
    })
  }

  // predictions

  async writePredictions(rows: readonly Prediction[]): Promise<WriteReport> {
    if (rows.length === 0) return { stored: 0 }
    rows.forEach(checkPrediction)
    const unique = lastPerSeriesKey(rows, (r) => r.measureName)
    await this.transaction('writing predictions', async (c) => {
      await c.query(`CREATE TEMP TABLE IF NOT EXISTS predictions_stage (
        time_ms int8, device_id text, measure_name text, value float8, model_version text, issued_at_ms int8)
        ON COMMIT DELETE ROWS`)
      await copyRows(
        c,
        'COPY predictions_stage (time_ms, device_id, measure_name, value, model_version, issued_at_ms) FROM STDIN',
        unique,
        (r) =>
          `${r.time}\t${copyText(r.deviceId)}\t${copyText(r.measureName)}\t${r.value}\t${copyText(r.modelVersion)}\t${r.issuedAt}\n`,
      )
      await c.query(
        `INSERT INTO predictions (time, device_id, measure_name, value, model_version, issued_at)
         SELECT ${fromMs('time_ms')}, device_id, measure_name, value, model_version, ${fromMs('issued_at_ms')}
         FROM predictions_stage ORDER BY device_id, time_ms, measure_name
         ON CONFLICT (device_id, time, measure_name) DO UPDATE SET
           value = excluded.value, model_version = excluded.model_version, issued_at = excluded.issued_at`,
      )
    })
    return { stored: unique.length }
  }

  async predictionsPage(query: SeriesPageQuery): Promise<Prediction[]> {
    const rows = await this.seriesPage(
      'predictions',
      'measure_name',
      `model_version, ${ms('issued_at')}`,
      query,
    )
    return rows.map(toPrediction)
  }

  async countPredictions(filter: { deviceId?: string } = {}): Promise<number> {
    const where = conditions({ device_id: filter.deviceId })
    const rows = await this.rows(
      'counting predictions',
      `SELECT count(*) AS n FROM predictions${where.sql}`,
      where.params,
    )
    return Number(rows[0]?.n ?? 0)
  }

  async deletePredictionsBefore(time: TimeMs): Promise<number> {
    checkTime(time, 'time')
    const result = await this.run('deleting old predictions', 'DELETE FROM predictions WHERE time < $1', [
      date(time),
    ])
    return result.rowCount ?? 0
  }

  // devices

  async listDevices(): Promise<Device[]> {
    const rows = await this.rows('listing devices', `${DEVICE_SELECT} ORDER BY id`)
    return rows.map(toDevice)
  }

  async getDevice(id: string): Promise<Device | undefined> {
    const rows = await this.rows('reading a device', `${DEVICE_SELECT} WHERE id = $1`, [id])
    return rows[0] === undefined ? undefined : toDevice(rows[0])
  }

  async describeDevice(
    device: Pick<Device, 'id' | 'source'> & { name?: string; location?: string },
  ): Promise<void> {
    await this.run(
      'describing a device',
      `INSERT INTO devices (id, name, source, location) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET
         name = coalesce(excluded.name, devices.name),
         source = excluded.source,
         location = coalesce(excluded.location, devices.location)`,
      [device.id, device.name ?? null, device.source, device.location ?? null],
    )
  }

  // rejections

  async writeRejections(rows: readonly Rejection[]): Promise<void> {
    if (rows.length === 0) return
    for (const r of rows) checkTime(r.receivedAt, 'receivedAt')
    await this.transaction('writing rejections', async (c) => {
      for (const chunk of chunks(rows, VALUES_CHUNK)) {
        await c.query(
          `INSERT INTO rejected (received_at, source, reason, code, payload) VALUES ${placeholders(chunk.length, 5)}`,
          chunk.flatMap((r) => [date(r.receivedAt), r.source, r.reason, r.code, r.payload]),
        )
      }
    })
  }

  async listRejections(query: { source?: string; limit?: number } = {}): Promise<StoredRejection[]> {
    const where = conditions({ source: query.source })
    const rows = await this.rows(
      'listing rejections',
      `SELECT id, ${ms('received_at')}, source, reason, code, payload FROM rejected${where.sql}
       ORDER BY rejected.received_at DESC, id DESC LIMIT ${limitOf(query.limit)}`,
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
    const rows = await this.rows(
      'counting rejections',
      `SELECT count(*) AS n FROM rejected${where.sql}`,
      where.params,
    )
    return Number(rows[0]?.n ?? 0)
  }

  // api keys

  async createKey(key: ApiKeyRecord): Promise<void> {
    await this.run('creating an API key', 'INSERT INTO api_keys VALUES ($1, $2, $3, $4, $5, $6)', [
      key.id,
      key.name,
      key.hash,
      date(key.createdAt),
      dateOrNull(key.revokedAt),
      dateOrNull(key.lastUsedAt),
    ])
  }

  async getKey(id: string): Promise<ApiKeyRecord | undefined> {
    const rows = await this.rows('reading an API key', `${KEY_SELECT} WHERE id = $1`, [id])
    return rows[0] === undefined ? undefined : toKey(rows[0])
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    const rows = await this.rows('listing API keys', `${KEY_SELECT} ORDER BY api_keys.created_at, id`)
    return rows.map(toKey)
  }

  async revokeKey(id: string, at: TimeMs): Promise<boolean> {
    checkTime(at, 'at')
    const result = await this.run(
      'revoking an API key',
      'UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1',
      [id, date(at)],
    )
    return (result.rowCount ?? 0) > 0
  }

  async touchKey(id: string, at: TimeMs): Promise<void> {
    checkTime(at, 'at')
    await this.run('touching an API key', 'UPDATE api_keys SET last_used_at = $2 WHERE id = $1', [
      id,
      date(at),
    ])
  }

  // registry

  async createModelVersion(
    input: Omit<ModelVersionRecord, 'version'> & { task: string },
  ): Promise<ModelVersionRecord> {
    checkTime(input.createdAt, 'createdAt')
    return this.transaction('registering a model version', async (c) => {
      await c.query('INSERT INTO models VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [
        input.model,
        input.task,
        date(input.createdAt),
      ])
      // The model row lock makes concurrent registrations of one model take consecutive numbers.
      await c.query('SELECT 1 FROM models WHERE name = $1 FOR UPDATE', [input.model])
      const next = await c.query<{ version: number }>(
        'SELECT coalesce(max(version), 0) + 1 AS version FROM model_versions WHERE model = $1',
        [input.model],
      )
      const version = Number(next.rows[0]?.version ?? 1)
      await c.query('INSERT INTO model_versions VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)', [
        input.model,
        version,
        input.algorithm,
        JSON.stringify(input.signature),
        JSON.stringify(input.metrics),
        JSON.stringify(input.params),
        input.snapshotId ?? null,
        input.artifactKey,
        input.runId ?? null,
        date(input.createdAt),
        input.description ?? null,
      ])
      const { task: _task, ...record } = input
      return { ...record, version }
    })
  }

  async getModel(name: string): Promise<ModelRecord | undefined> {
    return (await this.models(name))[0]
  }

  async listModels(): Promise<ModelRecord[]> {
    return this.models(undefined)
  }

  async getModelVersion(model: string, version: number): Promise<ModelVersionRecord | undefined> {
    if (!Number.isSafeInteger(version) || Math.abs(version) > 2 ** 31 - 1) return undefined
    const rows = await this.rows(
      'reading a model version',
      `${VERSION_SELECT} WHERE model = $1 AND version = $2`,
      [model, version],
    )
    return rows[0] === undefined ? undefined : toModelVersion(rows[0])
  }

  async listModelVersions(model?: string): Promise<ModelVersionRecord[]> {
    const where = conditions({ model })
    const rows = await this.rows(
      'listing model versions',
      `${VERSION_SELECT}${where.sql} ORDER BY model_versions.created_at DESC, model, version DESC`,
      where.params,
    )
    return rows.map(toModelVersion)
  }

  async setAlias(model: string, alias: string, version: number): Promise<void> {
    await this.transaction('setting a model alias', async (c) => {
      const found =
        Number.isSafeInteger(version) && Math.abs(version) <= 2 ** 31 - 1
          ? await c.query('SELECT 1 FROM model_versions WHERE model = $1 AND version = $2 FOR SHARE', [
              model,
              version,
            ])
          : { rowCount: 0 }
      if (!found.rowCount) {
        throw new AirlakeError(
          'MODEL_NOT_FOUND',
          `model ${model} has no version ${version}: see the registered versions with \`airlake models list\``,
        )
      }
      await c.query(
        `INSERT INTO model_aliases VALUES ($1, $2, $3)
         ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version`,
        [model, alias, version],
      )
    })
  }

  async deleteAlias(model: string, alias: string): Promise<boolean> {
    const result = await this.run(
      'deleting a model alias',
      'DELETE FROM model_aliases WHERE model = $1 AND alias = $2',
      [model, alias],
    )
    return (result.rowCount ?? 0) > 0
  }

  async listAliases(): Promise<Array<{ model: string; alias: string; version: number }>> {
    const rows = await this.rows(
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
    await this.run(
      'saving a run',
      `INSERT INTO runs VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, status = excluded.status, params = excluded.params,
         steps = excluded.steps, metrics = excluded.metrics, artifacts = excluded.artifacts,
         created_at = excluded.created_at, started_at = excluded.started_at, ended_at = excluded.ended_at,
         error = excluded.error`,
      [
        run.id,
        run.kind,
        run.status,
        JSON.stringify(run.params),
        JSON.stringify(run.steps),
        JSON.stringify(run.metrics),
        JSON.stringify(run.artifacts),
        date(run.createdAt),
        dateOrNull(run.startedAt),
        dateOrNull(run.endedAt),
        run.error ?? null,
      ],
    )
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const rows = await this.rows('reading a run', `${RUN_SELECT} WHERE id = $1`, [id])
    return rows[0] === undefined ? undefined : toRun(rows[0])
  }

  async listRuns(query: { kind?: string; status?: RunStatus; limit?: number } = {}): Promise<RunRecord[]> {
    const where = conditions({ kind: query.kind, status: query.status })
    const rows = await this.rows(
      'listing runs',
      `${RUN_SELECT}${where.sql} ORDER BY runs.created_at DESC, id DESC LIMIT ${limitOf(query.limit)}`,
      where.params,
    )
    return rows.map(toRun)
  }

  async appendRunLog(line: Omit<RunLogLine, 'seq'>): Promise<void> {
    checkTime(line.time, 'time')
    await this.transaction('appending a run log line', async (c) => {
      // Lines of one run may come from several workers: the lock gives each its own next number.
      await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS, `run:${line.runId}`])
      await c.query(
        `INSERT INTO run_logs
         SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4 FROM run_logs WHERE run_id = $1`,
        [line.runId, date(line.time), line.level, line.message],
      )
    })
  }

  async listRunLogs(runId: string, afterSeq = 0): Promise<RunLogLine[]> {
    const rows = await this.rows(
      'reading run logs',
      `SELECT run_id, seq, ${ms('time')}, level, message FROM run_logs
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
    for (const r of rows) {
      checkTime(r.time, 'time')
      checkTime(r.issuedAt, 'issuedAt')
    }
    const unique = lastPerKey(
      rows,
      (r) =>
        `${r.deviceId}\u0000${r.measure}\u0000${r.time}\u0000${r.selector}\u0000${r.horizon}\u0000${r.arm}`,
    )
    await this.transaction('writing shadow forecasts', async (c) => {
      for (const chunk of chunks(unique, VALUES_CHUNK)) {
        await c.query(
          `INSERT INTO shadow_forecasts (selector, device_id, measure, time, horizon, arm, value, issued_at)
           VALUES ${placeholders(chunk.length, 8)}
           ON CONFLICT (device_id, measure, time, selector, horizon, arm) DO UPDATE SET
             value = excluded.value, issued_at = excluded.issued_at`,
          chunk.flatMap((r) => [
            r.selector,
            r.deviceId,
            r.measure,
            date(r.time),
            r.horizon,
            r.arm,
            r.value,
            date(r.issuedAt),
          ]),
        )
      }
    })
  }

  async takeShadowForecasts(deviceId: string, measure: string, time: TimeMs): Promise<ShadowForecast[]> {
    checkTime(time, 'time')
    const rows = await this.rows(
      'taking shadow forecasts',
      `DELETE FROM shadow_forecasts WHERE device_id = $1 AND measure = $2 AND time = $3
       RETURNING selector, device_id, measure, ${ms('time')}, horizon, arm, value, ${ms('issued_at')}`,
      [deviceId, measure, date(time)],
    )
    return rows.map(toShadowForecast).sort(compareShadow)
  }

  async deleteShadowForecastsBefore(time: TimeMs): Promise<number> {
    checkTime(time, 'time')
    const result = await this.run(
      'deleting old shadow forecasts',
      'DELETE FROM shadow_forecasts WHERE time < $1',
      [date(time)],
    )
    return result.rowCount ?? 0
  }

  async listArms(selector?: string): Promise<ArmState[]> {
    const where = conditions({ selector })
    const rows = await this.rows(
      'listing bandit arms',
      `SELECT selector, arm, pulls, reward_sum, ${ms('updated_at')} FROM bandit_arms${where.sql} ORDER BY selector, arm`,
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
    await this.run(
      'adding a bandit reward',
      `INSERT INTO bandit_arms VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (selector, arm) DO UPDATE SET
         pulls = bandit_arms.pulls + excluded.pulls,
         reward_sum = bandit_arms.reward_sum + excluded.reward_sum,
         updated_at = greatest(bandit_arms.updated_at, excluded.updated_at)`,
      [selector, arm, pulls, reward, date(at)],
    )
  }

  async appendSelectionEvents(events: readonly SelectionEvent[]): Promise<void> {
    if (events.length === 0) return
    for (const e of events) checkTime(e.time, 'time')
    await this.transaction('appending selection events', async (c) => {
      for (const chunk of chunks(events, VALUES_CHUNK)) {
        await c.query(
          `INSERT INTO selection_events (selector, time, kind, arm, value, details) VALUES ${placeholders(chunk.length, 6)}`,
          chunk.flatMap((e) => [
            e.selector,
            date(e.time),
            e.kind,
            e.arm,
            e.value ?? null,
            e.details === undefined ? null : JSON.stringify(e.details),
          ]),
        )
      }
    })
  }

  async listSelectionEvents(
    query: { selector?: string; kind?: string; limit?: number } = {},
  ): Promise<SelectionEvent[]> {
    const where = conditions({ selector: query.selector, kind: query.kind })
    const rows = await this.rows(
      'listing selection events',
      `SELECT selector, ${ms('time')}, kind, arm, value, details FROM selection_events${where.sql}
       ORDER BY selection_events.time DESC, id DESC LIMIT ${limitOf(query.limit)}`,
      where.params,
    )
    return rows.map((row) => ({
      selector: String(row.selector),
      time: Number(row.time),
      kind: String(row.kind),
      arm: String(row.arm),
      value: optionalNumber(row.value),
      details: (row.details ?? undefined) as Record<string, unknown> | undefined,
    }))
  }

  async getPin(selector: string): Promise<string | undefined> {
    const rows = await this.rows(
      'reading a selection pin',
      'SELECT arm FROM selection_pins WHERE selector = $1',
      [selector],
    )
    return rows[0] === undefined ? undefined : String(rows[0].arm)
  }

  async setPin(selector: string, arm: string | undefined): Promise<void> {
    if (arm === undefined) {
      await this.run('removing a selection pin', 'DELETE FROM selection_pins WHERE selector = $1', [selector])
    } else {
      await this.run(
        'setting a selection pin',
        'INSERT INTO selection_pins VALUES ($1, $2) ON CONFLICT (selector) DO UPDATE SET arm = excluded.arm',
        [selector, arm],
      )
    }
  }

  // state

  async getState(key: string): Promise<string | undefined> {
    const rows = await this.rows('reading state', 'SELECT value FROM state WHERE key = $1', [key])
    return rows[0] === undefined ? undefined : String(rows[0].value)
  }

  async setState(key: string, value: string): Promise<void> {
    await this.run(
      'writing state',
      'INSERT INTO state VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      [key, value],
    )
  }

  // internals

  private async seriesPage(
    table: 'readings' | 'predictions',
    nameColumn: 'measure' | 'measure_name',
    extraColumns: string,
    query: SeriesPageQuery,
  ): Promise<Row[]> {
    const range = pageRange(query)
    if (range === undefined) return []
    const params: unknown[] = [range.deviceId, date(range.from), date(range.upper)]
    let filter = 'device_id = $1 AND time >= $2 AND time <= $3'
    if (range.measures !== undefined) {
      params.push([...range.measures])
      filter += ` AND ${nameColumn} = ANY($4::text[])`
    }
    return this.rows(
      `reading a page of ${table}`,
      `SELECT ${ms('time')}, device_id, ${nameColumn}, value, ${extraColumns} FROM ${table}
       WHERE ${filter} AND time >= (
         SELECT min(time) FROM (
           SELECT DISTINCT time FROM ${table} WHERE ${filter} ORDER BY time DESC LIMIT ${range.limitTimes}) AS page)
       ORDER BY ${table}.time DESC, ${nameColumn}`,
      params,
    )
  }

  private async models(name: string | undefined): Promise<ModelRecord[]> {
    const params = name === undefined ? [] : [name]
    const rows = await this.rows(
      'reading models',
      `SELECT m.name, m.task, ${ms('m.created_at', 'created_at')},
         (SELECT coalesce(max(v.version), 0) FROM model_versions v WHERE v.model = m.name) AS latest_version,
         (SELECT coalesce(jsonb_object_agg(a.alias, a.version), '{}'::jsonb) FROM model_aliases a
          WHERE a.model = m.name) AS aliases
       FROM models m${name === undefined ? '' : ' WHERE m.name = $1'} ORDER BY m.name`,
      params,
    )
    return rows.map((row) => ({
      name: String(row.name),
      task: String(row.task),
      createdAt: Number(row.created_at),
      latestVersion: Number(row.latest_version),
      aliases: row.aliases as Record<string, number>,
    }))
  }

  private async connect(): Promise<pg.PoolClient> {
    if (this.closed)
      throw new AirlakeError('STORE_UNAVAILABLE', `the PostgreSQL store at ${this.target} is closed`)
    try {
      return await this.pool.connect()
    } catch (error) {
      throw this.wrap(error, 'connecting')
    }
  }

  private async run(what: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
    return this.using(what, (c) => c.query(sql, params))
  }

  /** Rows as arrays of column values (no object per row). */
  private async arrays(what: string, sql: string, params: unknown[] = []): Promise<unknown[][]> {
    return (await this.using(what, (c) => c.query({ text: sql, values: params, rowMode: 'array' }))).rows
  }

  private async using<T>(what: string, work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connect()
    try {
      return await work(client)
    } catch (error) {
      throw this.wrap(error, what)
    } finally {
      client.release()
    }
  }

  private async rows(what: string, sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.run(what, sql, params)).rows
  }

  private async transaction<T>(what: string, work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connect()
    try {
      await client.query('BEGIN')
      const result = await work(client)
      await client.query('COMMIT')
      return result
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw this.wrap(error, what)
    } finally {
      client.release()
    }
  }

  private wrap(error: unknown, what: string): AirlakeError {
    if (error instanceof AirlakeError) return error
    const code = (error as { code?: unknown }).code
    if (typeof code === 'string' && UNREACHABLE.has(code)) {
      return wrapError(
        error,
        'STORE_UNAVAILABLE',
        `cannot reach PostgreSQL at ${this.target} while ${what} (check that the server is running and accepts connections there, and that DATABASE_URL's user, password and database are right)`,
      )
    }
    return wrapError(error, 'STORE_UNAVAILABLE', `PostgreSQL store at ${this.target}: ${what} failed`)
  }
}

/** Node socket errors and SQLSTATEs that mean "not reachable or not allowed in", not "bad SQL". */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  '28000',
  '28P01',
  '3D000',
  '57P01',
  '57P03',
])

function describeTarget(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new AirlakeError(
      'CONFIG_INVALID',
      'DATABASE_URL is not a URL: use postgres://user:password@host:5432/database',
    )
  }
  const database = parsed.pathname.replace(/^\//, '') || '(default database)'
  return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}/${database}`
}

const UNIQUE_VIOLATION = '23505'

/** Orders readings by the table's key (device, time, measure). */
function byReadingKey(a: Reading, b: Reading): number {
  if (a.deviceId !== b.deviceId) return a.deviceId < b.deviceId ? -1 : 1
  if (a.time !== b.time) return a.time - b.time
  return a.measure < b.measure ? -1 : a.measure > b.measure ? 1 : 0
}

/** The newest reading of each (device, measure) in `rows`, in key order. */
function latestPerMeasure(rows: readonly Reading[]): Reading[] {
  const latest = new Map<string, Reading>()
  for (const r of rows) {
    const key = `${r.deviceId}\u0000${r.measure}`
    const kept = latest.get(key)
    if (!kept || r.time >= kept.time) latest.set(key, r)
  }
  const order = (r: Reading) => `${r.deviceId}\u0000${r.measure}`
  return [...latest.values()].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0))
}

async function copyRows<T>(
  client: pg.PoolClient,
  sql: string,
  rows: readonly T[],
  line: (row: T) => string,
): Promise<void> {
  function* text(): Generator<string> {
    for (let i = 0; i < rows.length; i += COPY_CHUNK) {
      let chunk = ''
      const end = Math.min(rows.length, i + COPY_CHUNK)
      for (let j = i; j < end; j++) chunk += line(rows[j]!)
      yield chunk
    }
  }
  await pipeline(Readable.from(text()), client.query(copyFrom(sql)))
}

const COPY_SPECIAL = /[\\\t\n\r]/
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' }

/** A value for COPY's text format (backslash, tab and line breaks escaped). */
function copyText(value: string): string {
  return COPY_SPECIAL.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!) : value
}

const DEVICE_SELECT = `SELECT id, name, source, location, ${ms('first_seen')}, ${ms('last_seen')} FROM devices`
const KEY_SELECT = `SELECT id, name, hash, ${ms('created_at')}, ${ms('revoked_at')}, ${ms('last_used_at')} FROM api_keys`
const VERSION_SELECT = `SELECT model, version, algorithm, signature, metrics, params, snapshot_id, artifact_key, run_id,
  ${ms('created_at')}, description FROM model_versions`
const RUN_SELECT = `SELECT id, kind, status, params, steps, metrics, artifacts, ${ms('created_at')}, ${ms('started_at')},
  ${ms('ended_at')}, error FROM runs`

function date(time: TimeMs): Date {
  return new Date(time)
}

function dateOrNull(time: TimeMs | undefined): Date | null {
  return time === undefined ? null : new Date(time)
}

/** ` WHERE a = $1 AND b = $2` for the defined entries (empty when none). */
function conditions(filter: Record<string, string | undefined>): { sql: string; params: unknown[] } {
  const parts: string[] = []
  const params: unknown[] = []
  for (const [column, value] of Object.entries(filter)) {
    if (value === undefined) continue
    params.push(value)
    parts.push(`${column} = $${params.length}`)
  }
  return { sql: parts.length === 0 ? '' : ` WHERE ${parts.join(' AND ')}`, params }
}

function toModelVersion(row: Row): ModelVersionRecord {
  return {
    model: String(row.model),
    version: Number(row.version),
    algorithm: String(row.algorithm),
    signature: row.signature as Record<string, unknown>,
    metrics: row.metrics as Record<string, number>,
    params: row.params as Record<string, unknown>,
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
    params: row.params as Record<string, unknown>,
    steps: row.steps as RunRecord['steps'],
    metrics: row.metrics as Record<string, number>,
    artifacts: row.artifacts as Record<string, string>,
    createdAt: Number(row.created_at),
    startedAt: optionalNumber(row.started_at),
    endedAt: optionalNumber(row.ended_at),
    error: optionalString(row.error),
  }
}
