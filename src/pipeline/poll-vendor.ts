/**
 * Polls the vendor API once: fetches the latest reading of every device, skips the ones already ingested,
 * and sends the rest through the same path as `PUT /sensorsdata` (source `vendor`). Timeouts, 5xx and
 * garbage are retried with exponential backoff and jitter; a rejected token is not.
 *
 * "Nothing stored twice": the newest vendor `ts` (and `id`) ingested per device is kept in the store's
 * state (`<source>:cursor`), so a reading seen again on the next poll is skipped; and readings are
 * upserts on (device, measure, time), so a repeat after a crash between store and cursor is harmless.
 */
import { type AirlakeError, wrapError } from '../core/errors.js'
import { parseTimestamp, type TimeMs } from '../core/time.js'
import { type IngestDeps, ingestJsonItems } from './ingest.js'
import { type RetryOptions, sleepMs, withRetry } from './retry.js'
import type { VendorClient, VendorItem } from './source-adapters.js'
import { checkSource } from './to-silver.js'

export interface VendorPollReport {
  /** Readings the API returned. */
  fetched: number
  /** Readings skipped because they were ingested by an earlier poll. */
  skipped: number
  /** Readings that went through ingestion. */
  received: number
  accepted: number
  rejected: number
  /** Reading rows stored (six per vendor reading). */
  stored: number
  /** HTTP attempts this poll took. */
  attempts: number
}

interface DeviceCursor {
  /** The newest `ts` ingested, UTC ms. */
  time: TimeMs
  id?: string | undefined
}

/**
 * One poll. Throws UPSTREAM_FAILED when the API still fails after the retries (or at once for a bad
 * token); throws STORE_UNAVAILABLE/LAKE_UNAVAILABLE when storage fails (the cursor then stays put, so
 * the next poll takes the readings again).
 */
export async function pollVendorOnce(
  deps: IngestDeps,
  input: {
    client: VendorClient
    source?: string | undefined
    /** Where the per-device cursor is kept; `<source>:cursor` by default (one per configured vendor source). */
    cursorKey?: string | undefined
    retry?: RetryOptions | undefined
    signal?: AbortSignal | undefined
  },
): Promise<VendorPollReport> {
  const source = checkSource(input.source ?? 'vendor')
  const cursorKey = input.cursorKey ?? `${source}:cursor`
  const { value: items, attempts } = await withRetry(
    (attempt) => {
      if (attempt > 1) deps.logger.info('retrying the vendor API', { source, attempt })
      return input.client.latestReadings(input.signal)
    },
    {
      ...input.retry,
      signal: input.signal,
      onRetry: (error, attempt, delayMs) => {
        deps.logger.warn('the vendor API failed; retrying', {
          source,
          attempt,
          delayMs,
          error: (error as Error).message,
        })
        input.retry?.onRetry?.(error, attempt, delayMs)
      },
    },
  )

  const cursors = await readCursors(deps, cursorKey)
  const fresh: VendorItem[] = []
  const advanced = new Map(cursors)
  let skipped = 0
  for (const item of items) {
    const key = cursorOf(item)
    if (key === undefined) {
      fresh.push(item)
      continue
    }
    const last = cursors.get(key.deviceId)
    if (last !== undefined && (key.time < last.time || (key.time === last.time && key.id === last.id))) {
      skipped++
      continue
    }
    fresh.push(item)
    const best = advanced.get(key.deviceId)
    if (best === undefined || key.time >= best.time)
      advanced.set(key.deviceId, { time: key.time, id: key.id })
  }

  const report = await ingestJsonItems(deps, { source, items: fresh })
  const newDevices = [...advanced.keys()].filter((deviceId) => !cursors.has(deviceId))
  if (newDevices.length > 0) await nameDevices(deps, input.client, source, newDevices, input.signal)
  if (fresh.length > 0) {
    try {
      await deps.store.setState(cursorKey, JSON.stringify(Object.fromEntries(advanced)))
    } catch (error) {
      throw wrapError(
        error,
        'STORE_UNAVAILABLE',
        `stored ${report.stored} vendor rows but could not save the poll cursor`,
      )
    }
  }
  return {
    fetched: items.length,
    skipped,
    received: report.received,
    accepted: report.accepted,
    rejected: report.rejected,
    stored: report.stored,
    attempts,
  }
}

/**
 * Gives devices seen for the first time their vendor names (`GET /api/sensor_devices`). Best effort: names
 * are for people, so a failure is logged and the poll still succeeds.
 */
async function nameDevices(
  deps: IngestDeps,
  client: VendorClient,
  source: string,
  deviceIds: readonly string[],
  signal: AbortSignal | undefined,
): Promise<void> {
  try {
    const wanted = new Set(deviceIds)
    for (const device of await client.devices(signal)) {
      if (wanted.has(device.devid) && device.name) {
        await deps.store.describeDevice({ id: device.devid, source, name: device.name })
      }
    }
  } catch (error) {
    deps.logger.warn('could not read the vendor device names; the devices keep their ids as names', {
      source,
      error: String(error),
    })
  }
}

/** The device, time and id of a vendor item, or undefined when it cannot be read (ingestion rejects it). */
function cursorOf(item: VendorItem): { deviceId: string; time: TimeMs; id: string | undefined } | undefined {
  const body = item.body as { devid?: unknown; ts?: unknown; id?: unknown } | null
  if (typeof body !== 'object' || body === null || typeof body.devid !== 'string') return undefined
  try {
    return {
      deviceId: body.devid,
      time: parseTimestamp(body.ts),
      id: body.id === undefined || body.id === null ? undefined : String(body.id),
    }
  } catch {
    return undefined
  }
}

async function readCursors(deps: IngestDeps, key: string): Promise<Map<string, DeviceCursor>> {
  const text = await deps.store.getState(key)
  if (text === undefined) return new Map()
  try {
    const parsed = JSON.parse(text) as Record<string, DeviceCursor>
    return new Map(Object.entries(parsed).filter(([, c]) => typeof c?.time === 'number'))
  } catch (error) {
    deps.logger.warn(
      'the vendor poll cursor is unreadable; starting afresh (readings are upserts, so nothing doubles)',
      {
        key,
        error: String(error),
      },
    )
    return new Map()
  }
}

/**
 * Polls every `intervalMs` (60 s by default) until `signal` aborts; a failed poll is logged and reported
 * through `onPoll`, and the next one still runs. Resolves when stopped.
 */
export async function pollVendorForever(
  deps: IngestDeps,
  input: {
    client: VendorClient
    source?: string | undefined
    cursorKey?: string | undefined
    intervalMs?: number | undefined
    retry?: RetryOptions | undefined
    signal: AbortSignal
    onPoll?: ((result: { report?: VendorPollReport; error?: AirlakeError }) => void) | undefined
  },
): Promise<void> {
  const interval = input.intervalMs ?? 60_000
  while (!input.signal.aborted) {
    const started = Date.now()
    try {
      const report = await pollVendorOnce(deps, input)
      input.onPoll?.({ report })
    } catch (error) {
      if (input.signal.aborted) break
      const failure = wrapError(error, 'UPSTREAM_FAILED', 'the vendor poll failed')
      deps.logger.error('vendor poll failed', { source: input.source ?? 'vendor', error: failure.message })
      input.onPoll?.({ error: failure })
    }
    await sleepMs(Math.max(0, interval - (Date.now() - started)), input.signal)
  }
}
