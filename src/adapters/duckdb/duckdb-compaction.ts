/**
 * Compaction of the embedded store's readings: each closed day rewritten in device order.
 *
 * Readings arrive in time order from every device at once, so one device's day is spread thinly over the
 * whole day's row groups (one row in about 700 on a 116-device fleet). DuckDB has no clustered index: to
 * read a device-day it decompresses the time, measure and value of every row of that day (a million rows on
 * that fleet), 10 ms a device-day here. Once a day is over its rows hardly change, so they are rewritten
 * sorted by device, time and measure: a device-day then sits in a few consecutive vectors, and the same
 * read takes 4 ms (docs/decisions/003-compacted-days.md).
 *
 * A day is rewritten in pieces of whole devices, each one transaction on the store's writer (delete the
 * piece's rows, insert them back sorted): readers see the day whole before and after, and the writes queued
 * behind a piece wait for it alone, never for the whole day. A day is recorded in `compacted_days` with
 * its row count; it is compacted again only when late readings have grown it by more than
 * `RECOMPACT_GROWTH`.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api'
import type { Logger } from '../../core/ports/logger.js'
import { DAY_MS, HOUR_MS, isoDate, type TimeMs } from '../../core/time.js'
import { ts } from './duckdb-time.js'
import { transaction } from './duckdb-transaction.js'

/** A day is closed this long after it ends (readings of its last minutes may still arrive until then). */
const CLOSED_AFTER_MS = HOUR_MS
/**
 * Most rows rewritten in one transaction (a piece holds whole devices, so one busy device may exceed it):
 * about 100 ms of the writer here, the longest a write queued behind a piece waits.
 */
const PIECE_ROWS = 16_384
/** The share of the writer's time a scheduled pass takes: it rests three times as long as each piece took. */
const SCHEDULED_DUTY = 0.25
/** A compacted day whose rows grew by more than this fraction since is compacted again. */
const RECOMPACT_GROWTH = 0.02
const CHECK_EVERY_MS = HOUR_MS
/** The first check after open: soon, but not inside the start-up everyone is waiting for. */
const FIRST_CHECK_MS = 60 * 1000

/** How a pass runs. */
export interface CompactionOptions {
  /**
   * The most share of the writer's time the pass takes, in (0, 1]: after each piece it rests until the piece
   * is this share of the time since the piece started. 1 (no rest) by default; scheduled passes take 0.25.
   */
  duty?: number
}

/** What one compaction pass did. */
export interface CompactionReport {
  /** Days rewritten, oldest first, as `YYYY-MM-DD`. */
  days: string[]
  /** Readings rewritten. */
  readings: number
  /** Transactions taken (pieces). */
  pieces: number
}

/** How the compactor reaches the store's connections. */
export interface CompactorAccess {
  /** A write on the store's writer lane, in turn with the readings' other writes (so never in conflict). */
  write<T>(what: string, work: (c: DuckDBConnection) => Promise<T>): Promise<T>
  /** A read on one of the store's read connections. */
  read<T>(what: string, work: (c: DuckDBConnection) => Promise<T>): Promise<T>
  /** A checkpoint: the rewritten rows' old copies leave the file, and the scans, only then. */
  checkpoint(): Promise<void>
}

export class Compactor {
  private running: Promise<CompactionReport> | undefined
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(
    private readonly store: CompactorAccess,
    private readonly logger: Logger,
  ) {}

  /** Compacts on a schedule: a minute after this call, then hourly. */
  start(): void {
    const check = (delay: number): void => {
      this.timer = setTimeout(() => {
        this.compact({ duty: SCHEDULED_DUTY })
          .catch((error: unknown) =>
            this.logger.warn('compaction failed; the next pass retries', { error: String(error) }),
          )
          .finally(() => {
            if (!this.stopped) check(CHECK_EVERY_MS)
          })
      }, delay)
      this.timer.unref()
    }
    check(FIRST_CHECK_MS)
  }

  /** Stops the schedule and waits for a running pass to finish its piece. */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running?.catch(() => undefined)
  }

  /**
   * Compacts every closed day that needs it, newest first (the days read most). A pass already running is
   * joined, not repeated.
   */
  compact(options: CompactionOptions = {}): Promise<CompactionReport> {
    const duty = options.duty ?? 1
    if (!(duty > 0 && duty <= 1)) throw new RangeError(`duty must be in (0, 1], is ${duty}`)
    this.running ??= this.pass(duty).finally(() => {
      this.running = undefined
    })
    return this.running
  }

  private async pass(duty: number): Promise<CompactionReport> {
    const report: CompactionReport = { days: [], readings: 0, pieces: 0 }
    const started = performance.now()
    const closedBefore = Math.floor((Date.now() - CLOSED_AFTER_MS) / DAY_MS) * DAY_MS
    for (const day of await this.daysToCompact(closedBefore)) {
      if (this.stopped) break
      const done = await this.compactDay(day, duty)
      report.days.unshift(isoDate(day))
      report.readings += done.readings
      report.pieces += done.pieces
      this.logger.debug('compacted a day of readings', { day: report.days[0], ...done })
    }
    if (report.pieces > 0 && !this.stopped) await this.store.checkpoint()
    if (report.days.length > 0) {
      this.logger.info('compacted closed days of readings', {
        days: report.days.length,
        readings: report.readings,
        pieces: report.pieces,
        seconds: Math.round((performance.now() - started) / 100) / 10,
      })
    }
    return report
  }

  /**
   * Closed days (starting before `closedBefore`) never compacted, or grown by more than `RECOMPACT_GROWTH`
   * since; newest first. Read on a read connection (a scan of the whole table must not hold up the writes);
   * the records of days that no longer hold readings (retention removed them) are forgotten.
   */
  private async daysToCompact(closedBefore: TimeMs): Promise<TimeMs[]> {
    const [held, recorded] = await this.store.read('finding days to compact', async (c) => [
      await rowsOf(c, 'SELECT epoch_ms(time::DATE)::DOUBLE, count(*)::DOUBLE FROM readings GROUP BY 1'),
      await rowsOf(c, 'SELECT epoch_ms(day)::DOUBLE, readings::DOUBLE FROM compacted_days'),
    ])
    const days = new Map(held as Array<[number, number]>)
    const compacted = new Map(recorded as Array<[number, number]>)
    const gone = [...compacted.keys()].filter((day) => !days.has(day))
    if (gone.length > 0) {
      await this.store.write('forgetting compacted days', (c) =>
        c.run(
          `DELETE FROM compacted_days WHERE day IN (${gone.map((_, i) => `$${i + 1}::DATE`).join(', ')})`,
          gone.map(ts),
        ),
      )
    }
    return [...days]
      .filter(([day, rows]) => {
        const before = compacted.get(day)
        return day < closedBefore && (before === undefined || rows > before * (1 + RECOMPACT_GROWTH))
      })
      .map(([day]) => day)
      .sort((a, b) => b - a)
  }

  /** Rewrites one day piece by piece; then records it with its row count. */
  private async compactDay(day: TimeMs, duty: number): Promise<{ readings: number; pieces: number }> {
    const range = [ts(day), ts(day + DAY_MS)]
    const counts = (await this.store.read('counting a day to compact', (c) =>
      rowsOf(
        c,
        `SELECT device_id, count(*)::DOUBLE FROM readings
         WHERE time >= $1 AND time < $2 GROUP BY device_id ORDER BY device_id`,
        range,
      ),
    )) as Array<[string, number]>
    let readings = 0
    let pieces = 0
    for (const [first, last] of devicePieces(counts)) {
      if (this.stopped) return { readings, pieces }
      const started = performance.now()
      readings += await this.store.write('compacting readings', (c) =>
        transaction(c, () => rewritePiece(c, [...range, first, last])),
      )
      pieces++
      if (duty < 1) await sleep(((performance.now() - started) * (1 - duty)) / duty)
    }
    await this.store.write('recording a compacted day', (c) =>
      c.run(
        `INSERT OR REPLACE INTO compacted_days
         SELECT $1::DATE, count(*), $3 FROM readings WHERE time >= $1 AND time < $2`,
        [...range, ts(Date.now())],
      ),
    )
    return { readings, pieces }
  }
}

async function rowsOf(c: DuckDBConnection, sql: string, params?: DuckDBValue[]): Promise<unknown[][]> {
  return (await c.runAndReadAll(sql, params)).getRowsJS()
}

/** Consecutive runs of devices (`[first, last]` ids) of at most `PIECE_ROWS` readings, or one device. */
function devicePieces(counts: ReadonlyArray<[string, number]>): Array<[string, string]> {
  const pieces: Array<[string, string]> = []
  let start = 0
  let rows = 0
  counts.forEach(([, n], i) => {
    if (i > start && rows + n > PIECE_ROWS) {
      pieces.push([counts[start]![0], counts[i - 1]![0]])
      start = i
      rows = 0
    }
    rows += n
  })
  if (counts.length > start) pieces.push([counts[start]![0], counts[counts.length - 1]![0]])
  return pieces
}

/**
 * The piece's rows (`params`: day start, day end, first and last device) deleted and inserted back in the
 * order pages read them (device, newest time first, measure); inside the caller's transaction.
 */
async function rewritePiece(c: DuckDBConnection, params: DuckDBValue[]): Promise<number> {
  const where = 'time >= $1 AND time < $2 AND device_id >= $3 AND device_id <= $4'
  await c.run(
    `CREATE OR REPLACE TEMP TABLE compaction_piece AS SELECT * FROM readings WHERE ${where}`,
    params,
  )
  const deleted = (await c.run(`DELETE FROM readings WHERE ${where}`, params)).rowsChanged
  await c.run('INSERT INTO readings SELECT * FROM compaction_piece ORDER BY device_id, time DESC, measure')
  await c.run('DROP TABLE compaction_piece')
  return Number(deleted)
}
