/**
 * DuckdbColumnar: the columnar engine on an in-memory DuckDB instance (no database file), spilling to a
 * temporary folder when a job outgrows `memoryLimit`. Each staging and each query gets its own connection
 * and connection-local (TEMP) objects, so concurrent jobs never see each other's rows.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  BIGINT,
  DOUBLE,
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  VARCHAR,
} from '@duckdb/node-api'
import { AirlakeError, wrapError } from '../../core/errors.js'
import type { Columnar, ColumnarStaging, ExportQuery, ReadingColumns } from '../../core/ports/columnar.js'
import { DAY_MS, type IsoDate, isoDate, parseIsoDate } from '../../core/time.js'

export interface DuckdbColumnarOptions {
  /** DuckDB threads (default: 2). */
  threads?: number
  /** Memory before DuckDB spills to disk, e.g. `1GB` (default). */
  memoryLimit?: string
}

/** A single-quoted SQL string literal. */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}

function fileList(files: readonly string[]): string {
  return `[${files.map(literal).join(', ')}]`
}

/** A whole number safe to inline in SQL (times, counts). */
function integer(value: number, what: string): string {
  if (!Number.isSafeInteger(value))
    throw new AirlakeError('PARAMETER_INVALID', `${what} must be a whole number, got ${value}`)
  return String(value)
}

const SILVER_COLUMNS = `time BIGINT, device_id VARCHAR, measure VARCHAR, value DOUBLE, source VARCHAR, received_at BIGINT`

/** The silver view over `files` with times as epoch ms; an empty, typed relation when there are none. */
function silverRelation(files: readonly string[]): string {
  if (files.length === 0) {
    return `SELECT NULL::BIGINT AS time, NULL::VARCHAR AS device_id, NULL::VARCHAR AS measure, NULL::DOUBLE AS value,
      NULL::VARCHAR AS source, NULL::BIGINT AS received_at WHERE false`
  }
  return `SELECT epoch_ms(time) AS time, device_id, measure, value, source, epoch_ms(received_at) AS received_at
    FROM read_parquet(${fileList(files)})`
}

function toPlain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value)
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(toPlain)
  return String(value)
}

/** The columnar engine on DuckDB; see the module comment. */
export class DuckdbColumnar implements Columnar {
  readonly kind = 'duckdb'
  private closed = false

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly spillDir: string,
  ) {}

  static async open(options: DuckdbColumnarOptions = {}): Promise<DuckdbColumnar> {
    const spillDir = await mkdtemp(join(tmpdir(), 'airlake-columnar-'))
    try {
      const instance = await DuckDBInstance.create(':memory:', {
        threads: String(options.threads ?? 2),
        memory_limit: options.memoryLimit ?? '1GB',
        temp_directory: spillDir,
      })
      return new DuckdbColumnar(instance, spillDir)
    } catch (error) {
      await rm(spillDir, { recursive: true, force: true })
      throw wrapError(
        error,
        'DEPENDENCY_MISSING',
        'cannot start the DuckDB columnar engine (is @duckdb/node-api installed?)',
      )
    }
  }

  /** A connection whose session time zone is UTC, so TIMESTAMPTZ values are written and formatted in UTC. */
  private async connect(): Promise<DuckDBConnection> {
    const connection = await this.instance.connect()
    // Without the ICU extension DuckDB is always UTC and refuses the setting; with it, the default is local time.
    await connection.run(`SET TimeZone = 'UTC'`).catch(() => {})
    return connection
  }

  async openStaging(): Promise<ColumnarStaging> {
    const connection = await this.connect()
    await connection.run(`CREATE TEMP TABLE staged (${SILVER_COLUMNS}, seq BIGINT)`)
    return new DuckdbStaging(connection)
  }

  async exportReadings(query: ExportQuery): Promise<number> {
    const connection = await this.connect()
    try {
      const time =
        query.format === 'csv'
          ? `strftime(epoch_ms(ms), '%Y-%m-%dT%H:%M:%S.%gZ')`
          : 'epoch_ms(ms)::TIMESTAMPTZ'
      const options = query.format === 'csv' ? 'FORMAT csv, HEADER true' : 'FORMAT parquet, COMPRESSION zstd'
      const sql = `COPY (
          SELECT ${time} AS time, device_id, measure, value, source
          FROM (
            SELECT time AS ms, device_id, measure, value, source
            FROM (${silverRelation(query.files)})
            WHERE time >= ${integer(query.from, 'from')} AND time < ${integer(query.to, 'to')}
            QUALIFY row_number() OVER (PARTITION BY device_id, measure, time ORDER BY received_at DESC, source DESC) = 1
          )
          ORDER BY ms, device_id, measure
        ) TO ${literal(query.out)} (${options})`
      const result = await connection.runAndReadAll(sql)
      return Number(result.getRows()[0]?.[0] ?? 0)
    } catch (error) {
      throw wrapError(
        error,
        'LAKE_UNAVAILABLE',
        `cannot export ${query.files.length} silver files to ${query.out}`,
      )
    } finally {
      connection.closeSync()
    }
  }

  async querySilver(
    files: readonly string[],
    sql: string,
    params: readonly (string | number)[] = [],
  ): Promise<Record<string, unknown>[]> {
    const connection = await this.connect()
    try {
      await connection.run(`CREATE TEMP VIEW silver AS ${silverRelation(files)}`)
      const prepared = await connection.prepare(sql)
      params.forEach((param, i) => {
        if (typeof param === 'string') prepared.bindVarchar(i + 1, param)
        else if (Number.isSafeInteger(param)) prepared.bindBigInt(i + 1, BigInt(param))
        else prepared.bindDouble(i + 1, param)
      })
      const reader = await prepared.runAndReadAll()
      return reader
        .getRowObjectsJS()
        .map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, toPlain(value)])))
    } catch (error) {
      throw wrapError(error, 'LAKE_UNAVAILABLE', `cannot query ${files.length} silver files`)
    } finally {
      connection.closeSync()
    }
  }

  /** Closes the engine and removes its spill folder; safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.instance.closeSync()
    await rm(this.spillDir, { recursive: true, force: true })
  }
}

// Rows per DuckDB data chunk (DuckDB's vector size).
const CHUNK_ROWS = 2048

class DuckdbStaging implements ColumnarStaging {
  private seq = 0

  constructor(private readonly connection: DuckDBConnection) {}

  async append(rows: ReadingColumns): Promise<void> {
    const n = rows.time.length
    if ([rows.deviceId, rows.measure, rows.value, rows.receivedAt].some((column) => column.length !== n)) {
      throw new AirlakeError('INTERNAL', 'staged columns must all have the same length')
    }
    try {
      const appender = await this.connection.createAppender('staged')
      try {
        for (let start = 0; start < n; start += CHUNK_ROWS) {
          const end = Math.min(n, start + CHUNK_ROWS)
          const size = end - start
          const seq = new Array<bigint>(size)
          const time = new Array<bigint>(size)
          const receivedAt = new Array<bigint>(size)
          for (let i = 0; i < size; i++) {
            seq[i] = BigInt(this.seq + start + i)
            time[i] = BigInt(rows.time[start + i] ?? 0)
            receivedAt[i] = BigInt(rows.receivedAt[start + i] ?? 0)
          }
          const chunk = DuckDBDataChunk.create(
            [BIGINT, VARCHAR, VARCHAR, DOUBLE, VARCHAR, BIGINT, BIGINT],
            size,
          )
          chunk.setColumns([
            time,
            rows.deviceId.slice(start, end),
            rows.measure.slice(start, end),
            rows.value.slice(start, end),
            new Array<string>(size).fill(rows.source),
            receivedAt,
            seq,
          ])
          appender.appendDataChunk(chunk)
        }
      } finally {
        appender.closeSync()
      }
      this.seq += n
    } catch (error) {
      throw wrapError(error, 'INTERNAL', `cannot stage ${n} rows of ${rows.source}`)
    }
  }

  async appendSilver(files: readonly string[]): Promise<void> {
    if (files.length === 0) return
    try {
      // seq -1: rows already in silver lose a tie on received_at to rows staged from bronze.
      await this.connection.run(`INSERT INTO staged SELECT *, -1 FROM (${silverRelation(files)})`)
    } catch (error) {
      throw wrapError(error, 'LAKE_UNAVAILABLE', `cannot read silver files ${files.join(', ')}`)
    }
  }

  async count(): Promise<number> {
    const result = await this.connection.runAndReadAll('SELECT count(*) FROM staged')
    return Number(result.getRows()[0]?.[0] ?? 0)
  }

  async days(): Promise<IsoDate[]> {
    const result = await this.connection.runAndReadAll(
      `SELECT DISTINCT (time // ${DAY_MS}) * ${DAY_MS} AS day FROM staged ORDER BY day`,
    )
    return result.getRows().map((row) => isoDate(Number(row[0])))
  }

  async writeSilverDay(day: IsoDate, file: string): Promise<number> {
    const from = parseIsoDate(day)
    try {
      const result = await this.connection.runAndReadAll(`COPY (
          SELECT epoch_ms(time)::TIMESTAMPTZ AS time, device_id, measure, value, source,
            epoch_ms(received_at)::TIMESTAMPTZ AS received_at
          FROM staged
          WHERE time >= ${from} AND time < ${from + DAY_MS}
          QUALIFY row_number() OVER (PARTITION BY device_id, measure, time ORDER BY received_at DESC, seq DESC) = 1
          ORDER BY device_id, measure, time
        ) TO ${literal(file)} (FORMAT parquet, COMPRESSION zstd)`)
      return Number(result.getRows()[0]?.[0] ?? 0)
    } catch (error) {
      throw wrapError(error, 'LAKE_UNAVAILABLE', `cannot write the silver day ${day} to ${file}`)
    }
  }

  async close(): Promise<void> {
    await this.connection.run('DROP TABLE IF EXISTS staged').catch(() => {})
    this.connection.closeSync()
  }
}
