/**
 * The columnar engine port: writes and reads the lake's Parquet and CSV files of long rows, and runs the
 * data quality checks' SQL over them. Implementation: DuckdbColumnar (`src/adapters/duckdb`), an
 * in-memory engine that spills to a temporary folder. Files are local paths (a remote lake copies first).
 *
 * Silver files hold one row per (device_id, measure, time) with columns
 * `time TIMESTAMPTZ, device_id VARCHAR, measure VARCHAR, value DOUBLE, source VARCHAR, received_at TIMESTAMPTZ`,
 * sorted by device_id, measure, time, so any Parquet reader (DuckDB, pyarrow, Spark) reads them as they are.
 */
import type { IsoDate, TimeMs } from '../time.js'

/** Rows of one source as parallel columns (cheaper than one object per row at millions of rows). */
export interface ReadingColumns {
  source: string
  time: TimeMs[]
  deviceId: string[]
  measure: string[]
  value: number[]
  /** When the payload that carried the row was received: the de-duplication order (last write wins). */
  receivedAt: TimeMs[]
}

/** Staged rows of one job, de-duplicated when written. Close it to free its memory. */
export interface ColumnarStaging {
  /** Adds rows; among rows with one (device, measure, time), the greatest receivedAt wins, then the latest added. */
  append(rows: ReadingColumns): Promise<void>
  /** Adds the rows of silver Parquet files; they lose ties (same receivedAt) to appended rows. */
  appendSilver(files: readonly string[]): Promise<void>
  /** Rows staged so far (before de-duplication). */
  count(): Promise<number>
  /** The UTC days of the staged rows' times, ascending. */
  days(): Promise<IsoDate[]>
  /**
   * Writes the de-duplicated rows whose time falls on `day` as a silver Parquet file at local path `file`
   * (replacing it), sorted by device, measure, time. Returns the rows written.
   */
  writeSilverDay(day: IsoDate, file: string): Promise<number>
  close(): Promise<void>
}

export type ExportFormat = 'csv' | 'parquet'

export interface ExportQuery {
  /** Silver Parquet files to read. */
  files: readonly string[]
  /** Inclusive lower bound on time. */
  from: TimeMs
  /** Exclusive upper bound on time. */
  to: TimeMs
  format: ExportFormat
  /** Local file written (replaced). */
  out: string
}

export interface Columnar {
  readonly kind: string
  openStaging(): Promise<ColumnarStaging>
  /**
   * Writes the rows of `files` with time in [from, to) to `out`, one row per (device, measure, time) across
   * all files (greatest received_at wins), ordered by time, device, measure. CSV has a header and the columns
   * `time` (ISO 8601 UTC with milliseconds), `device_id`, `measure`, `value`, `source`; Parquet has the
   * same columns with `time` a TIMESTAMPTZ. Streams: memory does not grow with the export. Returns the rows written.
   */
  exportReadings(query: ExportQuery): Promise<number>
  /**
   * Runs read-only SQL over `files`, visible as the view `silver(time, device_id, measure, value, source,
   * received_at)` with times as epoch milliseconds (BIGINT). `$1`, `$2`, … bind `params`. Numbers come back
   * as JS numbers, times as epoch ms.
   */
  querySilver(
    files: readonly string[],
    sql: string,
    params?: readonly (string | number)[],
  ): Promise<Record<string, unknown>[]>
  close(): Promise<void>
}
