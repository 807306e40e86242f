/**
 * The summaries the embedded store keeps beside its readings: each device's first and last reading time
 * (`devices.first_seen/last_seen`) and each series' newest reading (`latest_readings`).
 *
 * DuckDB stores columns, and updating single rows is its slowest operation: upserting these two tables
 * inside every readings transaction cost more than appending the readings themselves. So the store keeps
 * them in memory, where they are authoritative and read by the port's methods, and writes them behind:
 * the changed entries of many transactions together, at most every `FLUSH_INTERVAL_MS`, in chunks. Their tables lag by
 * at most that much for readers of the raw SQL (`/query`, Grafana).
 *
 * A crash between a readings commit and the next summary write would leave the tables short, so a marker
 * in the `state` table says whether they were written in full at the last close; when it says not, they
 * are rebuilt from `readings` at open (one aggregate query).
 */
import type { DuckDBConnection } from '@duckdb/node-api'
import type { TimeMs } from '../../core/time.js'
import type { Reading } from '../../core/types.js'
import { appendRows } from './duckdb-append.js'
import { ts } from './duckdb-time.js'

/** How long summary changes may wait before they are written. */
export const FLUSH_INTERVAL_MS = 2000
/**
 * Entries per summary write: a fleet's worth of changes goes down in several short transactions, so the
 * writes queued behind one (readings, forecasts) wait milliseconds, not tens of them.
 */
export const FLUSH_CHUNK = 500

const MARKER = 'duckdb.summaries'
const CLEAN = 'clean'

export interface DeviceSpan {
  source: string
  first: TimeMs
  last: TimeMs
}

export class Summaries {
  /** Newest reading per `device\0measure`. */
  private readonly latest = new Map<string, Reading>()
  private readonly spans = new Map<string, DeviceSpan>()
  private readonly dirtyLatest = new Set<string>()
  private readonly dirtyDevices = new Set<string>()
  /**
   * The `latest` key of each device and measure, made once: joining a new string per row written (and hashing
   * it) cost more than the rest of `apply`.
   */
  private readonly keys = new Map<string, Map<string, string>>()

  /**
   * Loads the summaries, rebuilding their tables from `readings` first when the last process did not close
   * them cleanly; then marks them open (a crash from here on is detected by the next open).
   */
  static async load(c: DuckDBConnection): Promise<Summaries> {
    const summaries = new Summaries()
    const marker = await c.runAndReadAll('SELECT value FROM state WHERE key = $1', [MARKER])
    const state = marker.getRows()[0]?.[0]
    // No marker: a store written before summaries were kept in memory, maintained in every transaction.
    if (state !== undefined && state !== CLEAN) await rebuildSummaries(c)
    const latest = await c.runAndReadAll(
      'SELECT device_id, measure, epoch_ms(time)::DOUBLE, value, source FROM latest_readings',
    )
    for (const [deviceId, measure, time, value, source] of latest.getRows()) {
      const reading: Reading = {
        deviceId: String(deviceId),
        measure: String(measure),
        time: Number(time),
        value: Number(value),
        source: String(source),
      }
      summaries.latest.set(summaries.keyOf(reading), reading)
    }
    const devices = await c.runAndReadAll(
      `SELECT id, source, epoch_ms(first_seen)::DOUBLE, epoch_ms(last_seen)::DOUBLE FROM devices
       WHERE first_seen IS NOT NULL`,
    )
    for (const [id, source, first, last] of devices.getRows()) {
      summaries.spans.set(String(id), { source: String(source), first: Number(first), last: Number(last) })
    }
    await setMarker(c, 'open')
    return summaries
  }

  /** Takes committed readings into account. */
  apply(rows: readonly Reading[]): void {
    for (const r of rows) {
      const key = this.keyOf(r)
      const kept = this.latest.get(key)
      if (kept === undefined || r.time >= kept.time) {
        this.latest.set(key, r)
        this.dirtyLatest.add(key)
      }
      const span = this.spans.get(r.deviceId)
      if (span === undefined) {
        this.spans.set(r.deviceId, { source: r.source, first: r.time, last: r.time })
        this.dirtyDevices.add(r.deviceId)
      } else if (r.time < span.first || r.time > span.last) {
        span.first = Math.min(span.first, r.time)
        span.last = Math.max(span.last, r.time)
        this.dirtyDevices.add(r.deviceId)
      }
    }
  }

  private keyOf(r: Reading): string {
    let byMeasure = this.keys.get(r.deviceId)
    if (byMeasure === undefined) {
      byMeasure = new Map()
      this.keys.set(r.deviceId, byMeasure)
    }
    let key = byMeasure.get(r.measure)
    if (key === undefined) {
      key = seriesKey(r)
      byMeasure.set(r.measure, key)
    }
    return key
  }

  /** Forgets the newest readings older than `time` (their rows were deleted with the readings). */
  forgetBefore(time: TimeMs): void {
    for (const [key, reading] of this.latest) {
      if (reading.time < time) {
        this.latest.delete(key)
        this.dirtyLatest.delete(key)
      }
    }
  }

  /** The newest reading of every series, ordered by device and measure. */
  latestReadings(): Reading[] {
    return [...this.latest.values()].sort(
      (a, b) => compare(a.deviceId, b.deviceId) || compare(a.measure, b.measure),
    )
  }

  /**
   * The measures with a reading (of one device, or of any), sorted. One device's are looked up by its own
   * keys (every page of `GET /sensorsdata` asks), not by a pass over the fleet's series.
   */
  measures(deviceId?: string): string[] {
    const names = new Set<string>()
    if (deviceId === undefined) for (const r of this.latest.values()) names.add(r.measure)
    else {
      for (const [measure, key] of this.keys.get(deviceId) ?? []) if (this.latest.has(key)) names.add(measure)
    }
    return [...names].sort(compare)
  }

  span(deviceId: string): DeviceSpan | undefined {
    return this.spans.get(deviceId)
  }

  /** Devices with readings, by id. */
  deviceIds(): string[] {
    return [...this.spans.keys()]
  }

  get dirty(): boolean {
    return this.dirtyCount > 0
  }

  /** Entries of the larger table still to write. */
  get dirtyCount(): number {
    return Math.max(this.dirtyLatest.size, this.dirtyDevices.size)
  }

  /** Creates the connection's staging tables for `flush` (temporary: visible to that connection only). */
  static async prepare(c: DuckDBConnection): Promise<void> {
    await c.run(`CREATE TEMP TABLE IF NOT EXISTS latest_stage (
      time TIMESTAMP, device_id VARCHAR, measure VARCHAR, value DOUBLE, source VARCHAR)`)
    await c.run(`CREATE TEMP TABLE IF NOT EXISTS devices_stage (
      id VARCHAR, source VARCHAR, first_seen TIMESTAMP, last_seen TIMESTAMP)`)
  }

  /**
   * Writes up to `limit` changed entries of each table in one transaction (stages appended, then one upsert
   * per table); the rest stay dirty, as does an entry changed again while this runs.
   */
  async flush(c: DuckDBConnection, limit = Number.POSITIVE_INFINITY): Promise<void> {
    if (!this.dirty) return
    const latest = take(this.dirtyLatest, limit).flatMap((key) => {
      const reading = this.latest.get(key)
      return reading === undefined ? [] : [reading]
    })
    const devices = take(this.dirtyDevices, limit).flatMap((id) => {
      const span = this.spans.get(id)
      return span === undefined ? [] : [{ id, ...span }]
    })
    try {
      await c.run('BEGIN TRANSACTION')
      await appendRows(c, 'devices_stage', 'temp', devices, (a, d) => {
        a.appendVarchar(d.id)
        a.appendVarchar(d.source)
        a.appendTimestamp(ts(d.first))
        a.appendTimestamp(ts(d.last))
      })
      await appendRows(c, 'latest_stage', 'temp', latest, (a, r) => {
        a.appendTimestamp(ts(r.time))
        a.appendVarchar(r.deviceId)
        a.appendVarchar(r.measure)
        a.appendDouble(r.value)
        a.appendVarchar(r.source)
      })
      await c.run(
        `INSERT INTO devices (id, source, first_seen, last_seen) SELECT * FROM devices_stage
         ON CONFLICT (id) DO UPDATE SET
           first_seen = least(coalesce(devices.first_seen, excluded.first_seen), excluded.first_seen),
           last_seen = greatest(coalesce(devices.last_seen, excluded.last_seen), excluded.last_seen);
         INSERT INTO latest_readings (device_id, measure, time, value, source)
         SELECT device_id, measure, time, value, source FROM latest_stage
         ON CONFLICT (device_id, measure) DO UPDATE SET
           time = excluded.time, value = excluded.value, source = excluded.source
         WHERE excluded.time >= latest_readings.time;
         DELETE FROM devices_stage;
         DELETE FROM latest_stage;
         COMMIT`,
      )
    } catch (error) {
      await c.run('ROLLBACK').catch(() => undefined)
      // Still to write: mark them again (newer changes may have joined them meanwhile).
      for (const r of latest) this.dirtyLatest.add(this.keyOf(r))
      for (const d of devices) this.dirtyDevices.add(d.id)
      throw error
    }
  }

  /** Writes what is left and marks the tables complete; the store is closing. */
  async close(c: DuckDBConnection): Promise<void> {
    await this.flush(c)
    await setMarker(c, CLEAN)
  }
}

/**
 * Recomputes both summary tables from the readings: after a crash, and after readings were loaded around
 * the store (the benchmarks' appender).
 */
export async function rebuildSummaries(c: DuckDBConnection): Promise<void> {
  await c.run('BEGIN TRANSACTION')
  try {
    await c.run(
      `DELETE FROM latest_readings;
       INSERT INTO latest_readings
       SELECT device_id, measure, max(time), arg_max(value, time), arg_max(source, time)
       FROM readings GROUP BY device_id, measure;
       INSERT INTO devices (id, source, first_seen, last_seen)
       SELECT device_id, arg_min(source, time), min(time), max(time) FROM readings GROUP BY device_id
       ON CONFLICT (id) DO UPDATE SET first_seen = excluded.first_seen, last_seen = excluded.last_seen;
       COMMIT`,
    )
  } catch (error) {
    await c.run('ROLLBACK').catch(() => undefined)
    throw error
  }
}

async function setMarker(c: DuckDBConnection, value: string): Promise<void> {
  await c.run(
    'INSERT INTO state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    [MARKER, value],
  )
}

/** Removes and returns up to `limit` entries of `set`, oldest first. */
function take(set: Set<string>, limit: number): string[] {
  const taken: string[] = []
  for (const entry of set) {
    if (taken.length >= limit) break
    taken.push(entry)
  }
  for (const entry of taken) set.delete(entry)
  return taken
}

function seriesKey(r: Pick<Reading, 'deviceId' | 'measure'>): string {
  return `${r.deviceId}\u0000${r.measure}`
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
