/**
 * Exports: the stored readings of a day, a date range or the last N days as CSV (or Parquet), read from
 * silver and kept in the lake under the seed's names (DESIGN.md section 3):
 * `silver/<source>/<yyyy-mm-dd>/raw.csv`, `silver/<source>/export/<yyyymmdd>.<yyyymmdd>/raw.csv` and
 * `silver/<source>/latest/<N>-days/raw.csv` (`raw.parquet` for Parquet). An export of every source
 * uses the folder `_all`, which no source can be named.
 *
 * CSV columns: `time` (ISO 8601 UTC with milliseconds), `device_id`, `measure`, `value`, `source`; one row
 * per (device, measure, time), ordered by time, device, measure: exactly the rows the store holds.
 * Exports are regenerated, so their lake objects are overwritten (atomically). The engine writes to a
 * local file as it reads, so memory does not grow with the export.
 */

import { randomBytes } from 'node:crypto'
import { copyFile, mkdtemp, rename, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { AirlakeError, wrapError } from '../core/errors.js'
import type { ExportFormat } from '../core/ports/columnar.js'
import { DAY_MS, type IsoDate, isoDate, parseIsoDate, type TimeMs } from '../core/time.js'
import {
  checkSource,
  listSilverPartitions,
  localCopy,
  type PromotionReport,
  promoteToSilver,
  type SilverDeps,
} from './to-silver.js'

/** Which days: one day, an inclusive range of days, or the last N UTC days (today included). */
export type ExportRange = { day: IsoDate } | { from: IsoDate; to: IsoDate } | { days: number }

export interface ExportInput {
  /** One source; every source when absent. */
  source?: string | undefined
  range: ExportRange
  format?: ExportFormat | undefined
  /** Also write the export to this local file (replaced atomically). */
  out?: string | undefined
  /** Promote new bronze to silver first, so the export holds everything stored (default true). */
  refresh?: boolean | undefined
}

export interface ExportReport {
  /** Lake key the export is kept under. */
  key: string
  format: ExportFormat
  /** Rows exported. */
  rows: number
  bytes: number
  /** Inclusive start and exclusive end of the exported times (UTC ms). */
  from: TimeMs
  to: TimeMs
  /** Silver partitions read. */
  partitions: number
  out?: string | undefined
  promotion?: PromotionReport | undefined
}

// More days than this in one export is almost surely a typo (10 years).
const MAX_DAYS = 3660
const ALL_SOURCES = '_all'

/** The time span and lake key of an export; throws PARAMETER_INVALID for a bad range. */
export function exportTarget(
  range: ExportRange,
  source: string | undefined,
  format: ExportFormat,
  now: TimeMs,
): { key: string; fromDay: IsoDate; toDay: IsoDate; from: TimeMs; to: TimeMs } {
  const folder = source === undefined ? ALL_SOURCES : checkSource(source)
  const file = `raw.${format}`
  const compact = (day: IsoDate) => day.replaceAll('-', '')
  if ('day' in range) {
    const from = parseIsoDate(range.day)
    return {
      key: `silver/${folder}/${range.day}/${file}`,
      fromDay: range.day,
      toDay: range.day,
      from,
      to: from + DAY_MS,
    }
  }
  if ('days' in range) {
    if (!Number.isInteger(range.days) || range.days < 1 || range.days > MAX_DAYS) {
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `days must be a whole number from 1 to ${MAX_DAYS}, got ${range.days}`,
      )
    }
    const today = parseIsoDate(isoDate(now))
    const from = today - (range.days - 1) * DAY_MS
    return {
      key: `silver/${folder}/latest/${range.days}-days/${file}`,
      fromDay: isoDate(from),
      toDay: isoDate(today),
      from,
      to: today + DAY_MS,
    }
  }
  const from = parseIsoDate(range.from, 'from')
  const to = parseIsoDate(range.to, 'to')
  if (to < from) {
    throw new AirlakeError('PARAMETER_INVALID', `from (${range.from}) must not be after to (${range.to})`)
  }
  if ((to - from) / DAY_MS + 1 > MAX_DAYS) {
    throw new AirlakeError('PARAMETER_INVALID', `a range holds at most ${MAX_DAYS} days: export it in parts`)
  }
  return {
    key: `silver/${folder}/export/${compact(range.from)}.${compact(range.to)}/${file}`,
    fromDay: range.from,
    toDay: range.to,
    from,
    to: to + DAY_MS,
  }
}

/**
 * Exports the stored readings of `input.range`; see the module comment. Throws PARAMETER_INVALID for a bad
 * range or source, LAKE_UNAVAILABLE when the lake or engine fails. An empty range exports a header only.
 */
export async function exportReadings(deps: SilverDeps, input: ExportInput): Promise<ExportReport> {
  const format = input.format ?? 'csv'
  if (format !== 'csv' && format !== 'parquet') {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `format must be csv or parquet, got ${JSON.stringify(format)}`,
    )
  }
  const target = exportTarget(input.range, input.source, format, deps.clock.now())
  const promotion =
    input.refresh === false ? undefined : await promoteToSilver(deps, { source: input.source })
  const partitions = await listSilverPartitions(deps.lake, {
    source: input.source,
    fromDay: target.fromDay,
    toDay: target.toDay,
  })
  const scratch = await mkdtemp(join(tmpdir(), 'airlake-export-'))
  try {
    const files: string[] = []
    for (const partition of partitions) {
      const file = await localCopy(deps.lake, partition.key, scratch)
      if (file !== undefined) files.push(file)
    }
    const local = join(scratch, `export.${format}`)
    const rows = await deps.columnar.exportReadings({
      files,
      from: target.from,
      to: target.to,
      format,
      out: local,
    })
    const bytes = (await stat(local)).size
    await deps.lake.putFile(target.key, local, { overwrite: true })
    let out: string | undefined
    if (input.out !== undefined) {
      out = resolve(input.out)
      await writeLocalAtomically(local, out)
    }
    deps.logger.info('export written', { key: target.key, rows, bytes, partitions: partitions.length })
    return {
      key: target.key,
      format,
      rows,
      bytes,
      from: target.from,
      to: target.to,
      partitions: partitions.length,
      out,
      promotion,
    }
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

/** Copies `from` to `to` through a temporary file beside `to`, so `to` is never seen half-written. */
async function writeLocalAtomically(from: string, to: string): Promise<void> {
  const temp = join(dirname(to), `.${randomBytes(6).toString('hex')}.airlake-export.tmp`)
  try {
    await copyFile(from, temp)
    await rename(temp, to)
  } catch (error) {
    await rm(temp, { force: true })
    throw wrapError(
      error,
      'PARAMETER_INVALID',
      `cannot write the export to ${to} (does the folder exist and can you write there?)`,
    )
  }
}
