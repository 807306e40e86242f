/**
 * Imports a file (CSV, XLSX, XLS, NDJSON), wide or long (DESIGN.md section 5), through the one ingestion
 * path in batches, so a file of any size imports in flat memory and every data row ends either stored or
 * in `rejected` with its line and reason.
 *
 * Wide: a time column (`time`, `timestamp`, `ts`, `date`, `datetime`), a device column (`device`,
 * `device_id`, `devid`, or `--device`), one column per measure. Long: `time, device, measure, value`.
 * Odd files take a `FileMapping`: which column holds the time (or a date plus an offset), its format,
 * which columns make the device id, and which columns are measures.
 */
import { basename } from 'node:path'
import { AirlakeError, isAirlakeError, wrapError } from '../core/errors.js'
import {
  checkDeviceId,
  checkMeasure,
  isVendorShaped,
  readingFromLongRow,
  readingsFromVendor,
} from '../core/readings.js'
import { DAY_MS, HOUR_MS, MINUTE_MS, parseTimestamp, type TimeMs } from '../core/time.js'
import type { Reading } from '../core/types.js'
import { type IngestDeps, type IngestRecord, ingestRecords } from './ingest.js'
import type { RecordReader, SourceFileFormat, SourceFileRow } from './source-adapters.js'
import { checkSource } from './to-silver.js'

/** How a time cell is read. `auto`: a date cell, ISO 8601, RFC 1123 or unix seconds. `excel`: a day serial (1900 system). */
export type TimeFormat = 'auto' | 'iso' | 'unix-s' | 'unix-ms' | 'excel'

export const TIME_FORMATS: readonly TimeFormat[] = ['auto', 'iso', 'unix-s', 'unix-ms', 'excel']

/** Mapping options for files whose columns are not named the usual way. Column names match case-insensitively. */
export interface FileMapping {
  /**
   * The time: `COL` (an instant), `BASE+OFFSET:UNIT` (a date column plus an offset column, e.g.
   * `date_assumed+hour_of_day:h`), or `OFFSET:UNIT` counted from `start` (e.g. `elapsed_s:s`).
   * Units: `ms`, `s`, `min`, `h`, `d`.
   */
  time?: string | undefined
  timeFormat?: TimeFormat | undefined
  /** ISO 8601 origin for `OFFSET:UNIT` times. */
  start?: string | undefined
  /** Columns whose values, joined by `-`, make the device id (e.g. `deployment,mote_id`). */
  deviceColumns?: readonly string[] | undefined
  /** Only these columns are measures (wide files); every other non-time, non-device column otherwise. */
  measures?: readonly string[] | undefined
  /** The sheet of a workbook; the first one by default. */
  sheet?: string | undefined
}

export interface FileIngestInput {
  path: string
  /** The name the user knows the file by (an upload's filename); the path's base name by default. */
  name?: string | undefined
  /** The format; from the name (then the first bytes) when absent. */
  format?: SourceFileFormat | undefined
  /** Bronze folder and readings' source; `file` by default. */
  source?: string | undefined
  /** Device id for every row of a file without a device column. */
  device?: string | undefined
  mapping?: FileMapping | undefined
  /** Rows per call to the ingestion path; 10,000 by default. */
  batchRows?: number | undefined
  onProgress?: ((progress: FileIngestProgress) => void) | undefined
}

export interface FileIngestProgress {
  bytesRead: number
  bytesTotal: number
  rows: number
  stored: number
  rejected: number
}

export interface RejectedRow {
  line: number
  code: string
  reason: string
}

/** What an import did. `rows = rowsStored + rowsRejected` always holds. */
export interface FileIngestReport {
  file: string
  /** `wide`, `long` or `json` (NDJSON: vendor objects, long rows or wide objects). */
  shape: 'wide' | 'long' | 'json'
  /** Data rows read (the header not counted). */
  rows: number
  /** Rows with at least one reading stored. */
  rowsStored: number
  /** Rows kept whole in `rejected`. */
  rowsRejected: number
  /** Reading rows written to the store. */
  readingsStored: number
  /** Entries written to `rejected`: rejected rows plus single impossible values of stored rows. */
  rejections: number
  /** The first rejections, in file order, with their line. */
  firstRejections: RejectedRow[]
  /** Distinct devices and measures stored (at most 50 of each listed). */
  devices: string[]
  measures: string[]
  /** Time span of the readings stored, UTC ms. */
  from?: TimeMs | undefined
  to?: TimeMs | undefined
}

const DEFAULT_BATCH_ROWS = 10_000
const FIRST_REJECTIONS = 5
const LISTED = 50
const TRACKED = 10_000
const TIME_COLUMNS = ['time', 'timestamp', 'ts', 'datetime', 'date']
const DEVICE_COLUMNS = ['device', 'device_id', 'deviceid', 'devid']
const MISSING = new Set(['', 'na', 'n/a', 'nan', 'null'])
const UNITS: Record<string, number> = { ms: 1, s: 1000, min: MINUTE_MS, h: HOUR_MS, d: DAY_MS }
// Days between Excel's 1900 epoch (as Excel counts, with its phantom 1900-02-29) and 1970-01-01.
const EXCEL_EPOCH_DAYS = 25569

/**
 * Streams the file at `input.path` through `ingestRecords` in batches (10,000 rows by default).
 * Throws FILE_INVALID before storing anything when the file cannot be read or its columns cannot be
 * mapped (the message lists the columns and the option to use); rows that fail are rejected with their
 * line, never thrown. Storage failures (STORE_UNAVAILABLE, LAKE_UNAVAILABLE) stop the import, saying how
 * far it got; re-running is safe because readings are upserts.
 */
export async function ingestFile(
  deps: IngestDeps & { readRecords: RecordReader },
  input: FileIngestInput,
): Promise<FileIngestReport> {
  const name = input.name ?? basename(input.path)
  const source = checkSource(input.source ?? 'file')
  const mapping = input.mapping ?? {}
  checkMappingOptions(mapping)
  const device = input.device === undefined ? undefined : checkDeviceId(input.device, 'device')
  const batchRows = input.batchRows ?? DEFAULT_BATCH_ROWS

  const report: FileIngestReport = {
    file: name,
    shape: 'json',
    rows: 0,
    rowsStored: 0,
    rowsRejected: 0,
    readingsStored: 0,
    rejections: 0,
    firstRejections: [],
    devices: [],
    measures: [],
  }
  const devices = new Set<string>()
  const measures = new Set<string>()
  let bytes = { bytesRead: 0, bytesTotal: 0 }
  const progress = () =>
    input.onProgress?.({
      ...bytes,
      rows: report.rows,
      stored: report.rowsStored,
      rejected: report.rowsRejected,
    })

  let plan: TablePlan | undefined
  const jsonPlans = new Map<string, TablePlan | AirlakeError>()
  let batch: Array<{ line: number; record: IngestRecord }> = []

  // Rows handed to the ingestion path so far; a batch is parsed while the one before it is being stored.
  let flushedRows = 0
  const ingestBatch = async (items: Array<{ line: number; record: IngestRecord }>) => {
    let result: Awaited<ReturnType<typeof ingestRecords>>
    try {
      result = await ingestRecords(deps, { source, records: items.map((b) => b.record) })
    } catch (error) {
      throw wrapError(
        error,
        'STORE_UNAVAILABLE',
        `the import of ${name} stopped after ${flushedRows} rows (${report.rowsStored} stored); fix the storage and run it again (rows already stored are replaced, not doubled)`,
      )
    }
    flushedRows += items.length
    report.rowsStored += result.accepted
    report.readingsStored += result.stored
    report.rejections += result.rejected
    for (const reading of result.readings) {
      // Bounded: a file of millions of devices must not grow memory through its report.
      if (devices.size < TRACKED) devices.add(reading.deviceId)
      if (measures.size < TRACKED) measures.add(reading.measure)
      if (report.from === undefined || reading.time < report.from) report.from = reading.time
      if (report.to === undefined || reading.time > report.to) report.to = reading.time
    }
    for (const rejection of result.rejections) {
      if (report.firstRejections.length >= FIRST_REJECTIONS) break
      const line = items.find((b) => b.record.raw === rejection.payload)?.line ?? 0
      report.firstRejections.push({ line, code: rejection.code, reason: rejection.reason })
    }
    report.firstRejections.sort((a, b) => a.line - b.line)
    report.rowsRejected = flushedRows - report.rowsStored
    progress()
  }
  let pending: Promise<void> | undefined
  /** Starts ingesting the batch read so far once the previous one is stored: at most two batches in memory. */
  const flush = async () => {
    const items = batch
    batch = []
    await pending
    if (items.length === 0) return
    pending = ingestBatch(items)
    // Handled here so a failure waits for the next `await pending` without counting as unhandled.
    pending.catch(() => {})
  }

  const rows = deps.readRecords(input.path, {
    format: input.format,
    name,
    sheet: mapping.sheet,
    onProgress: (p) => {
      bytes = p
      progress()
    },
  })
  try {
    for await (const row of rows) {
      if (row.kind === 'header') {
        plan = planTable(row.cells, { mapping, device, file: name })
        report.shape = plan.shape
        continue
      }
      report.rows++
      const meta = { file: name, line: row.line }
      batch.push({ line: row.line, record: { ...toRecord(row), meta } })
      if (batch.length >= batchRows) await flush()
    }
    await flush()
    await pending
  } catch (error) {
    // Reading failed half-way: let the batch being stored finish before answering.
    await pending?.catch(() => {})
    throw error
  }
  report.rowsRejected = report.rows - report.rowsStored
  report.devices = [...devices].sort().slice(0, LISTED)
  report.measures = [...measures].sort().slice(0, LISTED)
  return report

  function toRecord(row: Exclude<SourceFileRow, { kind: 'header' }>): IngestRecord {
    try {
      switch (row.kind) {
        case 'invalid':
          return {
            raw: row.raw,
            error: new AirlakeError('READING_INVALID', `line ${row.line}: ${row.reason}`),
          }
        case 'cells':
          if (plan === undefined)
            throw new AirlakeError('FILE_INVALID', `${name} has data before its header row`)
          return { raw: row.raw, readings: readTableRow(plan, row.cells, source) }
        case 'json':
          return { raw: row.raw, readings: readJsonRow(row.value) }
      }
    } catch (error) {
      const reason = isAirlakeError(error)
        ? error
        : wrapError(error, 'READING_INVALID', 'the row could not be read')
      return {
        raw: row.raw,
        error: new AirlakeError(reason.code, `line ${row.line}: ${reason.message}`, { cause: error }),
      }
    }
  }

  function readJsonRow(value: unknown): Reading[] {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new AirlakeError(
        'READING_INVALID',
        'write one JSON object per line (a vendor reading, a long row or a wide row)',
      )
    }
    const object = value as Record<string, unknown>
    if (isVendorShaped(object)) {
      return readingsFromVendor(
        device !== undefined && object.devid === undefined ? { ...object, devid: device } : object,
        source,
      )
    }
    if ('measure' in object && 'value' in object) {
      const hasDevice = ['device', 'device_id', 'deviceId', 'devid'].some((key) => object[key] !== undefined)
      const row = device !== undefined && !hasDevice ? { ...object, device } : object
      return [readingFromLongRow(row, source, { truncate: false })]
    }
    const keys = Object.keys(object)
    const signature = keys.join('\u0000')
    let jsonPlan = jsonPlans.get(signature)
    if (jsonPlan === undefined) {
      try {
        jsonPlan = planTable(keys, { mapping, device, file: name })
      } catch (error) {
        jsonPlan = wrapError(error, 'FILE_INVALID', 'the object cannot be mapped')
      }
      if (jsonPlans.size < 1000) jsonPlans.set(signature, jsonPlan)
    }
    if (jsonPlan instanceof AirlakeError) throw jsonPlan
    return readTableRow(jsonPlan, Object.values(object), source)
  }
}

/** How the cells of one table row become readings; built once from the header. */
export type TablePlan =
  | { shape: 'long'; time: TimeSpec; device: DeviceSpec; measureIndex: number; valueIndex: number }
  | {
      shape: 'wide'
      time: TimeSpec
      device: DeviceSpec
      measures: Array<{ index: number; name: string; column: string }>
    }

type TimeSpec =
  | { kind: 'column'; index: number; column: string; format: TimeFormat }
  | {
      kind: 'offset'
      base: { index: number; column: string } | number
      index: number
      column: string
      unitMs: number
      format: TimeFormat
    }

type DeviceSpec = { kind: 'fixed'; id: string } | { kind: 'columns'; indexes: number[]; columns: string[] }

/**
 * Works out the shape and columns of a table from its header and the mapping. Throws FILE_INVALID naming
 * the file's columns and the option that would fix it.
 */
export function planTable(
  header: readonly string[],
  options: { mapping: FileMapping; device?: string | undefined; file: string },
): TablePlan {
  const { mapping, file } = options
  const names = header.map((cell) => String(cell).trim().toLowerCase())
  const listed = header.map((cell) => JSON.stringify(String(cell))).join(', ')
  const find = (column: string, what: string): number => {
    const index = names.indexOf(column.trim().toLowerCase())
    if (index < 0)
      throw new AirlakeError(
        'FILE_INVALID',
        `${file} has no column ${JSON.stringify(column)} (${what}): its columns are ${listed}`,
      )
    return index
  }

  const time = planTime(mapping, names, find, file, listed)
  const used = new Set<number>(
    time.kind === 'column'
      ? [time.index]
      : [time.index, ...(typeof time.base === 'number' ? [] : [time.base.index])],
  )

  let device: DeviceSpec
  if (mapping.deviceColumns && mapping.deviceColumns.length > 0) {
    const indexes = mapping.deviceColumns.map((column) => find(column, 'given as the device column'))
    device = { kind: 'columns', indexes, columns: indexes.map((i) => header[i] ?? '') }
  } else {
    const index = names.findIndex((name) => DEVICE_COLUMNS.includes(name))
    if (index >= 0 && options.device === undefined)
      device = { kind: 'columns', indexes: [index], columns: [header[index] ?? ''] }
    else if (options.device !== undefined) device = { kind: 'fixed', id: options.device }
    else {
      throw new AirlakeError(
        'FILE_INVALID',
        `${file} has no device column (device, device_id or devid): give the device with --device ID, or name the column(s) with --device-column COL[,COL]; its columns are ${listed}`,
      )
    }
  }
  if (device.kind === 'columns') for (const index of device.indexes) used.add(index)
  if (device.kind === 'fixed') {
    const index = names.findIndex((name) => DEVICE_COLUMNS.includes(name))
    if (index >= 0) used.add(index)
  }

  const measureIndex = names.indexOf('measure')
  const valueIndex = names.indexOf('value')
  if (measureIndex >= 0 && valueIndex >= 0 && !mapping.measures) {
    return { shape: 'long', time, device, measureIndex, valueIndex }
  }

  const candidates = mapping.measures
    ? mapping.measures.map((column) => find(column, 'given in --measures'))
    : names.map((_, i) => i).filter((i) => !used.has(i))
  const measures: Array<{ index: number; name: string; column: string }> = []
  const seen = new Map<string, string>()
  for (const index of candidates) {
    const column = header[index] ?? ''
    if (used.has(index)) {
      throw new AirlakeError(
        'FILE_INVALID',
        `${file}: the column ${JSON.stringify(column)} is the time or the device, so it cannot be a measure too`,
      )
    }
    const name = measureName(column, index)
    const twin = seen.get(name)
    if (twin !== undefined) {
      throw new AirlakeError(
        'FILE_INVALID',
        `${file}: the columns ${JSON.stringify(twin)} and ${JSON.stringify(column)} both become the measure "${name}": rename one, or choose with --measures`,
      )
    }
    seen.set(name, column)
    measures.push({ index, name, column })
  }
  if (measures.length === 0) {
    throw new AirlakeError(
      'FILE_INVALID',
      `${file} has no measure columns besides the time and the device: its columns are ${listed}`,
    )
  }
  return { shape: 'wide', time, device, measures }
}

function planTime(
  mapping: FileMapping,
  names: readonly string[],
  find: (column: string, what: string) => number,
  file: string,
  listed: string,
): TimeSpec {
  const format = mapping.timeFormat ?? 'auto'
  if (mapping.time === undefined) {
    const index = TIME_COLUMNS.map((name) => names.indexOf(name)).find((i) => i >= 0)
    if (index === undefined) {
      throw new AirlakeError(
        'FILE_INVALID',
        `${file} has no time column (time, timestamp, ts, datetime or date): name it with --time COL, or build it with --time DATE_COL+HOURS_COL:h or --time SECONDS_COL:s --start 2024-01-01T00:00:00Z; its columns are ${listed}`,
      )
    }
    return { kind: 'column', index, column: names[index] ?? '', format }
  }
  const parsed = parseTimeExpression(mapping.time)
  const index = find(parsed.column, 'given in --time')
  if (parsed.unitMs === undefined) return { kind: 'column', index, column: parsed.column, format }
  if (parsed.base !== undefined) {
    return {
      kind: 'offset',
      base: { index: find(parsed.base, 'given in --time'), column: parsed.base },
      index,
      column: parsed.column,
      unitMs: parsed.unitMs,
      format,
    }
  }
  if (mapping.start === undefined) {
    throw new AirlakeError(
      'FILE_INVALID',
      `--time ${mapping.time} counts from a start: give it with --start 2024-01-01T00:00:00Z, or add a date column as DATE_COL+${mapping.time}`,
    )
  }
  return {
    kind: 'offset',
    base: parseStart(mapping.start),
    index,
    column: parsed.column,
    unitMs: parsed.unitMs,
    format,
  }
}

const TIME_EXPRESSION = /^\s*(?:([^+:]+?)\s*\+\s*)?([^+:]+?)\s*(?::\s*(ms|s|min|h|d))?\s*$/

/** Parses `COL`, `OFFSET:UNIT` or `BASE+OFFSET:UNIT`; throws FILE_INVALID with the accepted forms. */
export function parseTimeExpression(expression: string): { base?: string; column: string; unitMs?: number } {
  const match = TIME_EXPRESSION.exec(expression)
  const [, base, column, unit] = match ?? []
  if (!match || column === undefined || (base !== undefined && unit === undefined)) {
    throw new AirlakeError(
      'FILE_INVALID',
      `--time ${JSON.stringify(expression)} is not understood: write COL, OFFSET_COL:UNIT (with --start) or DATE_COL+OFFSET_COL:UNIT, UNIT one of ms, s, min, h, d`,
    )
  }
  return {
    ...(base === undefined ? {} : { base }),
    column,
    ...(unit === undefined ? {} : { unitMs: UNITS[unit] }),
  }
}

function parseStart(start: string): TimeMs {
  try {
    return parseTimestamp(start)
  } catch (error) {
    throw wrapError(error, 'FILE_INVALID', '--start is not a time')
  }
}

function checkMappingOptions(mapping: FileMapping): void {
  if (mapping.timeFormat !== undefined && !TIME_FORMATS.includes(mapping.timeFormat)) {
    throw new AirlakeError(
      'FILE_INVALID',
      `--time-format ${JSON.stringify(mapping.timeFormat)} is not one of ${TIME_FORMATS.join(', ')}`,
    )
  }
  if (mapping.time !== undefined) parseTimeExpression(mapping.time)
  if (mapping.start !== undefined) parseStart(mapping.start)
}

/** A column name as a measure: lowercase, anything but `[a-z0-9_.]` becomes `_`, starting with a letter. */
export function measureName(column: string, index = 0): string {
  let name = column
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_.]/g, '_')
  if (name === '') name = `column_${index + 1}`
  if (!/^[a-z]/.test(name)) name = `m_${name}`
  return checkMeasure(name.slice(0, 64), 'column')
}

/** The readings of one table row; throws an AirlakeError saying which cell is wrong. */
export function readTableRow(plan: TablePlan, cells: readonly unknown[], source: string): Reading[] {
  const time = readTime(plan.time, cells)
  const deviceId =
    plan.device.kind === 'fixed'
      ? plan.device.id
      : checkDeviceId(
          plan.device.indexes.map((i) => cellText(cells[i])).join('-'),
          plan.device.columns.join('+'),
        )
  if (plan.shape === 'long') {
    const measure = checkMeasure(cellText(cells[plan.measureIndex]))
    const value = readNumber(cells[plan.valueIndex], 'value')
    if (value === undefined) throw new AirlakeError('READING_INVALID', 'the value is empty')
    return [{ time, deviceId, measure, value, source }]
  }
  const readings: Reading[] = []
  for (const measure of plan.measures) {
    const value = readNumber(cells[measure.index], measure.column)
    if (value !== undefined) readings.push({ time, deviceId, measure: measure.name, value, source })
  }
  if (readings.length === 0) {
    throw new AirlakeError(
      'READING_INVALID',
      `the row has no values: every measure cell (${plan.measures.map((m) => m.column).join(', ')}) is empty`,
    )
  }
  return readings
}

function readTime(spec: TimeSpec, cells: readonly unknown[]): TimeMs {
  if (spec.kind === 'column') return readInstant(cells[spec.index], spec.column, spec.format)
  const origin =
    typeof spec.base === 'number'
      ? spec.base
      : readInstant(cells[spec.base.index], spec.base.column, spec.format)
  const offset = readNumber(cells[spec.index], spec.column)
  if (offset === undefined) throw new AirlakeError('TIME_INVALID', `the time offset ${spec.column} is empty`)
  return Math.round(origin + offset * spec.unitMs)
}

function readInstant(cell: unknown, column: string, format: TimeFormat): TimeMs {
  if (cell instanceof Date) {
    const time = cell.getTime()
    if (Number.isFinite(time)) return time
  }
  const text = cellText(cell)
  if (text === '') throw new AirlakeError('TIME_INVALID', `the time (${column}) is empty`)
  switch (format) {
    case 'auto':
    case 'iso':
      return parseTimestamp(cell instanceof Date ? text : typeof cell === 'number' ? cell : text)
    case 'unix-s':
      return parseTimestamp(Number(text))
    case 'unix-ms':
      return parseTimestamp(Number(text) / 1000)
    case 'excel': {
      const serial = Number(text)
      if (!Number.isFinite(serial))
        throw new AirlakeError(
          'TIME_INVALID',
          `the time (${column}) ${JSON.stringify(text)} is not an Excel day number`,
        )
      return parseTimestamp(((serial - EXCEL_EPOCH_DAYS) * DAY_MS) / 1000)
    }
  }
}

function readNumber(cell: unknown, column: string): number | undefined {
  if (cell === null || cell === undefined) return undefined
  if (typeof cell === 'number') {
    if (Number.isFinite(cell)) return cell
  } else if (typeof cell === 'string') {
    const text = cell.trim()
    if (MISSING.has(text.toLowerCase())) return undefined
    const value = Number(text)
    if (Number.isFinite(value)) return value
  }
  throw new AirlakeError('READING_INVALID', `${column} is not a number: ${JSON.stringify(cell)}`)
}

function cellText(cell: unknown): string {
  if (cell === null || cell === undefined) return ''
  if (cell instanceof Date) return cell.toISOString()
  return String(cell).trim()
}
