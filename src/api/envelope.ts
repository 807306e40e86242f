/**
 * The seed's answer envelope `{"Records","Metadata","ExecutionInfo"}` (reference/indoor-sensors-api.md),
 * the pivot of long rows into one column per measure, and the opaque page token. Pure: no I/O.
 *
 * Records are arrays of strings, as the reference shows (`["2023-02-07 11:29:00.000000000","25.2",…]`)
 * and as the original system's store (Timestream) returned every scalar: a client written against the
 * seed parses them the same way here. A measure absent at a time is `null`.
 */
import { createHash } from 'node:crypto'
import { AirlakeError } from '../core/errors.js'
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
 * Pivots long rows (any order) to one record per time, newest first: `[time, value of columns[0], …]`,
 * values as strings, `null` where a measure has no value at that time. `columns` defaults to the
 * measures present, ordered by `orderMeasures`.
 *
 * Rows already newest first (the stores' order) are pivoted in one pass, each record made when its time
 * first appears; other orders are grouped by time and sorted.
 */
export function pivotRows(
  rows: readonly LongValue[],
  columns: readonly string[] = orderMeasures(measuresOf(rows)),
): { columns: string[]; records: Array<Array<string | null>> } {
  const position = new Map(columns.map((measure, i) => [measure, i + 1]))
  const width = columns.length + 1
  const formatTime = recordTimeFormatter()
  const records: Array<Array<string | null>> = []
  let record: Array<string | null> = []
  let time = Number.NaN
  for (const row of rows) {
    const column = position.get(row.measure)
    if (column === undefined) continue
    if (row.time !== time) {
      if (row.time > time) return pivotAnyOrder(rows, columns, position)
      time = row.time
      record = new Array<string | null>(width).fill(null)
      record[0] = formatTime(time)
      records.push(record)
    }
    record[column] = formatValue(row.value)
  }
  return { columns: [...columns], records }
}

function pivotAnyOrder(
  rows: readonly LongValue[],
  columns: readonly string[],
  position: ReadonlyMap<string, number>,
): { columns: string[]; records: Array<Array<string | null>> } {
  const formatTime = recordTimeFormatter()
  const byTime = new Map<TimeMs, Array<string | null>>()
  for (const row of rows) {
    const column = position.get(row.measure)
    if (column === undefined) continue
    let record = byTime.get(row.time)
    if (record === undefined) {
      record = new Array<string | null>(columns.length + 1).fill(null)
      record[0] = formatTime(row.time)
      byTime.set(row.time, record)
    }
    record[column] = formatValue(row.value)
  }
  const times = [...byTime.keys()].sort((a, b) => b - a)
  return { columns: [...columns], records: times.map((time) => byTime.get(time)!) }
}

function measuresOf(rows: readonly LongValue[]): Set<string> {
  const measures = new Set<string>()
  for (const row of rows) measures.add(row.measure)
  return measures
}

const DAY_MS = 86_400_000
/** 10000-01-01T00:00Z: from there on (and before 1970) times are formatted by `formatRecordTime` itself. */
const YEAR_10000 = 253_402_300_800_000
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'))
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

/** A number as the envelope writes it: the shortest text that reads back to the same double. */
export function formatValue(value: number): string {
  return String(value)
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

/**
 * An envelope as JSON text, byte for byte what the routes' response schema (`envelopeSchema`, written by
 * fast-json-stringify) makes of it: an `Envelope` has the schema's keys in the schema's order (as
 * `seriesEnvelope` builds it) and values of the schema's types, so JSON.stringify writes the same text,
 * sooner for thousands of records. Routes send it with `ENVELOPE_CONTENT_TYPE`; the schema still documents
 * the answer.
 */
export function envelopeJson(envelope: Envelope): string {
  return JSON.stringify(envelope)
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

/**
 * Splits a page fetched with one time more than `limitTimes`: when the store returned more distinct times
 * than asked for, the extra (oldest) time is dropped and paging continues before the oldest time kept.
 * `rows` must be ordered newest time first (the store's order).
 */
export function splitPage<T extends { time: TimeMs }>(
  rows: readonly T[],
  limitTimes: number,
): { rows: readonly T[]; nextBefore: TimeMs | undefined } {
  let distinct = 0
  let previous: TimeMs | undefined
  for (let i = 0; i < rows.length; i++) {
    const time = rows[i]!.time
    if (time !== previous) {
      distinct++
      previous = time
      if (distinct > limitTimes) {
        return { rows: rows.slice(0, i), nextBefore: rows[i - 1]!.time }
      }
    }
  }
  return { rows, nextBefore: undefined }
}
