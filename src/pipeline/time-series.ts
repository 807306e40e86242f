/**
 * Stage 1, time series: readings of one measure resampled onto a regular grid, short gaps interpolated,
 * long gaps left missing (NaN) so no window is ever built across them (DESIGN.md section 6).
 */
import { AirlakeError } from '../core/errors.js'
import type { ReadingStore } from '../core/ports/store.js'
import { floorToStep, type TimeMs } from '../core/time.js'

/** Values on a regular grid: `values[i]` is the mean of the readings in [startMs + i·stepMs, + stepMs); NaN = missing. */
export interface GridSeries {
  startMs: TimeMs
  stepMs: number
  values: Float64Array
}

/** A run of missing grid points longer than the interpolation limit (or at an edge of the series). */
export interface Gap {
  fromMs: TimeMs
  toMs: TimeMs
  steps: number
}

export interface GapReport {
  /** Grid points that had at least one reading. */
  observed: number
  /** Missing points filled by linear interpolation (gaps of at most the limit). */
  interpolated: number
  /** Points left missing. */
  missing: number
  /** The gaps left missing, oldest first. */
  longGaps: Gap[]
}

const STEP_UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
}

/** Parses a grid step such as `5s`, `1m`, `15min`, `1h`, `1d` into ms; throws PARAMETER_INVALID otherwise. */
export function parseStep(text: string): number {
  const match = /^(\d+)(ms|s|m|min|h|d)$/.exec(text.trim())
  const unit = match ? STEP_UNITS[match[2] ?? ''] : undefined
  const count = match ? Number(match[1]) : 0
  if (!match || unit === undefined || count <= 0) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `step must look like 5s, 1m, 15m, 1h or 1d, got ${JSON.stringify(text)}`,
    )
  }
  return count * unit
}

/** `stepMs` written back the way `parseStep` reads it (`3600000` -> `1h`). */
export function formatStep(stepMs: number): string {
  for (const [unit, ms] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (stepMs % ms === 0) return `${stepMs / ms}${unit}`
  }
  return `${stepMs}ms`
}

/**
 * Averages `points` into grid cells of `stepMs` aligned to the epoch, covering [from, to] (both floored
 * to the grid; by default the span of the points). Points outside the span are ignored.
 */
export function resampleToGrid(
  points: ReadonlyArray<{ time: TimeMs; value: number }>,
  options: { stepMs: number; from?: TimeMs | undefined; to?: TimeMs | undefined },
): GridSeries {
  const { stepMs } = options
  if (!(stepMs > 0))
    throw new AirlakeError('PARAMETER_INVALID', `the grid step must be positive, got ${stepMs}`)
  let first = options.from
  let last = options.to
  if (first === undefined || last === undefined) {
    for (const p of points) {
      if (options.from === undefined) first = first === undefined ? p.time : Math.min(first, p.time)
      if (options.to === undefined) last = last === undefined ? p.time : Math.max(last, p.time)
    }
  }
  if (first === undefined || last === undefined || last < first)
    return { startMs: 0, stepMs, values: new Float64Array(0) }
  const startMs = floorToStep(first, stepMs)
  const length = Math.floor((floorToStep(last, stepMs) - startMs) / stepMs) + 1
  const sums = new Float64Array(length)
  const counts = new Uint32Array(length)
  for (const p of points) {
    const i = Math.floor((p.time - startMs) / stepMs)
    if (i < 0 || i >= length || !Number.isFinite(p.value)) continue
    sums[i]! += p.value
    counts[i]! += 1
  }
  const values = new Float64Array(length)
  for (let i = 0; i < length; i++) values[i] = counts[i]! > 0 ? sums[i]! / counts[i]! : Number.NaN
  return { startMs, stepMs, values }
}

/**
 * Fills runs of at most `maxGapSteps` missing points that lie between two known points by linear
 * interpolation; longer runs and runs at either end stay NaN and are reported. Returns a new series.
 */
export function interpolateGaps(
  series: GridSeries,
  maxGapSteps: number,
): { series: GridSeries; report: GapReport } {
  if (!Number.isInteger(maxGapSteps) || maxGapSteps < 0) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `the interpolation limit must be a whole number of steps >= 0, got ${maxGapSteps}`,
    )
  }
  const { startMs, stepMs } = series
  const values = Float64Array.from(series.values)
  const report: GapReport = { observed: 0, interpolated: 0, missing: 0, longGaps: [] }
  let lastKnown = -1
  for (let i = 0; i <= values.length; i++) {
    const known = i < values.length && !Number.isNaN(values[i]!)
    if (i < values.length && !known) continue
    const gap = i - lastKnown - 1
    if (gap > 0) {
      const interior = lastKnown >= 0 && i < values.length
      if (interior && gap <= maxGapSteps) {
        const a = values[lastKnown]!
        const b = values[i]!
        for (let k = 1; k <= gap; k++) values[lastKnown + k] = a + ((b - a) * k) / (gap + 1)
        report.interpolated += gap
      } else {
        report.missing += gap
        report.longGaps.push({
          fromMs: startMs + (lastKnown + 1) * stepMs,
          toMs: startMs + (i - 1) * stepMs,
          steps: gap,
        })
      }
    }
    if (known) report.observed++
    lastKnown = i
  }
  return { series: { startMs, stepMs, values }, report }
}

/** The series a run trains on: the target measure and the device's other measures on the same grid. */
export interface PreparedSeries {
  deviceId: string
  measure: string
  target: GridSeries
  /** Other measures of the device, interpolated with the same limit, keyed by measure. */
  others: Record<string, GridSeries>
  report: GapReport
  /** Readings read for the target measure. */
  readings: number
}

/**
 * Reads `measure` of `deviceId` in [from, to] from the store and puts it on the grid (stage "time series").
 * The other measures of the device are resampled on the same grid for the feature generator.
 * Throws INSUFFICIENT_DATA when the measure has no readings in the range.
 */
export async function prepareSeries(
  store: Pick<ReadingStore, 'readingSeries' | 'listMeasures'>,
  input: {
    deviceId: string
    measure: string
    from: TimeMs
    to: TimeMs
    stepMs: number
    maxGapSteps: number
    otherMeasures?: boolean
  },
): Promise<PreparedSeries> {
  const readings = await store.readingSeries(input.deviceId, input.measure, input.from, input.to)
  if (readings.length === 0) {
    throw new AirlakeError(
      'INSUFFICIENT_DATA',
      `no ${input.measure} readings for device ${input.deviceId} between ${new Date(input.from).toISOString()} and ` +
        `${new Date(input.to).toISOString()}: ingest data first (airlake ingest FILE) or widen --from/--to`,
    )
  }
  const span = { stepMs: input.stepMs, from: readings[0]!.time, to: readings[readings.length - 1]!.time }
  const { series: target, report } = interpolateGaps(resampleToGrid(readings, span), input.maxGapSteps)
  const others: Record<string, GridSeries> = {}
  if (input.otherMeasures !== false) {
    for (const measure of await store.listMeasures(input.deviceId)) {
      if (measure === input.measure) continue
      const rows = await store.readingSeries(input.deviceId, measure, span.from, span.to)
      if (rows.length > 0)
        others[measure] = interpolateGaps(resampleToGrid(rows, span), input.maxGapSteps).series
    }
  }
  return {
    deviceId: input.deviceId,
    measure: input.measure,
    target,
    others,
    report,
    readings: readings.length,
  }
}
