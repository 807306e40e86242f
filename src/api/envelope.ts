/**
 * The seed's answer envelope `{"Records","Metadata","ExecutionInfo"}` (reference/indoor-sensors-api.md),
 * pages of a device's series written from grids (one column per measure), and the opaque page token. Pure:
 * no I/O.
 *
 * Records are arrays of strings, as the reference shows (`["2023-02-07 11:29:00.000000000","25.2",…]`)
 * and as the original system's store (Timestream) returned every scalar: a client written against the
 * seed parses them the same way here. A measure absent at a time is `null`.
 */
import { createHash } from 'node:crypto'
import { AirlakeError } from '../core/errors.js'
import type { SeriesGrid } from '../core/ports/store.js'
import { formatRecordTime, type TimeMs } from '../core/time.js'
import { VENDOR_MEASURES } from '../core/types.js'

export type ColumnType = 'timestamp' | 'float' | 'str'
export type SourceFormat = 'Timeserie' | 'Tabular' | 'Text'

export interface Envelope {
  Records: Array<Array<string | null>>
  Metadata: {
    SourceName: string
    SourceType: string
    SourceFormat: SourceFormat
    ColumnName: string[]
    ColumnType: ColumnType[]
  }
  ExecutionInfo: {
    /** A fresh UUID per answer, for logs. */
    LastQueryId: string
    /** How many pages of this query were served before this one (0 on the first page). */
    NextTokenConsumed: number
    /** The token for the next page, or `null` when this page is the last. */
    NextToken: string | null
  }
}

/** The name every envelope carries as `Metadata.SourceName`. */
export const SOURCE_NAME = 'airlake'

/** A long row as the store returns it: one value of one measure at one time. */
export interface LongValue {
  time: TimeMs
  measure: string
  value: number
}

/**
 * Orders measure columns: the vendor's six in the vendor's order first (as the seed lists them), then
 * the rest by name, forecast names `m~h` grouped by measure with horizons in numeric order.
 */
export function orderMeasures(measures: Iterable<string>): string[] {
  const rank = (measure: string): number => {
    const base = measure.split('~')[0] ?? measure
    const index = (VENDOR_MEASURES as readonly string[]).indexOf(base)
    return index === -1 ? VENDOR_MEASURES.length : index
  }
  const horizon = (measure: string): number => {
    const [, h] = measure.split('~')
    return h === undefined ? -1 : Number(h)
  }
  return [...new Set(measures)].sort((a, b) => {
    const byRank = rank(a) - rank(b)
    if (byRank !== 0) return byRank
    const baseA = a.split('~')[0] ?? a
    const baseB = b.split('~')[0] ?? b
    if (baseA !== baseB) return baseA < baseB ? -1 : 1
    return horizon(a) - horizon(b) || (a < b ? -1 : a > b ? 1 : 0)
  })
}

/**
 * Pivots long rows (any order) to a grid, newest time first: its columns are `measures` (rows of other
 * measures dropped) or else every measure present. What a store's `readingsGrid` returns, made from the long
 * rows of a store that has no pivoted read (predictions).
 */
export function gridOf(rows: readonly LongValue[], measures?: readonly string[]): SeriesGrid {
  const columns = measures ?? [...new Set(rows.map((row) => row.measure))]
  const position = new Map(columns.map((measure, j) => [measure, j]))
  const kept = rows.filter((row) => position.has(row.measure))
  const times = Float64Array.from(new Set(kept.map((row) => row.time)))
    .sort()
    .reverse()
  const rowOf = new Map(Array.from(times, (time, i) => [time, i]))
  const width = columns.length
  const values = new Float64Array(times.length * width).fill(Number.NaN)
  for (const row of kept) values[rowOf.get(row.time)! * width + position.get(row.measure)!] = row.value
  return { measures: [...columns], times, values }
}

/**
 * The columns of a grid's first `rows` rows that an answer shows, as indexes into `grid.measures`: every
 * one in its order when the measures were asked for (a column without values is still an answer), else the
 * measures with a value among those rows, ordered by `orderMeasures`.
 */
export function shownColumns(grid: SeriesGrid, rows: number, asked: boolean): number[] {
  const width = grid.measures.length
  const indexes = grid.measures.map((_, j) => j)
  if (asked) return indexes
  const present = indexes.filter((j) => {
    for (let at = j; at < rows * width; at += width) if (!Number.isNaN(grid.values[at])) return true
    return false
  })
  const column = new Map(present.map((j) => [grid.measures[j]!, j]))
  return orderMeasures(column.keys()).map((measure) => column.get(measure)!)
}

const DAY_MS = 86_400_000
/** 10000-01-01T00:00Z: from there on (and before 1970) times are formatted by `formatRecordTime` itself. */
const YEAR_10000 = 253_402_300_800_000
const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'))
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'))

/**
 * `formatRecordTime` for many times in a row: the date part is formatted once per day, the time of day
 * from digit tables (the same text, without a Date and an ISO string per record).
 */
export function recordTimeFormatter(): (time: TimeMs) => string {
  let day = Number.NaN
  let date = ''
  return (time) => {
    if (!(time >= 0 && time < YEAR_10000) || !Number.isInteger(time)) return formatRecordTime(time)
    const ms = time % DAY_MS
    if (time - ms !== day) {
      day = time - ms
      date = formatRecordTime(day).slice(0, 11)
    }
    const seconds = Math.floor(ms / 1000)
    return `${date}${TWO_DIGITS[Math.floor(seconds / 3600)]}:${TWO_DIGITS[Math.floor(seconds / 60) % 60]}:${TWO_DIGITS[seconds % 60]}.${THREE_DIGITS[ms % 1000]}000000`
  }
}

/** Below this many hundredths a value written from its hundredths is the shortest text of its double. */
const HUNDREDTHS_LIMIT = 1e9

/**
 * A number as the envelope writes it: the shortest text that reads back to the same double, as `String`
 * writes it. Sensors mostly report one or two decimals (the vendor's `25.2`, the demo motes' `45.93`); such a
 * value is written from its whole hundredths, about four times faster than `String`'s shortest round trip.
 * That text is `String`'s: it reads back to the value, and below `HUNDREDTHS_LIMIT` no text with fewer digits
 * does (doubles there are far closer together than 0.01). Other values go to `String`.
 */
export function formatValue(value: number): string {
  const hundredths = Math.round(value * 100)
  if (hundredths / 100 !== value || !(Math.abs(hundredths) < HUNDREDTHS_LIMIT)) return String(value)
  const magnitude = Math.abs(hundredths)
  const whole = Math.floor(magnitude / 100)
  const cents = magnitude - whole * 100
  const fraction = cents === 0 ? '' : cents % 10 === 0 ? `.${cents / 10}` : `.${TWO_DIGITS[cents]}`
  // -0 has no hundredths below 0, and `String(-0)` is "0".
  return `${hundredths < 0 ? '-' : ''}${whole}${fraction}`
}

/** Builds an envelope around pivoted records (`time` first, then one `float` column per measure). */
export function seriesEnvelope(input: {
  sourceType: string
  columns: readonly string[]
  records: Array<Array<string | null>>
  queryId: string
  pagesConsumed: number
  nextToken: string | null
}): Envelope {
  return {
    Records: input.records,
    Metadata: {
      SourceName: SOURCE_NAME,
      SourceType: input.sourceType,
      SourceFormat: 'Timeserie',
      ColumnName: ['time', ...input.columns],
      ColumnType: ['timestamp', ...input.columns.map((): ColumnType => 'float')],
    },
    ExecutionInfo: {
      LastQueryId: input.queryId,
      NextTokenConsumed: input.pagesConsumed,
      NextToken: input.nextToken,
    },
  }
}

/** The media type of an envelope sent as text: what Fastify writes for a JSON object. */
export const ENVELOPE_CONTENT_TYPE = 'application/json; charset=utf-8'

/** The start of an envelope's JSON text when it has no records. */
const NO_RECORDS = '{"Records":[]'

/**
 * The envelope of a grid's first `rows` rows and its `columns` (indexes into `grid.measures`) as JSON text:
 * byte for byte `JSON.stringify(seriesEnvelope(…))` of the same records, which is what the routes' response
 * schema (`envelopeSchema`, written by fast-json-stringify) makes of them, but written from the grid's
 * numbers directly, with no record arrays in between (a device-day has 1,440 of 7 values). Times and
 * numbers as text need no escaping. Routes send it with `ENVELOPE_CONTENT_TYPE`; the schema still documents
 * the answer.
 */
export function seriesEnvelopeJson(input: {
  sourceType: string
  grid: SeriesGrid
  rows: number
  columns: readonly number[]
  queryId: string
  pagesConsumed: number
  nextToken: string | null
}): string {
  const { grid, rows, columns } = input
  const width = grid.measures.length
  const formatTime = recordTimeFormatter()
  let records = ''
  for (let i = 0; i < rows; i++) {
    records += `${i === 0 ? '' : ','}["${formatTime(grid.times[i]!)}"`
    for (const j of columns) {
      const value = grid.values[i * width + j]!
      records += Number.isNaN(value) ? ',null' : `,"${formatValue(value)}"`
    }
    records += ']'
  }
  const rest = JSON.stringify(
    seriesEnvelope({ ...input, columns: columns.map((j) => grid.measures[j]!), records: [] }),
  )
  return `{"Records":[${records}]${rest.slice(NO_RECORDS.length)}`
}

/** What a page token carries: where the next page starts and which query it belongs to. */
export interface PageCursor {
  /** The next page holds only times strictly older than this (ms). */
  before: TimeMs
  /** Pages served so far in this query. */
  pages: number
  /** `queryFingerprint` of the query the token was issued for. */
  fingerprint: string
}

const TOKEN_VERSION = 1

/**
 * A short hash of what defines a paged query (route, device, range, measures), so a token cannot be
 * replayed against another query and silently skip or repeat rows.
 */
export function queryFingerprint(
  parts: Record<string, string | number | readonly string[] | undefined>,
): string {
  const canonical = JSON.stringify(
    Object.keys(parts)
      .sort()
      .map((key) => [key, parts[key] ?? null]),
  )
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 16)
}

/** Encodes a cursor as opaque base64url text. */
export function encodePageToken(cursor: PageCursor): string {
  return Buffer.from(
    JSON.stringify([TOKEN_VERSION, cursor.before, cursor.pages, cursor.fingerprint]),
  ).toString('base64url')
}

/**
 * Decodes a token made by `encodePageToken` for the query with `fingerprint`; throws PARAMETER_INVALID
 * when the token is damaged or was issued for another query.
 */
export function decodePageToken(token: string, fingerprint: string): PageCursor {
  const invalid = (why: string) =>
    new AirlakeError(
      'PARAMETER_INVALID',
      `nextToken ${why}: pass the NextToken of the previous answer unchanged, with the same device, from, to and measure (or start again without nextToken)`,
    )
  let decoded: unknown
  try {
    if (!/^[A-Za-z0-9_-]{1,512}$/.test(token)) throw new Error('not base64url')
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))
  } catch {
    throw invalid('is not a token this server issued')
  }
  if (
    !Array.isArray(decoded) ||
    decoded.length !== 4 ||
    decoded[0] !== TOKEN_VERSION ||
    !Number.isSafeInteger(decoded[1]) ||
    !Number.isSafeInteger(decoded[2]) ||
    (decoded[2] as number) < 1 ||
    typeof decoded[3] !== 'string'
  ) {
    throw invalid('is not a token this server issued')
  }
  if (decoded[3] !== fingerprint) throw invalid('belongs to another query')
  return { before: decoded[1] as number, pages: decoded[2] as number, fingerprint }
}
