/**
 * Predictions on the embedded store, kept one row per forecast: a device's `iaq~1` … `iaq~15` issued together
 * are one row of `forecasts` holding the fifteen values, the first one's time and the step between them.
 * `predictions` is a view that unfolds those rows into the long rows of DESIGN section 2, the newest write of
 * each (device, measure name, time) winning, so SQL readers and the port see what a table keyed on those
 * would hold.
 *
 * Why: the live loop replaced fourteen of its fifteen keyed prediction rows with every reading, and those
 * upserts were most of the store's log, so DuckDB checkpointed every few seconds, holding every commit of
 * the database meanwhile (decision 002). A forecast is now one appended row (each reading is a new minute):
 * a fifteenth of the rows, nothing replaced, no key to maintain. A later forecast of the same minutes is a
 * later row, which reads skip; a sweep deletes rows a later one wholly covers (a sensor reporting every 5 s
 * onto a 1-minute grid forecasts the same minutes twelve times), and retention the rows past their last time.
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api'
import type { PageRange } from '../../core/store-rows.js'
import type { Prediction } from '../../core/types.js'
import type { TableSpec } from './duckdb-append.js'
import { predictionsTable, readSeriesPage } from './duckdb-series.js'
import { ts } from './duckdb-time.js'

/** One forecast's values for consecutive horizons, or a lone prediction. */
export interface ForecastRow {
  /** Time of the first value (epoch ms). */
  firstTime: number
  /** Between consecutive values (ms); 0 for a single value. */
  stepMs: number
  deviceId: string
  /** The measure name up to its horizon (`iaq~`), or the whole name when it carries none. */
  namePrefix: string
  /** The first value's horizon; 0 when the name carries none (then it holds one value). */
  firstH: number
  values: number[]
  modelVersion: string
  issuedAt: number
  /** Write order: of two rows holding a (device, name, time), the later written wins. */
  written: number
}

export const FORECASTS: TableSpec<ForecastRow> = {
  table: 'forecasts',
  columns: [
    { name: 'first_time', type: 'timestamp', value: (r) => r.firstTime },
    { name: 'step_ms', type: 'double', value: (r) => r.stepMs },
    { name: 'device_id', type: 'varchar', value: (r) => r.deviceId },
    { name: 'name_prefix', type: 'varchar', value: (r) => r.namePrefix },
    { name: 'first_h', type: 'double', value: (r) => r.firstH },
    { name: 'n', type: 'double', value: (r) => r.values.length },
    // As text: a DOUBLE[] column logged each batch's whole list vector again for every row (3.7 kB a row of
    // fifteen values in batches of 34 forecasts, against 0.3 kB as text).
    { name: 'vals', type: 'varchar', value: (r) => r.values.join(' ') },
    { name: 'model_version', type: 'varchar', value: (r) => r.modelVersion },
    { name: 'issued_at', type: 'timestamp', value: (r) => r.issuedAt },
    { name: 'written', type: 'double', value: (r) => r.written },
  ],
  key: [],
}

/** `iaq~5`: the prefix `iaq~` and horizon 5 (no leading zero, so the name is rebuilt exactly). */
const NUMBERED = /^(.*~)([1-9]\d{0,8})$/
/** The same test in SQL (the migration's), group 1 the prefix and group 2 the horizon. */
const NUMBERED_SQL = `'^(.*~)([1-9][0-9]{0,8})$'`

/**
 * `rows` (unique on device, name and time) as forecast rows: the predictions of one device, model version and
 * issue time whose names number consecutive horizons at evenly spaced times become one row; any other is a
 * row of its own. A prediction joins a row only where the row unfolds to its own name and time, so the
 * grouping decides how many rows are written, never what they hold. `next` numbers the rows in write order.
 */
export function forecastRows(rows: readonly Prediction[], next: () => number): ForecastRow[] {
  const out: ForecastRow[] = []
  const groups = new Map<string, { prefix: string; members: Array<{ h: number; row: Prediction }> }>()
  for (const row of rows) {
    const match = NUMBERED.exec(row.measureName)
    if (match === null) {
      out.push(single(row, row.measureName, 0, next()))
      continue
    }
    const prefix = match[1]!
    const key = `${row.deviceId}\u0000${prefix}\u0000${row.modelVersion}\u0000${row.issuedAt}`
    let group = groups.get(key)
    if (group === undefined) {
      group = { prefix, members: [] }
      groups.set(key, group)
    }
    group.members.push({ h: Number(match[2]), row })
  }
  for (const { prefix, members } of groups.values()) {
    members.sort((a, b) => a.h - b.h)
    let run: ForecastRow | undefined
    let lastH = 0
    let lastTime = 0
    for (const { h, row } of members) {
      const step = row.time - lastTime
      if (
        run !== undefined &&
        h === lastH + 1 &&
        step > 0 &&
        (run.values.length === 1 || step === run.stepMs)
      ) {
        run.stepMs = step
        run.values.push(row.value)
      } else {
        run = single(row, prefix, h, next())
        out.push(run)
      }
      lastH = h
      lastTime = row.time
    }
  }
  return out
}

function single(row: Prediction, namePrefix: string, firstH: number, written: number): ForecastRow {
  return {
    firstTime: row.time,
    stepMs: 0,
    deviceId: row.deviceId,
    namePrefix,
    firstH,
    values: [row.value],
    modelVersion: row.modelVersion,
    issuedAt: row.issuedAt,
    written,
  }
}

/** The time from a row's first value to its last (ms). */
export function spanOf(row: ForecastRow): number {
  return row.stepMs * (row.values.length - 1)
}

/** `forecasts` rows matching `where` unfolded into long rows, each with its row's write order. */
function unfolded(where: string): string {
  return `SELECT first_time + to_milliseconds(step_ms * i) AS time, device_id,
      CASE WHEN first_h = 0 THEN name_prefix ELSE name_prefix || (first_h + i) END AS measure_name,
      CAST(value AS DOUBLE) AS value, model_version, issued_at, written
    FROM (SELECT * EXCLUDE (vals), unnest(string_split(vals, ' ')) AS value,
            generate_subscripts(string_split(vals, ' '), 1) - 1 AS i
          FROM forecasts${where})`
}

/**
 * Of the long rows of `sql`, the newest written of each (device, measure name, time). (Grouped, not
 * `QUALIFY row_number() … = 1`: DuckDB 1.5.6's optimizer fails on that under an `ORDER BY … LIMIT`.)
 */
function newest(sql: string): string {
  return `SELECT time, device_id, measure_name, arg_max(value, written) AS value,
      arg_max(model_version, written) AS model_version, arg_max(issued_at, written) AS issued_at
    FROM (${sql}) GROUP BY time, device_id, measure_name`
}

/** Migration: `predictions` becomes the view over `forecasts`, each stored prediction a row of its own. */
export const FORECASTS_MIGRATION: readonly string[] = [
  `CREATE TABLE forecasts (
    first_time TIMESTAMP NOT NULL,
    step_ms BIGINT NOT NULL,
    device_id VARCHAR NOT NULL,
    name_prefix VARCHAR NOT NULL,
    first_h INTEGER NOT NULL,
    n INTEGER NOT NULL,
    vals VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    issued_at TIMESTAMP NOT NULL,
    written BIGINT NOT NULL
  )`,
  `INSERT INTO forecasts
   SELECT time, 0, device_id,
     CASE WHEN regexp_matches(measure_name, ${NUMBERED_SQL})
       THEN regexp_extract(measure_name, ${NUMBERED_SQL}, 1) ELSE measure_name END,
     CASE WHEN regexp_matches(measure_name, ${NUMBERED_SQL})
       THEN CAST(regexp_extract(measure_name, ${NUMBERED_SQL}, 2) AS INTEGER) ELSE 0 END,
     1, CAST(value AS VARCHAR), model_version, issued_at, row_number() OVER ()
   FROM predictions`,
  'DROP TABLE predictions',
  `CREATE VIEW predictions AS ${newest(unfolded(''))}`,
]

/** The write order to continue from, and the longest span of a stored row (ms), read at open. */
export async function loadForecastState(c: DuckDBConnection): Promise<{ written: number; spanMs: number }> {
  const reader = await c.runAndReadAll(
    'SELECT coalesce(max(written), 0)::DOUBLE AS written, coalesce(max(step_ms * (n - 1)), 0)::DOUBLE AS span FROM forecasts',
  )
  const row = reader.getRowObjectsJS()[0] as { written: number; span: number }
  return { written: row.written, spanMs: row.span }
}

/**
 * A page of a device's predictions (the port's `predictionsPage`): the rows whose first time can reach the
 * range, the longest stored span before it, unfolded and deduplicated, then cut like any series page.
 */
export function readPredictionsPage(
  c: DuckDBConnection,
  range: PageRange,
  spanMs: number,
): Promise<Prediction[]> {
  // The span is written into the SQL (it changes only when a longer forecast is first stored), so the
  // statement stays one prepared statement per span; $1..$3 are the page's device, from and upper bound.
  const source = `(${newest(
    unfolded(
      ` WHERE device_id = $1 AND first_time >= $2 - to_milliseconds(${Math.ceil(spanMs)}) AND first_time <= $3`,
    ),
  )})`
  return readSeriesPage(c, predictionsTable, range, source)
}

/**
 * Deletes the predictions older than `time` (the port's `deletePredictionsBefore`): rows whose last value is
 * older go, rows straddling `time` lose their older values. Counts the long rows removed. Run it inside a
 * transaction.
 */
export async function deleteForecastsBefore(c: DuckDBConnection, time: number): Promise<number> {
  const cut: DuckDBValue[] = [ts(time)]
  // Only rows first timed before the cut hold a value older than it (not the whole view: every row unfolded).
  const counted = await c.runAndReadAll(
    `SELECT count(*)::DOUBLE AS n FROM (${newest(unfolded(' WHERE first_time < $1'))}) WHERE time < $1`,
    cut,
  )
  await c.run('DELETE FROM forecasts WHERE first_time + to_milliseconds(step_ms * (n - 1)) < $1', cut)
  // What is left older than the cut straddles it (so steps > 0): drop its first k values.
  const k = 'CAST(ceil((epoch_ms($1) - epoch_ms(first_time)) / step_ms) AS BIGINT)'
  await c.run(
    `UPDATE forecasts SET first_time = first_time + to_milliseconds(step_ms * ${k}),
       first_h = CASE WHEN first_h = 0 THEN 0 ELSE first_h + ${k} END, n = n - ${k},
       vals = array_to_string(string_split(vals, ' ')[${k} + 1:], ' ')
     WHERE first_time < $1`,
    cut,
  )
  return (counted.getRowObjectsJS()[0] as { n: number }).n
}

/**
 * Deletes the rows that a later row wholly covers (same device, name prefix, first time, step and first
 * horizon, and at least as many values), among rows whose first time is at or after `since`: reads never
 * show them. Counts the rows deleted.
 */
export async function deleteCoveredForecasts(c: DuckDBConnection, since: number): Promise<number> {
  const result = await c.run(
    `DELETE FROM forecasts WHERE first_time >= $1 AND rowid IN (
       SELECT f.rowid FROM forecasts f JOIN forecasts g USING (device_id, name_prefix, first_time, step_ms, first_h)
       WHERE f.first_time >= $1 AND g.first_time >= $1 AND g.n >= f.n AND g.written > f.written)`,
    [ts(since)],
  )
  return result.rowsChanged
}
