/**
 * One page of a device's series (readings, or predictions unfolded from `forecasts` by duckdb-forecasts.ts)
 * on DuckDB: one query, newest time first, whose result is read straight from its column vectors into the
 * port's rows and cut in JS after `limitTimes` distinct times (every row of the last time kept).
 *
 * DuckDB finds the device's rows by scanning the time range (zone maps prune on time; the key's index is not
 * used for these filters), so that scan is the cost floor. Cutting the page in SQL instead (a materialised
 * CTE and a sub-query on its distinct times) costs a second pass, and reading row objects converts every
 * value; here times arrive as DOUBLE epoch ms (no timestamps, no bigints) and each row is built once.
 *
 * The first read keeps at most `limitTimes × rows per time + 1` sorted rows (the page and one row of the
 * next time), so a short page of a long range does not materialise the whole range; rows per time is the
 * number of asked measures, else the most seen so far for the table. Only when a time holds more rows than
 * that is the page read again, streamed without the cap.
 */
import type {
  DuckDBConnection,
  DuckDBDataChunk,
  DuckDBDoubleVector,
  DuckDBIntegerVector,
  DuckDBPreparedStatement,
  DuckDBValue,
  DuckDBVarCharVector,
} from '@duckdb/node-api'
import type { SeriesGrid } from '../../core/ports/store.js'
import type { PageRange } from '../../core/store-rows.js'
import type { Prediction, Reading } from '../../core/types.js'
import { ts } from './duckdb-time.js'

/** A series table: its columns after `time`, and how a result chunk becomes the port's rows. */
export interface SeriesTable<T> {
  table: 'readings' | 'predictions'
  nameColumn: 'measure' | 'measure_name'
  /** The selected columns after the leading time (DOUBLE epoch ms); the name must be the first of them. */
  columns: string
  /** Rows per time assumed before any page of the table was read. */
  rowsPerTime: number
  /** The row builder for one chunk: `(index, time) => row`, the time read from the chunk's first column. */
  rows(chunk: DuckDBDataChunk, deviceId: string): (index: number, time: number) => T
}

export const readingsTable: SeriesTable<Reading> = {
  table: 'readings',
  nameColumn: 'measure',
  columns: 'measure, value, source',
  // The vendor's six measures a minute, and room for a couple more.
  rowsPerTime: 8,
  rows(chunk, deviceId) {
    const measure = chunk.getColumnVector(1) as DuckDBVarCharVector
    const value = chunk.getColumnVector(2) as DuckDBDoubleVector
    const source = chunk.getColumnVector(3) as DuckDBVarCharVector
    return (i, time) => ({
      time,
      deviceId,
      measure: measure.getItem(i)!,
      value: value.getItem(i)!,
      source: source.getItem(i)!,
    })
  },
}

export const predictionsTable: SeriesTable<Prediction> = {
  table: 'predictions',
  nameColumn: 'measure_name',
  columns: 'measure_name, value, model_version, epoch_ms(issued_at)::DOUBLE AS issued_ms',
  // Fifteen horizons of the six vendor measures: 90 names a minute.
  rowsPerTime: 96,
  rows(chunk, deviceId) {
    const name = chunk.getColumnVector(1) as DuckDBVarCharVector
    const value = chunk.getColumnVector(2) as DuckDBDoubleVector
    const version = chunk.getColumnVector(3) as DuckDBVarCharVector
    const issued = chunk.getColumnVector(4) as DuckDBDoubleVector
    return (i, time) => ({
      time,
      deviceId,
      measureName: name.getItem(i)!,
      value: value.getItem(i)!,
      modelVersion: version.getItem(i)!,
      issuedAt: issued.getItem(i)!,
    })
  },
}

/** The most rows seen at one time, per table: the first read's cap (a hint, shared by every store). */
const widest = new Map<string, number>()
/** Page statements prepared on each connection (one per table and count of names asked). */
const statements = new WeakMap<DuckDBConnection, Map<string, DuckDBPreparedStatement>>()
/** More distinct statements than this on one connection (many counts of names) and its cache starts over. */
const MAX_STATEMENTS = 32

/**
 * Rows of the newest `limitTimes` distinct times in the range, ordered time desc then name asc (the order of
 * `SeriesPageQuery`), read from the table or from `source`, a sub-query of the same columns that may use the
 * page's parameters $1 to $3 (device, from, upper bound). `c` must run nothing else meanwhile.
 */
export async function readSeriesPage<T>(
  c: DuckDBConnection,
  table: SeriesTable<T>,
  range: PageRange,
  source: string = table.table,
): Promise<T[]> {
  const params: DuckDBValue[] = [range.deviceId, ts(range.from), ts(range.upper)]
  let filter = 'device_id = $1 AND time >= $2 AND time <= $3'
  if (range.measures !== undefined) {
    const names = range.measures.map((m) => {
      params.push(m)
      return `$${params.length}`
    })
    filter += ` AND ${table.nameColumn} IN (${names.join(', ')})`
  }
  const sql = `SELECT epoch_ms(time)::DOUBLE AS time_ms, ${table.columns} FROM ${source}
    WHERE ${filter} ORDER BY time DESC, ${table.nameColumn}`
  // At most one row per name and time (the key), so with names given their count bounds a time's rows.
  const perTime = range.measures?.length ?? Math.max(table.rowsPerTime, widest.get(table.table) ?? 0)
  const cap = Math.min(range.limitTimes * perTime + 1, Number.MAX_SAFE_INTEGER)

  const first = new PageCut(table, range)
  const statement = await prepared(c, `${sql} LIMIT $${params.length + 1}`)
  statement.bind([...params, BigInt(cap)])
  const capped = await statement.run()
  for (let i = 0; i < capped.chunkCount && first.add(capped.getChunk(i)); i++);
  if (first.complete || capped.rowCount < cap) return first.done()

  // A time held more rows than the cap allowed for: read the whole sorted range, a chunk at a time.
  const again = new PageCut(table, range)
  const streamed = await c.stream(sql, params)
  for (;;) {
    const chunk = await streamed.fetchChunk()
    if (chunk === null || chunk.rowCount === 0 || !again.add(chunk)) break
  }
  return again.done()
}

/**
 * The newest `limitTimes` times of a device's readings of `measures` as a grid. The engine sends numbers
 * only: each reading as its time, its measure's column (a `CASE` on the asked names) and its value, newest
 * first, and they are written straight into typed arrays. What `GET /sensorsdata` serves: no measure or
 * source strings cross into JS. The key allows a time at most one row per measure, so the first
 * `limitTimes × measures` rows hold every row of the page's times (the rest, of older times, is dropped
 * here). Grouping by time in SQL instead (`max(value) FILTER …`) cost the engine more than this loop.
 * `c` must run nothing else meanwhile.
 */
export async function readReadingsGrid(
  c: DuckDBConnection,
  range: PageRange & { measures: readonly string[] },
): Promise<SeriesGrid> {
  const measures = [...range.measures]
  const width = measures.length
  const names = measures.map((_, j) => `$${4 + j}`)
  const statement = await prepared(
    c,
    `SELECT epoch_ms(time)::DOUBLE AS time_ms, CASE measure ${names.map((name, j) => `WHEN ${name} THEN ${j}`).join(' ')} END::INTEGER AS k, value
     FROM readings WHERE device_id = $1 AND time >= $2 AND time <= $3 AND measure IN (${names.join(', ')})
     ORDER BY time DESC LIMIT $${4 + width}`,
  )
  statement.bind([
    range.deviceId,
    ts(range.from),
    ts(range.upper),
    ...measures,
    BigInt(Math.min(range.limitTimes * width, Number.MAX_SAFE_INTEGER)),
  ])
  const result = await statement.run()
  const most = Math.min(range.limitTimes, result.rowCount)
  const times = new Float64Array(most)
  const values = new Float64Array(most * width).fill(Number.NaN)
  let row = -1
  let time = Number.NaN
  read: for (let k = 0; k < result.chunkCount; k++) {
    const chunk = result.getChunk(k)
    const timeColumn = chunk.getColumnVector(0) as DuckDBDoubleVector
    const measureColumn = chunk.getColumnVector(1) as DuckDBIntegerVector
    const valueColumn = chunk.getColumnVector(2) as DuckDBDoubleVector
    for (let i = 0, count = chunk.rowCount; i < count; i++) {
      const at = timeColumn.getItem(i)!
      if (at !== time) {
        if (++row === most) break read
        times[row] = time = at
      }
      values[row * width + measureColumn.getItem(i)!] = valueColumn.getItem(i)!
    }
  }
  const rows = Math.min(row + 1, most)
  return { measures, times: times.subarray(0, rows), values: values.subarray(0, rows * width) }
}

/** Collects rows, newest time first, until a time past the page's `limitTimes` arrives. */
class PageCut<T> {
  /** Whether a time past the page's last was reached (so the page's last time is whole). */
  complete = false
  private readonly rows: T[] = []
  private times = 0
  private time = Number.NaN
  private atTime = 0
  private most = 0

  constructor(
    private readonly table: SeriesTable<T>,
    private readonly range: PageRange,
  ) {}

  /** Takes the chunk's rows; false once the page is complete. */
  add(chunk: DuckDBDataChunk): boolean {
    const times = chunk.getColumnVector(0) as DuckDBDoubleVector
    const row = this.table.rows(chunk, this.range.deviceId)
    const count = chunk.rowCount
    for (let i = 0; i < count; i++) {
      const time = times.getItem(i)!
      if (time !== this.time) {
        if (this.atTime > this.most) this.most = this.atTime
        if (this.times === this.range.limitTimes) {
          this.complete = true
          return false
        }
        this.times++
        this.time = time
        this.atTime = 0
      }
      this.atTime++
      this.rows.push(row(i, time))
    }
    return true
  }

  /** The page's rows; remembers the table's widest time when all names were read. */
  done(): T[] {
    if (this.atTime > this.most) this.most = this.atTime
    if (this.range.measures === undefined && this.most > (widest.get(this.table.table) ?? 0)) {
      widest.set(this.table.table, this.most)
    }
    return this.rows
  }
}

/** `sql` prepared on `c`, once per connection (parsing and planning cost a few tenths of a ms a query). */
async function prepared(c: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  let cache = statements.get(c)
  if (cache === undefined) {
    cache = new Map()
    statements.set(c, cache)
  }
  let statement = cache.get(sql)
  if (statement === undefined) {
    if (cache.size >= MAX_STATEMENTS) {
      for (const old of cache.values()) old.destroySync()
      cache.clear()
    }
    statement = await c.prepare(sql)
    cache.set(sql, statement)
  }
  return statement
}
