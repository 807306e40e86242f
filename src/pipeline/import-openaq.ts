/**
 * Imports a location's hourly PM2.5 from OpenAQ v3: location -> its PM2.5 sensor (parameter 2) -> every
 * page of `/sensors/{id}/hours`, each hour stored at its start (`period.datetimeFrom.utc`) as measure
 * `pm25` of device `openaq-<locationId>`, source `openaq`. Re-running resumes after the last hour
 * received (stored, or rejected for want of a value; kept in the store's state as
 * `openaq:<locationId>:last-hour`), so a configured source keeps the location current with one short
 * request an hour and never records the same rejected hour twice.
 */
import { AirlakeError, wrapError } from '../core/errors.js'
import { floorToStep, HOUR_MS, type TimeMs } from '../core/time.js'
import { type IngestDeps, type IngestRecord, ingestRecords } from './ingest.js'
import { type RetryOptions, withRetry } from './retry.js'
import type { OpenaqApi, OpenaqHour } from './source-adapters.js'
import { checkSource } from './to-silver.js'

export const PM25_PARAMETER_ID = 2
/** Hours fetched when nothing is stored yet and no `from` is given. */
export const DEFAULT_BACKFILL_MS = 30 * 24 * HOUR_MS
const PAGE_LIMIT = 1000
const MAX_PAGES = 10_000

export interface OpenaqImportProgress {
  page: number
  /** Pages expected, when `meta.found` says (a lower bound when it came as ">N"). */
  pages: number | undefined
  hours: number
  stored: number
  rejected: number
}

export interface OpenaqImportReport {
  locationId: number
  locationName: string
  sensorId: number
  deviceId: string
  /** The window asked of the API, UTC ms: [from, to). */
  from: TimeMs
  to: TimeMs
  /** True when `from` came from the last stored hour. */
  resumed: boolean
  pages: number
  /** Hourly rows received. */
  hours: number
  /** Hours stored (one reading each). */
  stored: number
  /** Hours kept in `rejected` (no value, impossible value, no time). */
  rejected: number
  firstRejections: Array<{ time: string; reason: string }>
  /** The newest hour received (stored or rejected), where the next run resumes; UTC ms. */
  lastHour: TimeMs | undefined
}

export interface OpenaqImportInput {
  api: OpenaqApi
  locationId: number
  /**
   * Start (inclusive); 30 days before `to` when absent. When the last stored hour falls inside [from, to),
   * the import resumes after it.
   */
  from?: TimeMs | undefined
  /** End (exclusive); the current hour's start when absent (the hour under way is not final). */
  to?: TimeMs | undefined
  source?: string | undefined
  pageLimit?: number | undefined
  retry?: RetryOptions | undefined
  signal?: AbortSignal | undefined
  onProgress?: ((progress: OpenaqImportProgress) => void) | undefined
}

/** The store state key holding the last hour stored for a location. */
export function openaqCursorKey(locationId: number): string {
  return `openaq:${locationId}:last-hour`
}

/**
 * Walks every page and ingests each. Throws NOT_FOUND for an unknown location or one without a PM2.5
 * sensor, UPSTREAM_FAILED when OpenAQ keeps failing (pages already stored stay stored and the cursor
 * points after them, so re-running continues), PARAMETER_INVALID for `from` after `to`.
 */
export async function importOpenaq(deps: IngestDeps, input: OpenaqImportInput): Promise<OpenaqImportReport> {
  const source = checkSource(input.source ?? 'openaq')
  const limit = input.pageLimit ?? PAGE_LIMIT
  const retry = (what: string) => ({
    ...input.retry,
    signal: input.signal,
    onRetry: (error: unknown, attempt: number, delayMs: number) =>
      deps.logger.warn(`OpenAQ ${what} failed; retrying`, {
        attempt,
        delayMs,
        error: (error as Error).message,
      }),
  })

  const { value: location } = await withRetry(
    () => input.api.getLocation(input.locationId, input.signal),
    retry('location'),
  )
  if (location === undefined) {
    throw new AirlakeError(
      'NOT_FOUND',
      `OpenAQ has no location ${input.locationId}: find one at https://explore.openaq.org (the number in its address)`,
    )
  }
  const sensor = location.sensors.find((s) => s.parameterId === PM25_PARAMETER_ID)
  if (sensor === undefined) {
    const measured = location.sensors.map((s) => s.parameterName).join(', ') || 'nothing'
    throw new AirlakeError(
      'NOT_FOUND',
      `OpenAQ location ${input.locationId} (${location.name}) has no PM2.5 sensor (it measures ${measured}): choose a location that measures PM2.5`,
    )
  }
  const deviceId = `openaq-${input.locationId}`
  const cursorKey = openaqCursorKey(input.locationId)
  const lastStored = await readCursor(deps, cursorKey)
  const to = input.to ?? floorToStep(deps.clock.now(), HOUR_MS)
  const requested = input.from ?? to - DEFAULT_BACKFILL_MS
  // Resume inside the window asked for; a window wholly before the last stored hour is a backfill, fetched whole.
  const resumed = lastStored !== undefined && lastStored >= requested && lastStored < to
  const from = resumed ? lastStored + HOUR_MS : requested
  if (input.from !== undefined && input.to !== undefined && input.from > input.to) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `--from ${new Date(input.from).toISOString()} is after --to ${new Date(input.to).toISOString()}`,
    )
  }
  await deps.store.describeDevice({
    id: deviceId,
    source,
    name: location.name,
    ...(location.coordinates ? { location: location.coordinates } : {}),
  })

  const report: OpenaqImportReport = {
    locationId: input.locationId,
    locationName: location.name,
    sensorId: sensor.id,
    deviceId,
    from,
    to,
    resumed,
    pages: 0,
    hours: 0,
    stored: 0,
    rejected: 0,
    firstRejections: [],
    lastHour: lastStored,
  }
  if (from >= to) return report

  for (let page = 1; page <= MAX_PAGES; page++) {
    const { value: result } = await withRetry(
      () => input.api.sensorHours(sensor.id, { from, to, page, limit }, input.signal),
      retry(`page ${page} of sensor ${sensor.id}`),
    )
    report.pages = page
    report.hours += result.hours.length
    if (result.hours.length > 0) {
      const records = result.hours.map((hour) =>
        toRecord(hour, deviceId, source, { locationId: input.locationId, sensorId: sensor.id, page }),
      )
      const ingested = await ingestRecords(deps, { source, records })
      report.stored += ingested.accepted
      report.rejected += ingested.rejected
      for (const rejection of ingested.rejections.slice(0, 5 - report.firstRejections.length)) {
        const hour = result.hours.find((h) => h.raw === rejection.payload)
        report.firstRejections.push({
          time: hour?.time === undefined ? '?' : new Date(hour.time).toISOString(),
          reason: rejection.reason,
        })
      }
      // The cursor passes rejected hours too, so an hour without a value is not fetched and rejected again on every run.
      const newest = result.hours.reduce<number | undefined>(
        (max, h) => (h.time !== undefined && (max === undefined || h.time > max) ? h.time : max),
        undefined,
      )
      if (newest !== undefined && (report.lastHour === undefined || newest > report.lastHour)) {
        report.lastHour = newest
        try {
          await deps.store.setState(cursorKey, String(newest))
        } catch (error) {
          throw wrapError(
            error,
            'STORE_UNAVAILABLE',
            `stored page ${page} of OpenAQ location ${input.locationId} but could not save how far it got`,
          )
        }
      }
    }
    const pages = result.found === undefined ? undefined : Math.max(page, Math.ceil(result.found / limit))
    input.onProgress?.({ page, pages, hours: report.hours, stored: report.stored, rejected: report.rejected })
    if (!result.hasMore || input.signal?.aborted) break
  }
  return report
}

function toRecord(
  hour: OpenaqHour,
  deviceId: string,
  source: string,
  meta: Record<string, unknown>,
): IngestRecord {
  if (hour.time === undefined) {
    return {
      raw: hour.raw,
      error: new AirlakeError(
        'TIME_INVALID',
        'the OpenAQ hour has no period.datetimeFrom.utc that reads as a time',
      ),
      meta,
    }
  }
  if (typeof hour.value !== 'number' || !Number.isFinite(hour.value)) {
    return {
      raw: hour.raw,
      error: new AirlakeError(
        'READING_INVALID',
        `OpenAQ gave no PM2.5 value for the hour ${new Date(hour.time).toISOString()} (value ${JSON.stringify(hour.value)})`,
      ),
      meta,
    }
  }
  return {
    raw: hour.raw,
    readings: [{ time: hour.time, deviceId, measure: 'pm25', value: hour.value, source }],
    meta,
  }
}

async function readCursor(deps: IngestDeps, key: string): Promise<TimeMs | undefined> {
  const text = await deps.store.getState(key)
  const time = text === undefined ? Number.NaN : Number(text)
  return Number.isFinite(time) ? time : undefined
}
