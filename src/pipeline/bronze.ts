/**
 * The bronze writer: every accepted payload, exactly as received, appended to immutable NDJSON segments
 * `bronze/<source>/<yyyy-mm-dd>/<segment>.ndjson` (DESIGN.md section 3) before the sender is answered.
 *
 * One open segment per (source, day) per process; a segment is sealed when its day ends, when it
 * reaches `maxSegmentBytes`, or when the writer closes; it gets no payload once chosen for sealing, and its
 * name (time, process, sequence) is never reused. Appends to one segment are serialised so lines
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
  /** Writes enqueued so far (a segment never written has no file to seal). */
  writes: number
  /** The tail of the append chain: writes to one segment run one after another. */
  tail: Promise<void>
  /** Payloads waiting for the next write, which starts when the current one ends. */
  pending?: { texts: string[]; written: Promise<void> } | undefined
}

const SOURCE_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/

export class BronzeWriter {
  private readonly open = new Map<string, OpenSegment>()
  private readonly segmentTag = `${process.pid}-${randomBytes(3).toString('hex')}`
  /** Segments opened by this writer: part of each key, so two opened in one millisecond differ. */
  private opened = 0

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
    const bytes = Buffer.byteLength(text)
    const max = this.options.maxSegmentBytes ?? 64 * 1024 * 1024
    for (;;) {
      const now = this.clock.now()
      const day = Math.floor(now / DAY_MS)
      const current = this.open.get(source)
      if (current && (current.day !== day || (current.bytes > 0 && current.bytes + bytes > max))) {
        // Retired at once, so no payload joins it from here on; those arriving meanwhile open the next.
        this.open.delete(source)
        await this.retire(current)
        continue
      }
      // From choosing the segment to joining its write, nothing waits: a segment being retired has every
      // payload it will get already in its chain.
      const segment = current ?? this.openSegment(source, now, day)
      segment.bytes += bytes
      await this.enqueue(segment, text)
      return segment.key
    }
  }

  /** Seals every open segment (on shutdown). */
  async close(): Promise<void> {
    const segments = [...this.open.values()]
    this.open.clear()
    for (const segment of segments) await this.retire(segment)
  }

  private openSegment(source: string, now: TimeMs, day: number): OpenSegment {
    const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace('.', '')
    const sequence = String(++this.opened).padStart(6, '0')
    const segment: OpenSegment = {
      key: `bronze/${source}/${isoDate(now)}/${stamp}-${this.segmentTag}-${sequence}.ndjson`,
      day,
      bytes: 0,
      writes: 0,
      tail: Promise.resolve(),
    }
    this.open.set(source, segment)
    return segment
  }

  /**
   * Adds `text` to the segment's next write; resolves once it is on disk. While one write (and its fsync) is
   * under way, the payloads that arrive wait together for the next; that write starts on the turn of the event
   * loop after its first payload, so a burst read in one turn goes whole.
   */
  private enqueue(segment: OpenSegment, text: string): Promise<void> {
    let group = segment.pending
    if (group === undefined) {
      const texts: string[] = []
      const written = segment.tail.then(async () => {
        await nextTurn()
        segment.pending = undefined
        return this.lake.append(segment.key, texts.join(''))
      })
      group = { texts, written }
      segment.pending = group
      segment.writes++
      // Keep the chain alive after a failure so later writes still run (and report their own errors).
      segment.tail = written.catch(() => {})
    }
    group.texts.push(text)
    return group.written
  }

  /** Waits for the segment's writes, then seals it (one never written has nothing to seal). */
  private async retire(segment: OpenSegment): Promise<void> {
    await segment.tail
    if (segment.writes > 0) await this.lake.seal(segment.key)
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
