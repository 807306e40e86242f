/**
 * Bronze -> silver: turns the raw NDJSON segments of `bronze/<source>/<receive day>/` into typed,
 * de-duplicated Parquet partitions `silver/<source>/date=<reading day>/part-0.parquet` (DESIGN.md section 3).
 *
 * - De-duplication: one row per (device, measure, time); the row received last (greatest `receivedAt`,
 *   then the later bronze line) wins, as in the store.
 * - Incremental: `silver/<source>/_promoted.json` records each promoted segment's size and the reading days
 *   it held. A run stages only new or grown segments and merges them into the partitions they touch.
 * - `day`: rebuilds that reading day's partition from scratch, from every segment holding one of its rows.
 * - Atomic and restartable: a partition is written to a local temporary file, then published with one
 *   atomic `putFile` (overwrite). A crash leaves the old partition or the new one, never half of one; the
 *   manifest is written last, so an interrupted run is redone by the next (merging is idempotent).
 * - One promotion at a time per lake in this process (the scheduler, exports and quality checks all
 *   promote first): two merges of one partition must not race, or the later would drop the earlier's rows.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AirlakeError, wrapError } from '../core/errors.js'
import type { Clock } from '../core/ports/clock.js'
import type { Columnar, ColumnarStaging, ReadingColumns } from '../core/ports/columnar.js'
import type { Lake } from '../core/ports/lake.js'
import type { Logger } from '../core/ports/logger.js'
import { DAY_MS, type IsoDate, isoDate, parseIsoDate } from '../core/time.js'

export interface SilverDeps {
  lake: Lake
  columnar: Columnar
  clock: Clock
  logger: Logger
}

/** Progress of a promotion, for the CLI's progress lines. */
export interface SilverProgress {
  source: string
  /** Bronze segments staged so far and in all, for this source. */
  segmentsDone: number
  segmentsTotal: number
  rowsRead: number
}

export interface PromotionInput {
  /** One source; every source found in bronze when absent. */
  source?: string | undefined
  /** Rebuild this reading day's partition from scratch (after promoting anything new). */
  day?: IsoDate | undefined
  onProgress?: ((progress: SilverProgress) => void) | undefined
}

export interface SilverPartitionReport {
  source: string
  day: IsoDate
  key: string
  /** Rows in the partition as written (after de-duplication and merging). */
  rows: number
  /** Whether the partition was rebuilt from scratch (`day`) rather than merged. */
  rebuilt: boolean
}

export interface PromotionReport {
  startedAt: number
  durationMs: number
  /** Bronze segments read. */
  segments: number
  /** Bronze lines read and their rows. */
  lines: number
  rowsRead: number
  /** Lines that could not be read as bronze (kept in bronze, skipped here), with the first few reasons. */
  invalidLines: number
  problems: string[]
  partitions: SilverPartitionReport[]
  /** Rows in the partitions written. */
  rowsWritten: number
}

interface ManifestEntry {
  /** Bytes promoted (up to the last complete line). */
  bytes: number
  /** Reading days the segment holds rows of. */
  days: IsoDate[]
}

interface Manifest {
  version: 1
  segments: Record<string, ManifestEntry>
}

const SOURCE = /^[a-z0-9][a-z0-9-]{0,31}$/
// Rows handed to the engine at once: large enough to amortise the call, small enough to bound memory.
const BATCH_ROWS = 65_536
const MAX_PROBLEMS = 20

/** The lake key of a silver partition. */
export function silverPartitionKey(source: string, day: IsoDate): string {
  return `silver/${source}/date=${day}/part-0.parquet`
}

function manifestKey(source: string): string {
  return `silver/${source}/_promoted.json`
}

/** Checks a source name (the bronze and silver folder); throws PARAMETER_INVALID otherwise. */
export function checkSource(source: string): string {
  if (!SOURCE.test(source)) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `source must be 1–32 lowercase letters, digits or "-" (like http, mqtt, vendor), got ${JSON.stringify(source)}`,
    )
  }
  return source
}

/** Sources with a folder under `prefix` (`bronze/` or `silver/`), sorted. */
export async function listSources(lake: Lake, prefix: 'bronze/' | 'silver/'): Promise<string[]> {
  const sources = new Set<string>()
  for await (const object of lake.list(prefix)) {
    const source = object.key.slice(prefix.length).split('/')[0]
    if (source !== undefined && SOURCE.test(source)) sources.add(source)
  }
  return [...sources].sort()
}

/** Silver partitions of `source` (all sources when absent) whose day is in [fromDay, toDay], by source then day. */
export async function listSilverPartitions(
  lake: Lake,
  filter: { source?: string | undefined; fromDay?: IsoDate; toDay?: IsoDate } = {},
): Promise<Array<{ source: string; day: IsoDate; key: string; size: number }>> {
  const sources =
    filter.source === undefined ? await listSources(lake, 'silver/') : [checkSource(filter.source)]
  const partitions: Array<{ source: string; day: IsoDate; key: string; size: number }> = []
  for (const source of sources) {
    for await (const object of lake.list(`silver/${source}/date=`)) {
      const match = /^silver\/[^/]+\/date=(\d{4}-\d{2}-\d{2})\/part-0\.parquet$/.exec(object.key)
      const day = match?.[1]
      if (day === undefined) continue
      if (filter.fromDay !== undefined && day < filter.fromDay) continue
      if (filter.toDay !== undefined && day > filter.toDay) continue
      partitions.push({ source, day, key: object.key, size: object.size })
    }
  }
  return partitions
}

/**
 * A local path for lake object `key`: the object itself on a local lake, otherwise a copy in `scratch`.
 * Returns `undefined` when there is no such object.
 */
export async function localCopy(lake: Lake, key: string, scratch: string): Promise<string | undefined> {
  if (!(await lake.exists(key))) return undefined
  const local = lake.localPath(key)
  if (local !== undefined) return local
  const body = await lake.get(key)
  if (body === undefined) return undefined
  const path = join(scratch, key.replaceAll('/', '__'))
  await writeFile(path, body)
  return path
}

async function readManifest(lake: Lake, source: string): Promise<Manifest> {
  const body = await lake.get(manifestKey(source))
  if (body === undefined) return { version: 1, segments: {} }
  try {
    const parsed = JSON.parse(Buffer.from(body).toString('utf8')) as Manifest
    if (parsed.version !== 1 || typeof parsed.segments !== 'object' || parsed.segments === null)
      throw new Error('unknown shape')
    return parsed
  } catch {
    // A manifest we cannot read only costs a full re-promotion: merging is idempotent.
    return { version: 1, segments: {} }
  }
}

// The tail of the promotions queued per lake location (see the module comment).
const promotions = new Map<string, Promise<unknown>>()

/** Promotes bronze to silver; see the module comment. Throws LAKE_UNAVAILABLE when the lake or engine fails. */
export async function promoteToSilver(
  deps: SilverDeps,
  input: PromotionInput = {},
): Promise<PromotionReport> {
  const location = deps.lake.location
  const previous = promotions.get(location) ?? Promise.resolve()
  const run = previous.catch(() => {}).then(() => promoteNow(deps, input))
  const tail = run.catch(() => {})
  promotions.set(location, tail)
  try {
    return await run
  } finally {
    if (promotions.get(location) === tail) promotions.delete(location)
  }
}

async function promoteNow(deps: SilverDeps, input: PromotionInput): Promise<PromotionReport> {
  const startedAt = deps.clock.now()
  const began = performance.now()
  if (input.day !== undefined) parseIsoDate(input.day)
  const sources =
    input.source === undefined ? await listSources(deps.lake, 'bronze/') : [checkSource(input.source)]
  const report: PromotionReport = {
    startedAt,
    durationMs: 0,
    segments: 0,
    lines: 0,
    rowsRead: 0,
    invalidLines: 0,
    problems: [],
    partitions: [],
    rowsWritten: 0,
  }
  const scratch = await mkdtemp(join(tmpdir(), 'airlake-silver-'))
  try {
    for (const source of sources) await promoteSource(deps, source, input, report, scratch)
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
  report.durationMs = performance.now() - began
  deps.logger.info('silver built', {
    sources,
    segments: report.segments,
    rowsRead: report.rowsRead,
    partitions: report.partitions.length,
    rowsWritten: report.rowsWritten,
    invalidLines: report.invalidLines,
  })
  return report
}

async function promoteSource(
  deps: SilverDeps,
  source: string,
  input: PromotionInput,
  report: PromotionReport,
  scratch: string,
): Promise<void> {
  const { lake } = deps
  const manifest = await readManifest(lake, source)
  const segments: Array<{ key: string; size: number }> = []
  for await (const object of lake.list(`bronze/${source}/`)) {
    if (object.key.endsWith('.ndjson')) segments.push({ key: object.key, size: object.size })
  }
  const chosen = segments.filter(({ key, size }) => {
    const entry = manifest.segments[key]
    if (entry === undefined || entry.bytes !== size) return true
    return input.day !== undefined && entry.days.includes(input.day)
  })
  if (chosen.length === 0) return

  const staging = await deps.columnar.openStaging()
  try {
    const promoted: Record<string, ManifestEntry> = {}
    let done = 0
    for (const segment of chosen) {
      promoted[segment.key] = await stageSegment(lake, staging, source, segment.key, report)
      done++
      input.onProgress?.({
        source,
        segmentsDone: done,
        segmentsTotal: chosen.length,
        rowsRead: report.rowsRead,
      })
    }
    report.segments += chosen.length

    const days = await staging.days()
    // Days other than the rebuilt one keep what silver already holds: merge the existing partition in.
    const existing: string[] = []
    for (const day of days) {
      if (day === input.day) continue
      const file = await localCopy(lake, silverPartitionKey(source, day), scratch)
      if (file !== undefined) existing.push(file)
    }
    await staging.appendSilver(existing)

    for (const day of days) {
      const key = silverPartitionKey(source, day)
      const file = join(scratch, `${source}-${day}.parquet`)
      const rows = await staging.writeSilverDay(day, file)
      await lake.putFile(key, file, { overwrite: true })
      await rm(file, { force: true })
      report.partitions.push({ source, day, key, rows, rebuilt: day === input.day })
      report.rowsWritten += rows
    }
    await lake.put(
      manifestKey(source),
      JSON.stringify({ version: 1, segments: { ...manifest.segments, ...promoted } } satisfies Manifest),
      { overwrite: true },
    )
  } catch (error) {
    throw wrapError(error, 'LAKE_UNAVAILABLE', `could not promote bronze/${source} to silver`)
  } finally {
    await staging.close()
  }
}

/** Reads one bronze segment line by line into the staging, returning what the manifest keeps of it. */
async function stageSegment(
  lake: Lake,
  staging: ColumnarStaging,
  source: string,
  key: string,
  report: PromotionReport,
): Promise<ManifestEntry> {
  const stream = await lake.getStream(key)
  if (stream === undefined) return { bytes: 0, days: [] }
  const days = new Set<number>()
  let batch = emptyBatch(source)
  let pending: Buffer = Buffer.alloc(0)
  let bytes = 0
  let lineNumber = 0

  const flush = async () => {
    if (batch.time.length === 0) return
    await staging.append(batch)
    batch = emptyBatch(source)
  }
  const problem = (message: string) => {
    report.invalidLines++
    if (report.problems.length < MAX_PROBLEMS) report.problems.push(`${key} line ${lineNumber}: ${message}`)
  }

  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    pending = pending.length === 0 ? buffer : Buffer.concat([pending, buffer])
    let start = 0
    for (let end = pending.indexOf(10, start); end >= 0; end = pending.indexOf(10, start)) {
      lineNumber++
      const line = pending.toString('utf8', start, end)
      bytes += end + 1 - start
      start = end + 1
      if (line.trim() === '') continue
      const before = batch.time.length
      const error = readLine(line, batch, days)
      if (error !== undefined) {
        problem(error)
      } else {
        report.lines++
        report.rowsRead += batch.time.length - before
      }
      if (batch.time.length >= BATCH_ROWS) await flush()
    }
    pending = pending.subarray(start)
  }
  // A trailing partial line is a write in progress (or torn by a crash): it is promoted once complete.
  await flush()
  return { bytes, days: [...days].sort((a, b) => a - b).map((day) => isoDate(day * DAY_MS)) }
}

function emptyBatch(source: string): ReadingColumns {
  return { source, time: [], deviceId: [], measure: [], value: [], receivedAt: [] }
}

/** Adds the rows of one bronze line to `batch` and their day numbers to `days`; returns why it cannot be read, or undefined. */
function readLine(line: string, batch: ReadingColumns, days: Set<number>): string | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(line)
  } catch (error) {
    return `not JSON (${(error as Error).message})`
  }
  if (typeof parsed !== 'object' || parsed === null) return 'not a JSON object'
  const { receivedAt, rows } = parsed as { receivedAt?: unknown; rows?: unknown }
  if (typeof receivedAt !== 'number' || !Number.isSafeInteger(receivedAt))
    return 'receivedAt is not epoch milliseconds'
  if (!Array.isArray(rows)) return 'rows is not a list'
  const start = batch.time.length
  for (const row of rows) {
    if (
      !Array.isArray(row) ||
      row.length !== 4 ||
      typeof row[0] !== 'number' ||
      !Number.isSafeInteger(row[0]) ||
      typeof row[1] !== 'string' ||
      typeof row[2] !== 'string' ||
      typeof row[3] !== 'number' ||
      !Number.isFinite(row[3])
    ) {
      // Drop the rows already taken from this line: a line is promoted whole or not at all.
      batch.time.length = batch.deviceId.length = batch.measure.length = start
      batch.value.length = batch.receivedAt.length = start
      return `a row is not [timeMs, device, measure, value]: ${JSON.stringify(row)}`
    }
    batch.time.push(row[0])
    batch.deviceId.push(row[1])
    batch.measure.push(row[2])
    batch.value.push(row[3])
    batch.receivedAt.push(receivedAt)
  }
  for (let i = start; i < batch.time.length; i++) days.add(Math.floor((batch.time[i] ?? 0) / DAY_MS))
  return undefined
}
