/**
 * The bronze writer: every accepted payload, exactly as received, appended to immutable NDJSON segments
 * `bronze/<source>/<yyyy-mm-dd>/<segment>.ndjson` (DESIGN.md section 3) before the sender is answered.
 *
 * One open segment per (source, day) per process; a segment is sealed when its day ends, when it
 * reaches `maxSegmentBytes`, or when the writer closes. Appends to one segment are serialised so lines
 * never interleave, and grouped: while one write (and its fsync) is under way, the payloads that arrive
 * wait together and go down in the next single write, so concurrent requests share one fsync. A write
 * starts on the turn of the event loop after its first payload, so a burst read in one turn goes whole.
 */
import { randomBytes } from 'node:crypto'
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Clock } from '../core/ports/clock.js'
import type { Lake } from '../core/ports/lake.js'
import { DAY_MS, isoDate, type TimeMs } from '../core/time.js'
import type { Reading } from '../core/types.js'

/** One bronze line, as written. */
export interface BronzeLine {
  receivedAt: TimeMs
  source: string
  /** The payload exactly as received (a JSON document, a CSV line, …). */
  raw: string
  /** What was stored from it: [timeMs, deviceId, measure, value]. */
  rows: Array<[TimeMs, string, string, number]>
  meta?: Record<string, unknown> | undefined
}

interface OpenSegment {
  key: string
  /** The receive day, as days since 1970-01-01 (UTC). */
  day: number
  bytes: number
  /** The tail of the append chain: writes to one segment run one after another. */
  tail: Promise<void>
  /** Payloads waiting for the next write, which starts when the current one ends. */
  pending?: { texts: string[]; written: Promise<void> } | undefined
}

const SOURCE_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/

export class BronzeWriter {
  private readonly open = new Map<string, OpenSegment>()
  private readonly segmentTag = `${process.pid}-${randomBytes(3).toString('hex')}`

  constructor(
    private readonly lake: Lake,
    private readonly clock: Clock,
    private readonly options: { maxSegmentBytes?: number } = {},
  ) {}

  /**
   * Appends `lines` to the source's open segment for the receive day; durable when it resolves.
   * Throws LAKE_UNAVAILABLE (from the lake) when the write fails: the caller must not acknowledge.
   */
  async append(source: string, lines: readonly BronzeLine[]): Promise<string | undefined> {
    if (lines.length === 0) return undefined
    if (!SOURCE_PATTERN.test(source))
      throw new Error(`bronze source must match ${SOURCE_PATTERN}, got ${source}`)
    const text = lines.map((line) => JSON.stringify(line)).join('\n') + '\n'
    const segment = await this.segmentFor(source, Buffer.byteLength(text))
    let group = segment.pending
    if (group === undefined) {
      const texts: string[] = []
      const written = segment.tail.then(async () => {
        // On the next turn of the event loop: payloads parsed in this turn (many sockets read at once) join.
        await nextTurn()
        segment.pending = undefined
        return this.lake.append(segment.key, texts.join(''))
      })
      group = { texts, written }
      segment.pending = group
      // Keep the chain alive after a failure so later writes still run (and report their own errors).
      segment.tail = written.catch(() => {})
    }
    group.texts.push(text)
    await group.written
    return segment.key
  }

  private async segmentFor(source: string, bytes: number): Promise<OpenSegment> {
    const now = this.clock.now()
    const day = Math.floor(now / DAY_MS)
    const max = this.options.maxSegmentBytes ?? 64 * 1024 * 1024
    let segment = this.open.get(source)
    if (segment && (segment.day !== day || segment.bytes + bytes > max)) {
      this.open.delete(source)
      const sealed = segment
      await sealed.tail
      await this.lake.seal(sealed.key)
      segment = undefined
    }
    if (!segment) {
      const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace('.', '')
      segment = {
        key: `bronze/${source}/${isoDate(now)}/${stamp}-${this.segmentTag}.ndjson`,
        day,
        bytes: 0,
        tail: Promise.resolve(),
      }
      this.open.set(source, segment)
    }
    segment.bytes += bytes
    return segment
  }

  /** Seals every open segment (on shutdown). */
  async close(): Promise<void> {
    const segments = [...this.open.values()]
    this.open.clear()
    for (const segment of segments) {
      await segment.tail
      await this.lake.seal(segment.key)
    }
  }
}

/** The bronze line for a record that produced `readings`. */
export function bronzeLine(
  source: string,
  receivedAt: TimeMs,
  raw: string,
  readings: readonly Reading[],
  meta?: Record<string, unknown>,
): BronzeLine {
  return {
    receivedAt,
    source,
    raw,
    rows: readings.map((r) => [r.time, r.deviceId, r.measure, r.value]),
    ...(meta ? { meta } : {}),
  }
}
