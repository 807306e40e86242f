/**
 * Plays the demo series as live devices against a running server's public API. Backfills each device's
 * history on first start, then sends one step per `stepMs / speed`; the replay position is saved in the
 * store so a restart resumes where it was (with a gap for the downtime, as a real device would have).
 */
import type { Logger } from '../core/ports/logger.js'
import type { StateStore } from '../core/ports/store.js'
import { floorToStep, type TimeMs } from '../core/time.js'
import { type DemoSeries, rowsAt } from './fleet.js'

export interface ReplayOptions {
  url: string
  apiKey: string
  series: readonly DemoSeries[]
  store: StateStore
  logger: Logger
  /** Replay speed: 1 = real time; 60 = a minute of data every second (reading times then run ahead of the clock). */
  speed: number
  now?: () => TimeMs
  onProgress?: (message: string) => void
}

interface DeviceState {
  /** Next series index to send. */
  index: number
  /** Time stamped on `index`. */
  time: TimeMs
}

const STATE_KEY = 'demo.replay'

export class Replay {
  private timer: NodeJS.Timeout | undefined
  private state: Record<string, DeviceState> = {}
  private readonly startedWall: TimeMs
  private readonly now: () => TimeMs
  private sending = false
  /** Readings sent live since start (for the banner and tests). */
  sent = 0
  failures = 0

  constructor(private readonly options: ReplayOptions) {
    this.now = options.now ?? Date.now
    this.startedWall = this.now()
  }

  /** Loads saved positions, or backfills every device's history (first start). Resolves when the history is stored. */
  async prepare(): Promise<{ backfilled: number; resumed: boolean }> {
    const saved = await this.options.store.getState(STATE_KEY)
    const now = this.now()
    if (saved) {
      const previous = JSON.parse(saved) as Record<string, DeviceState>
      // Re-anchor at the current step: the downtime stays a gap, later points follow on from now.
      for (const series of this.options.series) {
        const index = previous[series.deviceId]?.index ?? series.backfillSteps
        this.state[series.deviceId] = { index, time: floorToStep(now, series.stepMs) + series.stepMs }
      }
      await this.save()
      return { backfilled: 0, resumed: true }
    }
    let backfilled = 0
    for (const series of this.options.series) {
      const end = floorToStep(now, series.stepMs)
      const rows: Array<Record<string, unknown>> = []
      for (let i = 0; i < series.backfillSteps; i++) {
        rows.push(...rowsAt(series, i, end - (series.backfillSteps - 1 - i) * series.stepMs))
      }
      for (let start = 0; start < rows.length; start += 5000) {
        await this.send(rows.slice(start, start + 5000))
      }
      backfilled += rows.length
      this.options.onProgress?.(
        `backfilled ${series.deviceId}: ${rows.length.toLocaleString('en-US')} readings`,
      )
      this.state[series.deviceId] = { index: series.backfillSteps, time: end + series.stepMs }
    }
    await this.save()
    return { backfilled, resumed: false }
  }

  /** Starts sending live readings. */
  start(): void {
    this.timer = setInterval(() => void this.tick(), 250)
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    while (this.sending) await new Promise((resolve) => setTimeout(resolve, 20))
    await this.save()
  }

  /** Sends every point that is due; a point is due when its stamped time, replayed at `speed`, has come. */
  private async tick(): Promise<void> {
    if (this.sending) return
    this.sending = true
    try {
      const elapsed = (this.now() - this.startedWall) * this.options.speed
      const rows: Array<Record<string, unknown>> = []
      for (const series of this.options.series) {
        const state = this.state[series.deviceId]!
        // With speed s, the point stamped t is sent at wall time start + (t - start) / s.
        while (state.time <= this.startedWall + elapsed) {
          rows.push(...rowsAt(series, state.index, state.time))
          state.index = (state.index + 1) % series.length
          state.time += series.stepMs
        }
      }
      if (rows.length > 0) {
        await this.send(rows)
        this.sent += rows.length
        await this.save()
      }
    } catch (error) {
      this.failures++
      this.options.logger.warn('demo device could not send', { error: String(error) })
    } finally {
      this.sending = false
    }
  }

  private async send(rows: ReadonlyArray<Record<string, unknown>>): Promise<void> {
    const response = await fetch(`${this.options.url}/sensorsdata/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', 'x-api-key': this.options.apiKey },
      body: rows.map((row) => JSON.stringify(row)).join('\n'),
    })
    if (!response.ok)
      throw new Error(`POST /sensorsdata/batch answered ${response.status}: ${await response.text()}`)
  }

  private save(): Promise<void> {
    return this.options.store.setState(STATE_KEY, JSON.stringify(this.state))
  }
}
