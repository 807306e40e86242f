/**
 * The live forecaster (DESIGN.md section 6, seed 002): on every stored reading of a measure that has a
 * serving model, the device's last window is taken from the store on the model's grid, every candidate
 * forecasts it, the bandit's choice is written to `predictions` as `<measure>~<h>` at the next H steps,
 * and every candidate's forecast is kept in shadow until its actual arrives and is scored.
 *
 * It listens on the bus (`readings.stored`, work-queue group `forecast`), so ingestion never waits for
 * it and never fails because of it. Bursts are coalesced per (device, measure): while one forecast is in
 * flight, later readings of that series merge into one pending job that forecasts from the newest
 * reading. Errors are counted and logged, never thrown back to the bus.
 *
 * The write of the chosen forecast ends a batch's critical path; scoring and keeping shadows follow it.
 * With the series cache on (one forecasting process), shadows live in memory and are also saved to the
 * store, behind the batch, when their selector has several candidates, so a restart still scores them;
 * without it (several workers) they go through the store before the message is acknowledged.
 *
 * `h` counts grid steps: `iaq~5` at time t is the value for t forecast 5 steps (5 minutes on the IAQ
 * task's 1-minute grid, 5 hours on an hourly grid) earlier, from the window ending at t − 5 steps.
 */
import type { ForecastSignature } from '../core/model.js'
import type { Bus, BusTopics } from '../core/ports/bus.js'
import type { Clock } from '../core/ports/clock.js'
import type { Logger } from '../core/ports/logger.js'
import type { ShadowForecast, Store } from '../core/ports/store.js'
import { floorToStep, type TimeMs } from '../core/time.js'
import type { Prediction, Reading } from '../core/types.js'
import { type Selector, scoreForecasts, seriesScale } from './select.js'
import type { ModelServer, ServedModel } from './serving.js'

/** A point of a series: time (ms) and value. */
export interface SeriesPoint {
  time: TimeMs
  value: number
}

export type WindowResult = { ok: true; values: Float64Array } | { ok: false; reason: string }

/**
 * The L values of a series on the grid ending at `end` (`end − (L−1)·step … end`), oldest first.
 * `series` is sorted by time and may hold points before the window (for interpolating its start) and
 * after `end`. A grid point takes the observation at that time, else the linear interpolation of its
 * neighbours; past the last observation it repeats the last value (a short tail gap, as the seed
 * padded late data), before the first it repeats the first. Any gap — between neighbours, at the tail
 * or at the head — longer than `maxGapSteps` steps makes the window unusable: a forecast from a mostly
 * invented window would be served as if it were real.
 */
export function buildWindow(
  series: readonly SeriesPoint[],
  options: { end: TimeMs; window: number; stepMs: number; maxGapSteps: number },
): WindowResult {
  const { end, window, stepMs } = options
  const maxGapMs = options.maxGapSteps * stepMs
  const values = new Float64Array(window)
  let next = 0
  for (let i = 0; i < window; i++) {
    const at = end - (window - 1 - i) * stepMs
    while (next < series.length && series[next]!.time < at) next++
    const after = series[next]
    const before = next > 0 ? series[next - 1] : undefined
    if (after !== undefined && after.time === at) {
      values[i] = after.value
    } else if (before !== undefined && after !== undefined) {
      if (after.time - before.time > maxGapMs) {
        return {
          ok: false,
          reason: `a gap of ${gapSteps(after.time - before.time, stepMs)} steps before ${new Date(after.time).toISOString()}`,
        }
      }
      values[i] =
        before.value + ((after.value - before.value) * (at - before.time)) / (after.time - before.time)
    } else if (before !== undefined) {
      if (at - before.time > maxGapMs) {
        return { ok: false, reason: `no value for the last ${gapSteps(end - before.time, stepMs)} steps` }
      }
      values[i] = before.value
    } else if (after !== undefined) {
      if (after.time - at > maxGapMs) {
        return {
          ok: false,
          reason: `history starts ${gapSteps(after.time - at, stepMs)} steps into the window`,
        }
      }
      values[i] = after.value
    } else {
      return { ok: false, reason: 'no values in the window' }
    }
  }
  return { ok: true, values }
}

function gapSteps(ms: number, stepMs: number): string {
  return (ms / stepMs).toFixed(ms % stepMs === 0 ? 0 : 1)
}

/** Prediction rows of one forecast: `<measure>~<h>` at `end + h·step`, h = 1..H. */
export function predictionRows(input: {
  deviceId: string
  signature: ForecastSignature
  end: TimeMs
  forecast: ArrayLike<number>
  modelVersion: string
  issuedAt: TimeMs
}): Prediction[] {
  const { signature } = input
  const rows: Prediction[] = new Array(signature.horizon)
  for (let h = 1; h <= signature.horizon; h++) {
    rows[h - 1] = {
      time: input.end + h * signature.stepMs,
      deviceId: input.deviceId,
      measureName: `${signature.measure}~${h}`,
      value: input.forecast[h - 1]!,
      modelVersion: input.modelVersion,
      issuedAt: input.issuedAt,
    }
  }
  return rows
}

/** A configured selector: a named bandit over a fixed set of arms for some devices' measure. */
export interface SelectorConfig {
  /** Selector key, shown by GET /selection. */
  name: string
  measure: string
  /** Devices it applies to; all devices when absent. */
  deviceIds?: readonly string[] | undefined
  /** `<model>@<alias|version>` refs, resolved on every forecast (so an alias follows promotions). */
  arms: readonly string[]
}

export interface ForecasterDeps {
  store: Pick<
    Store,
    | 'readingSeries'
    | 'writePredictions'
    | 'writeShadowForecasts'
    | 'takeShadowForecasts'
    | 'deleteShadowForecastsBefore'
    | 'listArms'
  >
  bus: Bus
  clock: Clock
  logger: Logger
  serving: ModelServer
  selector: Selector
}

export interface ForecasterOptions {
  /** Longest gap (in grid steps) bridged when building a window; default L/4 (15 for the IAQ task). */
  maxGapSteps?: number | undefined
  /** Most series forecast in one batch (one store write for all their predictions); default 512. */
  maxBatch?: number | undefined
  /** Fixed arm sets; other series get the default selector (see `selectorOf`). */
  selectors?: readonly SelectorConfig[] | undefined
  /** Most actuals scored per series per batch (a bulk load of old readings scores its newest); default 60. */
  maxScoredPerJob?: number | undefined
  /**
   * Keep each series' recent readings and the shadow forecasts issued in memory, reading the store only
   * for a series' first window, for out-of-order readings and after a restart. Right when this process
   * sees every `readings.stored` message (the in-process bus, or one forecasting worker); several workers
   * sharing the `forecast` group must turn it off. Default: on for the in-process bus.
   */
  cacheSeries?: boolean | undefined
}

/** Counters for /metrics (monotonic since start). */
export interface ForecastMetrics {
  /** Readings received of measures that have a serving model. */
  readings: number
  /** Forecast jobs run (one per series per batch). */
  jobs: number
  /** Bursts merged into a queued job of the same series (their forecast is made from the newer reading). */
  coalesced: number
  /** Forecasts written to predictions (each H rows). */
  forecasts: number
  predictionRows: number
  shadowRows: number
  /** Actuals scored against shadow forecasts. */
  scored: number
  /** Jobs skipped because the window had too long a gap. */
  skipped: number
  /** Jobs or candidate forecasts that failed (logged). */
  errors: number
  /** Store reads of a series (cache misses when the cache is on). */
  storeReads: number
}

interface Job {
  key: string
  deviceId: string
  measure: string
  /** Newest reading time in the burst: the window ends there. */
  latest: TimeMs
  /** Actuals to score: time -> value. */
  actuals: Map<TimeMs, number>
  done: Promise<void>
  resolve: () => void
}

/** What the forecaster remembers of a series (cache on). */
interface SeriesState {
  /** Readings, sorted by time. */
  points: SeriesPoint[]
  /** Every stored reading of the series at or after this time is in `points`. */
  coveredFrom: TimeMs
  /** Shadow forecasts issued by this process and not yet scored, by predicted time. */
  shadows: Map<TimeMs, ShadowForecast[]>
  /** Actuals up to this time may have shadows issued before this process started: take those from the store. */
  coldUntil: TimeMs
}

interface Plan {
  job: Job
  selector: string
  arms: ServedModel[]
  series: SeriesPoint[]
  windows: Map<string, { end: TimeMs; result: WindowResult }>
  forecasts: Map<string, Float64Array>
}

/**
 * The default selector key: `<measure>` when the candidates are shared models (one bandit for every
 * device they serve), `<device>/<measure>` when the device has models of its own.
 */
export function selectorOf(deviceId: string, measure: string, arms: readonly ServedModel[]): string {
  const own = arms.length > 0 && arms.every((arm) => arm.model.startsWith(`${deviceId}.${measure}.`))
  return own ? `${deviceId}/${measure}` : measure
}

/** The live forecaster; one per process. `start` subscribes, `stop` unsubscribes and waits. */
export class Forecaster {
  private readonly pending = new Map<string, Job>()
  private readonly series = new Map<string, SeriesState>()
  private running: Promise<void> | undefined
  /** Batches whose actuals are still to score and shadows to save (cache on), and that work in flight. */
  private behind: Array<{ plans: Plan[]; durable: ShadowForecast[] }> = []
  private saving: Promise<void> | undefined
  private idleWaiters: Array<() => void> = []
  private unsubscribe: (() => void) | undefined
  private readonly counters: ForecastMetrics = {
    readings: 0,
    jobs: 0,
    coalesced: 0,
    forecasts: 0,
    predictionRows: 0,
    shadowRows: 0,
    scored: 0,
    skipped: 0,
    errors: 0,
    storeReads: 0,
  }
  private readonly maxBatch: number
  private readonly maxScored: number
  private readonly cache: boolean
  /** Newest reading time seen, and when scored shadows were last cleaned from the store. */
  private newestSeen = Number.NEGATIVE_INFINITY
  private cleanedAt = Number.NEGATIVE_INFINITY
  private horizonMs = 0
  /** Whether an earlier process may have left shadow forecasts in the store (it left bandit arms). */
  private resumed = true

  constructor(
    private readonly deps: ForecasterDeps,
    private readonly options: ForecasterOptions = {},
  ) {
    this.maxBatch = Math.max(1, options.maxBatch ?? 512)
    this.maxScored = Math.max(1, options.maxScoredPerJob ?? 60)
    this.cache = options.cacheSeries ?? deps.bus.kind === 'in-process'
  }

  /** Subscribes to `readings.stored` (group `forecast`) after loading the serving aliases. */
  async start(): Promise<void> {
    await this.deps.serving.start()
    this.resumed = (await this.deps.store.listArms()).length > 0
    if (this.unsubscribe === undefined) {
      this.unsubscribe = this.deps.bus.subscribe('readings.stored', (message) => this.accept(message), {
        group: 'forecast',
      })
    }
  }

  /** Unsubscribes and waits for queued and running forecasts to finish, their shadows and rewards to be saved. */
  async stop(): Promise<void> {
    this.unsubscribe?.()
    this.unsubscribe = undefined
    await this.idle()
    await this.deps.selector.flush()
  }

  /** Resolves when nothing is queued, running or being saved. */
  idle(): Promise<void> {
    if (this.running === undefined && this.pending.size === 0 && this.saving === undefined)
      return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /** A copy of the counters. */
  metrics(): ForecastMetrics {
    return { ...this.counters }
  }

  /**
   * Takes a `readings.stored` message: queues a forecast for each (device, measure) with a serving
   * model. Resolves when those forecasts are written (so a bus acknowledges after the work); never
   * rejects: failures are counted and logged.
   */
  accept(message: BusTopics['readings.stored']): Promise<void> {
    const served = this.deps.serving.servedMeasures()
    const configured = this.options.selectors ?? []
    const groups = new Map<string, Reading[]>()
    for (const reading of message.readings) {
      if (!served.has(reading.measure) && !configured.some((s) => s.measure === reading.measure)) continue
      const key = `${reading.deviceId}\u0000${reading.measure}`
      const group = groups.get(key)
      if (group === undefined) groups.set(key, [reading])
      else group.push(reading)
    }
    const waits: Promise<void>[] = []
    for (const [key, readings] of groups) {
      this.counters.readings += readings.length
      const state = this.series.get(key)
      if (state !== undefined)
        for (const reading of readings)
          insertPoint(state.points, { time: reading.time, value: reading.value })
      let job = this.pending.get(key)
      if (job === undefined) {
        let resolve!: () => void
        const done = new Promise<void>((r) => {
          resolve = r
        })
        const first = readings[0]!
        job = {
          key,
          deviceId: first.deviceId,
          measure: first.measure,
          latest: Number.NEGATIVE_INFINITY,
          actuals: new Map(),
          done,
          resolve,
        }
        this.pending.set(key, job)
      } else {
        this.counters.coalesced += 1
      }
      for (const reading of readings) {
        job.latest = Math.max(job.latest, reading.time)
        job.actuals.set(reading.time, reading.value)
        this.newestSeen = Math.max(this.newestSeen, reading.time)
      }
      if (job.actuals.size > this.maxScored) {
        const keep = [...job.actuals.keys()].sort((a, b) => b - a).slice(0, this.maxScored)
        const actuals = job.actuals
        job.actuals = new Map(keep.map((time) => [time, actuals.get(time)!]))
      }
      waits.push(job.done)
    }
    this.pump()
    return Promise.all(waits).then(() => undefined)
  }

  /** Runs one batch at a time: every series queued since the last batch started (at most `maxBatch`). */
  private pump(): void {
    if (this.running !== undefined) return
    if (this.pending.size === 0) {
      if (this.saving !== undefined) return
      const waiters = this.idleWaiters
      this.idleWaiters = []
      for (const wake of waiters) wake()
      return
    }
    const jobs: Job[] = []
    for (const [key, job] of this.pending) {
      if (jobs.length >= this.maxBatch) break
      jobs.push(job)
      this.pending.delete(key)
    }
    this.running = this.runBatch(jobs)
      .catch((error: unknown) => {
        this.counters.errors += jobs.length
        this.deps.logger.error('forecast batch failed', { series: jobs.length, error: String(error) })
      })
      .finally(() => {
        for (const job of jobs) job.resolve()
        this.running = undefined
        this.pump()
      })
  }

  /**
   * One batch: forecast every series, write the chosen forecasts (the latency that matters ends there),
   * then score the batch's actuals against earlier shadow forecasts and keep the new ones (behind the
   * batch when the cache is on). A choice may so use rewards one batch old: later, not wrong.
   */
  private async runBatch(jobs: Job[]): Promise<void> {
    const planned = await Promise.all(jobs.map((job) => this.plan(job)))
    const plans = planned.filter((plan): plan is Plan => plan !== undefined)
    if (plans.length === 0) return
    this.counters.jobs += plans.length

    await this.forecastAll(plans)

    const issuedAt = this.deps.clock.now()
    const predictions: Prediction[] = []
    const shadows: ShadowForecast[] = []
    /** Shadows another process may need: after a restart, or (cache off) a fellow worker. */
    const durable: ShadowForecast[] = []
    const written: Array<BusTopics['predictions.written']> = []
    for (const plan of plans) {
      const good = plan.arms.filter((arm) => plan.forecasts.has(arm.arm))
      if (good.length === 0) continue
      // A lone candidate is scored (GET /selection shows its reward) but there is nothing to choose
      // between, so its shadows need not outlive this process.
      const keep = !this.cache || plan.arms.length > 1
      const choice = await this.deps.selector.choose(
        plan.selector,
        good.map((arm) => arm.arm),
      )
      for (const arm of good) {
        const forecast = plan.forecasts.get(arm.arm)!
        const end = floorToStep(plan.job.latest, arm.signature.stepMs)
        if (arm.arm === choice.arm) {
          const rows = predictionRows({
            deviceId: plan.job.deviceId,
            signature: arm.signature,
            end,
            forecast,
            modelVersion: arm.arm,
            issuedAt,
          })
          predictions.push(...rows)
          written.push({
            deviceId: plan.job.deviceId,
            measure: plan.job.measure,
            modelVersion: arm.arm,
            predictions: rows,
          })
        }
        for (let h = 1; h <= arm.signature.horizon; h++) {
          const shadow: ShadowForecast = {
            selector: plan.selector,
            deviceId: plan.job.deviceId,
            measure: plan.job.measure,
            time: end + h * arm.signature.stepMs,
            horizon: h,
            arm: arm.arm,
            value: forecast[h - 1]!,
            issuedAt,
          }
          shadows.push(shadow)
          if (keep) durable.push(shadow)
        }
      }
    }

    if (predictions.length > 0) {
      await this.deps.store.writePredictions(predictions)
      this.counters.forecasts += written.length
      this.counters.predictionRows += predictions.length
      await Promise.all(
        written.map((message) =>
          this.deps.bus
            .publish('predictions.written', message)
            .catch((error: unknown) =>
              this.deps.logger.warn('could not publish predictions.written', { error: String(error) }),
            ),
        ),
      )
    }
    this.counters.shadowRows += shadows.length
    if (!this.cache) {
      // Fellow workers score from the store: it must hold everything before the next message.
      await this.scoreActuals(plans)
      if (durable.length > 0) await this.deps.store.writeShadowForecasts(durable)
      return
    }
    for (const shadow of shadows) {
      const state = this.series.get(`${shadow.deviceId}\u0000${shadow.measure}`)
      if (state === undefined) continue
      const list = state.shadows.get(shadow.time)
      if (list === undefined) state.shadows.set(shadow.time, [shadow])
      else list.push(shadow)
    }
    // Scoring and saving shadows happen behind the batch: the next forecasts need not wait for them.
    this.behind.push({ plans, durable })
    this.workBehind()
  }

  /**
   * Scores the actuals of the batches done since the last call (in order, rewards of one arm summed into
   * one write) and saves their shadows, one call at a time; failures are counted and logged.
   */
  private workBehind(): void {
    if (this.saving !== undefined || this.behind.length === 0) return
    const work = this.behind
    this.behind = []
    const rows = work.flatMap((batch) => batch.durable)
    this.saving = this.scoreActuals(work.flatMap((batch) => batch.plans))
      .catch((error: unknown) => {
        this.counters.errors++
        this.deps.logger.error('could not score actuals', { error: String(error) })
      })
      .then(async () => {
        if (rows.length === 0) return
        await this.deps.store.writeShadowForecasts(rows)
        await this.cleanStoredShadows()
      })
      .catch((error: unknown) => {
        this.counters.errors++
        this.deps.logger.error('could not save shadow forecasts', { rows: rows.length, error: String(error) })
      })
      .finally(() => {
        this.saving = undefined
        if (this.behind.length > 0) this.workBehind()
        else this.pump()
      })
  }

  /** Candidates, selector and the series for a job; undefined when no model serves it (or it failed). */
  private async plan(job: Job): Promise<Plan | undefined> {
    try {
      const { selector, arms } = await this.candidatesOf(job.deviceId, job.measure)
      if (arms.length === 0) return undefined
      for (const arm of arms)
        this.horizonMs = Math.max(this.horizonMs, arm.signature.horizon * arm.signature.stepMs)
      const series = await this.seriesFor(job, arms)
      return { job, selector, arms, series, windows: new Map(), forecasts: new Map() }
    } catch (error) {
      this.counters.errors++
      this.deps.logger.error('forecast failed', {
        device: job.deviceId,
        measure: job.measure,
        error: String(error),
      })
      return undefined
    }
  }

  private async candidatesOf(
    deviceId: string,
    measure: string,
  ): Promise<{ selector: string; arms: ServedModel[] }> {
    const config = (this.options.selectors ?? []).find(
      (s) => s.measure === measure && (s.deviceIds === undefined || s.deviceIds.includes(deviceId)),
    )
    const arms =
      config === undefined
        ? [...(await this.deps.serving.candidates(deviceId, measure))]
        : await this.resolveAll(config.arms)
    const selector = config?.name ?? selectorOf(deviceId, measure, arms)
    const pinned = await this.deps.selector.pinned(selector)
    if (pinned !== undefined && !arms.some((arm) => arm.arm === pinned)) {
      try {
        arms.push(await this.deps.serving.resolve(pinned))
      } catch (error) {
        this.counters.errors++
        this.deps.logger.warn('pinned arm cannot be served; using the bandit', {
          selector,
          arm: pinned,
          error: String(error),
        })
      }
    }
    return { selector, arms: arms.filter((arm) => arm.signature.measure === measure) }
  }

  private async resolveAll(refs: readonly string[]): Promise<ServedModel[]> {
    const arms: ServedModel[] = []
    for (const ref of refs) {
      try {
        const arm = await this.deps.serving.resolve(ref)
        if (!arms.some((a) => a.arm === arm.arm)) arms.push(arm)
      } catch (error) {
        this.counters.errors++
        this.deps.logger.warn('configured arm cannot be resolved', { ref, error: String(error) })
      }
    }
    return arms
  }

  private gapSteps(signature: ForecastSignature): number {
    return this.options.maxGapSteps ?? Math.max(1, Math.floor(signature.window / 4))
  }

  /** The readings the job's windows need, from memory when it covers them, else from the store. */
  private async seriesFor(job: Job, arms: readonly ServedModel[]): Promise<SeriesPoint[]> {
    const from = Math.min(
      ...arms.map(
        (a) =>
          floorToStep(job.latest, a.signature.stepMs) -
          (a.signature.window - 1 + this.gapSteps(a.signature)) * a.signature.stepMs,
      ),
    )
    const read = async (): Promise<SeriesPoint[]> => {
      this.counters.storeReads++
      const rows = await this.deps.store.readingSeries(job.deviceId, job.measure, from, job.latest)
      return rows.map((row) => ({ time: row.time, value: row.value }))
    }
    if (!this.cache) return read()

    let state = this.series.get(job.key)
    if (state === undefined) {
      const coldUntil = this.resumed ? job.latest + this.horizonMs : Number.NEGATIVE_INFINITY
      state = { points: [], coveredFrom: Number.POSITIVE_INFINITY, shadows: new Map(), coldUntil }
      this.series.set(job.key, state)
    }
    if (state.coveredFrom > from) {
      const stored = await read()
      // Readings that arrived during the read are already in `points`; they are newer than the read's view.
      const merged = [...state.points]
      for (const point of stored) if (!merged.some((p) => p.time === point.time)) insertPoint(merged, point)
      state.points = merged
      state.coveredFrom = Math.min(state.coveredFrom, from)
    }
    // Keep what the next windows need: the window, the gap allowance and the horizon.
    const keepFrom = from - this.horizonMs
    if (state.points.length > 0 && state.points[0]!.time < keepFrom) {
      const first = state.points.findIndex((p) => p.time >= keepFrom)
      state.points = first < 0 ? [] : state.points.slice(first)
      state.coveredFrom = Math.max(state.coveredFrom, keepFrom)
    }
    for (const time of state.shadows.keys()) if (time < keepFrom) state.shadows.delete(time)
    return state.points.filter((p) => p.time >= from && p.time <= job.latest)
  }

  /** Scores the shadow forecasts of each actual in the batch and rewards their arms. */
  private async scoreActuals(plans: readonly Plan[]): Promise<void> {
    const rewards = new Map<string, Array<{ arm: string; reward: number }>>()
    for (const plan of plans) {
      const { job } = plan
      const state = this.series.get(job.key)
      for (const [time, actual] of job.actuals) {
        let shadows: ShadowForecast[] = []
        if (state !== undefined) {
          shadows = state.shadows.get(time) ?? []
          state.shadows.delete(time)
        }
        if (state === undefined || time <= state.coldUntil) {
          const stored = await this.deps.store.takeShadowForecasts(job.deviceId, job.measure, time)
          const seen = new Set(shadows.map(shadowKey))
          shadows = [...shadows, ...stored.filter((shadow) => !seen.has(shadowKey(shadow)))]
        }
        if (shadows.length === 0) continue
        const scale = seriesScale(
          plan.series.filter((point) => point.time <= time).map((point) => point.value),
        )
        // Forecasts issued under different selectors (a configuration change) are scored apart.
        const bySelector = new Map<string, ShadowForecast[]>()
        for (const shadow of shadows)
          bySelector.set(shadow.selector, [...(bySelector.get(shadow.selector) ?? []), shadow])
        for (const [name, forecasts] of bySelector) {
          const scored = scoreForecasts(forecasts, actual, scale)
          if (scored.length === 0) continue
          const list = rewards.get(name) ?? []
          list.push(...scored)
          rewards.set(name, list)
          this.counters.scored++
        }
      }
    }
    for (const [selector, list] of rewards) await this.deps.selector.reward(selector, list)
  }

  /** Builds every window and forecasts them, one `predict` call per arm for the whole batch. */
  private async forecastAll(plans: readonly Plan[]): Promise<void> {
    const byArm = new Map<string, { arm: ServedModel; plans: Plan[] }>()
    for (const plan of plans) {
      for (const arm of plan.arms) {
        const { window, stepMs } = arm.signature
        const gridKey = `${window}/${stepMs}`
        let built = plan.windows.get(gridKey)
        if (built === undefined) {
          const end = floorToStep(plan.job.latest, stepMs)
          built = {
            end,
            result: buildWindow(plan.series, {
              end,
              window,
              stepMs,
              maxGapSteps: this.gapSteps(arm.signature),
            }),
          }
          plan.windows.set(gridKey, built)
        }
        if (!built.result.ok) continue
        const group = byArm.get(arm.arm) ?? { arm, plans: [] }
        group.plans.push(plan)
        byArm.set(arm.arm, group)
      }
    }
    for (const plan of plans) {
      const incomplete = [...plan.windows.values()].find((w) => !w.result.ok)
      if (
        incomplete !== undefined &&
        !incomplete.result.ok &&
        ![...plan.windows.values()].some((w) => w.result.ok)
      ) {
        this.counters.skipped++
        this.deps.logger.debug('forecast skipped: window incomplete', {
          device: plan.job.deviceId,
          measure: plan.job.measure,
          reason: incomplete.result.reason,
        })
      }
    }
    await Promise.all(
      [...byArm.values()].map(async ({ arm, plans: group }) => {
        const { window, stepMs, horizon } = arm.signature
        const windows = new Float64Array(group.length * window)
        const times = new Float64Array(group.length)
        group.forEach((plan, i) => {
          const built = plan.windows.get(`${window}/${stepMs}`)!
          if (built.result.ok) windows.set(built.result.values, i * window)
          times[i] = built.end
        })
        try {
          const forecasts = await this.deps.serving.predict(arm, { n: group.length, windows, times })
          for (const [i, plan] of group.entries())
            plan.forecasts.set(arm.arm, forecasts.slice(i * horizon, (i + 1) * horizon))
        } catch (error) {
          this.counters.errors++
          this.deps.logger.error('candidate forecast failed', {
            arm: arm.arm,
            windows: group.length,
            error: String(error),
          })
        }
      }),
    )
  }

  /** Drops scored shadows from the store (they only guard against a restart) once the fleet is past them. */
  private async cleanStoredShadows(): Promise<void> {
    if (this.horizonMs === 0 || this.newestSeen - this.cleanedAt < this.horizonMs) return
    this.cleanedAt = this.newestSeen
    await this.deps.store.deleteShadowForecastsBefore(this.newestSeen - 2 * this.horizonMs)
  }
}

function shadowKey(shadow: ShadowForecast): string {
  return `${shadow.selector}\u0000${shadow.arm}\u0000${shadow.horizon}`
}

/** Inserts `point` keeping `points` sorted by time; a point at an existing time replaces it. */
function insertPoint(points: SeriesPoint[], point: SeriesPoint): void {
  let i = points.length
  while (i > 0 && points[i - 1]!.time > point.time) i--
  if (i > 0 && points[i - 1]!.time === point.time) points[i - 1] = point
  else points.splice(i, 0, point)
}
