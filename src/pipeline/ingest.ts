/**
 * The one ingestion path. HTTP, MQTT, the vendor poller, OpenAQ and files all end here, so every
 * reading gets the same checks, lands in bronze before it is acknowledged, and nothing that arrives is
 * dropped silently: each record is either stored or kept in `rejected` with its reason.
 */
import { AirlakeError, wrapError } from '../core/errors.js'
import type { Bus } from '../core/ports/bus.js'
import type { Clock } from '../core/ports/clock.js'
import type { Logger } from '../core/ports/logger.js'
import type { Store } from '../core/ports/store.js'
import { checkPhysicalLimits } from '../core/quality-limits.js'
import { readingsFromPayload } from '../core/readings.js'
import { lastPerSeriesKey } from '../core/store-rows.js'
import type { Reading, Rejection } from '../core/types.js'
import { type BronzeLine, type BronzeWriter, bronzeLine } from './bronze.js'

export interface IngestDeps {
  store: Store
  bus: Bus
  clock: Clock
  logger: Logger
  bronze: BronzeWriter
}

/** One input record: the exact raw text received (kept in bronze or `rejected`) and what it parsed to. */
export type IngestRecord =
  | { raw: string; readings: Reading[]; meta?: Record<string, unknown> | undefined }
  | { raw: string; error: AirlakeError; meta?: Record<string, unknown> | undefined }

export interface IngestReport {
  /** Records received. */
  received: number
  /** Records with at least one reading stored. */
  accepted: number
  /** Records (or single impossible values) rejected; one rejection each. */
  rejected: number
  /** Reading rows written to the store. */
  stored: number
  readings: readonly Reading[]
  rejections: Rejection[]
}

/**
 * Checks physical limits, appends accepted records to bronze (durable), upserts their readings, stores
 * rejections with their reasons and publishes `readings.stored`.
 *
 * A record whose readings are all impossible is rejected whole; one with some impossible values keeps
 * the others and rejects each impossible value separately. Never throws for bad input; throws
 * LAKE_UNAVAILABLE or STORE_UNAVAILABLE when storage fails (then nothing is acknowledged).
 */
export async function ingestRecords(
  deps: IngestDeps,
  input: { source: string; records: readonly IngestRecord[] },
): Promise<IngestReport> {
  const receivedAt = deps.clock.now()
  const readings: Reading[] = []
  const rejections: Rejection[] = []
  const bronze: BronzeLine[] = []
  let accepted = 0

  for (const record of input.records) {
    if ('error' in record) {
      rejections.push(rejection(input.source, receivedAt, record.raw, record.error))
      continue
    }
    const good: Reading[] = []
    for (const reading of record.readings) {
      const reason = checkPhysicalLimits(reading)
      if (reason === undefined) good.push(reading)
      else
        rejections.push(
          rejection(
            input.source,
            receivedAt,
            record.raw,
            new AirlakeError('READING_IMPOSSIBLE', `${reading.deviceId}: ${reason}`),
          ),
        )
    }
    if (good.length === 0) continue
    accepted++
    readings.push(...good)
    bronze.push(bronzeLine(input.source, receivedAt, record.raw, good, record.meta))
  }

  // The last of several readings of one (device, measure, time) wins, in arrival order otherwise.
  const unique = lastPerSeriesKey(readings, (r) => r.measure)
  try {
    await deps.bronze.append(input.source, bronze)
  } catch (error) {
    throw wrapError(
      error,
      'LAKE_UNAVAILABLE',
      `could not append ${bronze.length} records of ${input.source} to bronze`,
    )
  }
  let stored = 0
  if (unique.length > 0) stored = (await deps.store.writeReadings(unique)).stored
  if (rejections.length > 0) await deps.store.writeRejections(rejections)

  if (unique.length > 0) {
    // Publishing must not fail an ingest that is already durable: forecasts are best effort.
    await deps.bus.publish('readings.stored', { source: input.source, readings: unique }).catch((error) => {
      deps.logger.warn('could not publish readings.stored', { source: input.source, error: String(error) })
    })
  }
  return {
    received: input.records.length,
    accepted,
    rejected: rejections.length,
    stored,
    readings: unique,
    rejections,
  }
}

/**
 * Parses JSON items (vendor objects `{"devid","ts","readings":[7]}` or long rows
 * `{"time","device","measure","value"}`) and ingests them. `deviceHint` (an MQTT topic's device) fills a
 * long row without a device and must match a vendor object's `devid` when both are given.
 */
export async function ingestJsonItems(
  deps: IngestDeps,
  input: { source: string; items: ReadonlyArray<{ raw: string; body: unknown }>; deviceHint?: string },
): Promise<IngestReport> {
  const records = input.items.map(({ raw, body }): IngestRecord => {
    try {
      const withDevice = withDeviceHint(body, input.deviceHint)
      return { raw, readings: readingsFromPayload(withDevice, input.source) }
    } catch (error) {
      return { raw, error: asInputError(error) }
    }
  })
  return ingestRecords(deps, { source: input.source, records })
}

/** Splits a request body into JSON items: an array, NDJSON lines, or one object. Broken JSON is an item with its error. */
export function jsonItemsFromText(
  text: string,
): Array<{ raw: string; body: unknown } | { raw: string; error: AirlakeError }> {
  const trimmed = text.trim()
  if (trimmed.startsWith('[')) {
    let parsed: unknown
    try {
      parsed = JSON.parse(trimmed)
    } catch (error) {
      return [{ raw: text, error: brokenJson(error) }]
    }
    return (parsed as unknown[]).map((body) => ({ raw: JSON.stringify(body), body }))
  }
  const lines = trimmed.split(/\r?\n/).filter((line) => line.trim() !== '')
  return lines.map((raw) => {
    try {
      return { raw, body: JSON.parse(raw) as unknown }
    } catch (error) {
      return { raw, error: brokenJson(error) }
    }
  })
}

function brokenJson(error: unknown): AirlakeError {
  return new AirlakeError(
    'BAD_REQUEST',
    `the body is not valid JSON (${(error as Error).message}): send a JSON object`,
  )
}

function withDeviceHint(body: unknown, deviceHint: string | undefined): unknown {
  if (deviceHint === undefined || typeof body !== 'object' || body === null || Array.isArray(body))
    return body
  const record = body as Record<string, unknown>
  if ('readings' in record) {
    if (record.devid !== undefined && String(record.devid) !== deviceHint) {
      throw new AirlakeError(
        'READING_INVALID',
        `devid ${JSON.stringify(record.devid)} differs from the device ${JSON.stringify(deviceHint)} of the topic: publish to the device's own topic`,
      )
    }
    return { ...record, devid: record.devid ?? deviceHint }
  }
  const hasDevice = ['device', 'device_id', 'deviceId', 'devid'].some((k) => record[k] !== undefined)
  return hasDevice ? record : { ...record, device: deviceHint }
}

function asInputError(error: unknown): AirlakeError {
  if (error instanceof AirlakeError) return error
  return new AirlakeError('READING_INVALID', `the record could not be read: ${String(error)}`, {
    cause: error,
  })
}

function rejection(source: string, receivedAt: number, raw: string, error: AirlakeError): Rejection {
  return { receivedAt, source, reason: error.message, code: error.code, payload: raw }
}
