/**
 * Real series for model tests and benches: hourly NOx next to a Swiss motorway (data/README.md §1) and the
 * 5-second humidity/temperature motes (§6), cut into windows the way the pipeline does (short gaps
 * interpolated, windows across longer gaps dropped), split chronologically.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ForecastSignature, TrainingBatch } from '../../src/core/model.js'

const DATA = process.env.AIRLAKE_DATA_DIR ?? '/work/shared/data'
const HOUR_MS = 3_600_000

/** Hourly NOx (ppb) with epoch times; missing hours are NaN. */
export function loadNoxHourly(): { times: Float64Array; values: Float64Array } {
  const lines = readFileSync(join(DATA, 'nox_motorway_ch_hourly.csv'), 'utf8').trim().split('\n').slice(1)
  const start = Date.UTC(2004, 0, 1)
  const times = new Float64Array(lines.length)
  const values = new Float64Array(lines.length)
  lines.forEach((line, i) => {
    const cells = line.split(',')
    times[i] = start + Number(cells[0]) * HOUR_MS
    values[i] = cells[5] === '' || cells[5] === undefined ? Number.NaN : Number(cells[5])
  })
  return { times, values }
}

/** One 5-second mote series (humidity or temperature) with synthetic epoch times on its 5 s grid. */
export function loadSensor5s(
  measure: 'humidity' | 'temperature',
  deployment = 'single_hop',
  mote = 3,
): {
  times: Float64Array
  values: Float64Array
} {
  const lines = readFileSync(join(DATA, 'wsn_humidity_temperature_5s_2010.csv'), 'utf8').trim().split('\n')
  const header = lines[0]!.split(',')
  const col = header.indexOf(measure)
  const rows = lines
    .slice(1)
    .map((l) => l.split(','))
    .filter((c) => c[0] === deployment && Number(c[2]) === mote)
  const start = Date.parse(`${rows[0]![1]}T12:00:00Z`)
  return {
    times: Float64Array.from(rows, (c) => start + Number(c[5]) * 1000),
    values: Float64Array.from(rows, (c) => Number(c[col])),
  }
}

/** Fills runs of at most `maxGap` missing values by linear interpolation between their neighbours. */
export function interpolateGaps(values: Float64Array, maxGap: number): Float64Array {
  const out = Float64Array.from(values)
  let i = 0
  while (i < out.length) {
    if (!Number.isNaN(out[i]!)) {
      i++
      continue
    }
    let j = i
    while (j < out.length && Number.isNaN(out[j]!)) j++
    if (i > 0 && j < out.length && j - i <= maxGap) {
      const a = out[i - 1]!
      const b = out[j]!
      for (let k = i; k < j; k++) out[k] = a + ((b - a) * (k - i + 1)) / (j - i + 1)
    }
    i = j
  }
  return out
}

/** Every complete window (L inputs, H targets, no NaN) with stride `stride`, oldest first. */
export function makeWindows(
  series: { times: Float64Array; values: Float64Array },
  signature: Pick<ForecastSignature, 'window' | 'horizon'>,
  stride = 1,
): TrainingBatch {
  const L = signature.window
  const H = signature.horizon
  const starts: number[] = []
  let lastNaN = -1
  const v = series.values
  for (let end = 0; end < v.length; end++) {
    if (Number.isNaN(v[end]!)) lastNaN = end
    const start = end - L - H + 1
    if (start >= 0 && lastNaN < start && start % stride === 0) starts.push(start)
  }
  const n = starts.length
  const windows = new Float64Array(n * L)
  const targets = new Float64Array(n * H)
  const times = new Float64Array(n)
  starts.forEach((s, i) => {
    windows.set(v.subarray(s, s + L), i * L)
    targets.set(v.subarray(s + L, s + L + H), i * H)
    times[i] = series.times[s + L - 1]!
  })
  return { n, windows, targets, times }
}

/** Rows [from, to) of a batch. */
export function sliceBatch(
  batch: TrainingBatch,
  from: number,
  to: number,
  L: number,
  H: number,
): TrainingBatch {
  return {
    n: to - from,
    windows: batch.windows.slice(from * L, to * L),
    targets: batch.targets.slice(from * H, to * H),
    times: batch.times?.slice(from, to),
  }
}

/** Chronological split: the first `fraction` of windows to train, the rest to test. */
export function splitBatch(
  batch: TrainingBatch,
  fraction: number,
  L: number,
  H: number,
): { train: TrainingBatch; test: TrainingBatch } {
  const cut = Math.floor(batch.n * fraction)
  return { train: sliceBatch(batch, 0, cut, L, H), test: sliceBatch(batch, cut, batch.n, L, H) }
}

/** Mean absolute error over all forecasts. */
export function meanAbsoluteError(predictions: Float64Array, targets: Float64Array): number {
  let sum = 0
  for (let i = 0; i < targets.length; i++) sum += Math.abs(predictions[i]! - targets[i]!)
  return sum / targets.length
}

/** The NOx task of the issue: hourly NOx, 168 h -> 24 h, season 24 h, chronological 80/20. */
export function noxTask(options: { stride?: number } = {}): {
  signature: ForecastSignature
  train: TrainingBatch
  test: TrainingBatch
} {
  const signature: ForecastSignature = {
    task: 'forecast',
    measure: 'nox_ppb',
    window: 168,
    horizon: 24,
    stepMs: HOUR_MS,
    seasonSteps: 24,
  }
  const series = loadNoxHourly()
  const batch = makeWindows(
    { times: series.times, values: interpolateGaps(series.values, 3) },
    signature,
    options.stride,
  )
  return { signature, ...splitBatch(batch, 0.8, 168, 24) }
}

/** The 5-second sensor task: 60 -> 15 on one humidity mote, chronological 80/20. */
export function sensorTask(options: { stride?: number; measure?: 'humidity' | 'temperature' } = {}): {
  signature: ForecastSignature
  train: TrainingBatch
  test: TrainingBatch
} {
  const measure = options.measure ?? 'humidity'
  const signature: ForecastSignature = { task: 'forecast', measure, window: 60, horizon: 15, stepMs: 5000 }
  const batch = makeWindows(loadSensor5s(measure), signature, options.stride)
  return { signature, ...splitBatch(batch, 0.8, 60, 15) }
}

/** The IAQ task of seed 002: 60 one-minute values -> the next 15. */
export const IAQ_SIGNATURE: ForecastSignature = {
  task: 'forecast',
  measure: 'iaq',
  window: 60,
  horizon: 15,
  stepMs: 60_000,
}

/**
 * A synthetic IAQ index at minute `minute` (any integer, so live tests and training share one series):
 * two slow waves around 120 plus a small deterministic wobble, within the index's 0..500 range.
 */
export function syntheticIaq(minute: number): number {
  const wobble = Math.sin(minute * 12.9898) * 43758.5453
  return (
    120 +
    40 * Math.sin((2 * Math.PI * minute) / 180) +
    15 * Math.sin((2 * Math.PI * minute) / 47) +
    2 * (wobble - Math.floor(wobble) - 0.5)
  )
}

/**
 * Training windows of {@link syntheticIaq} over `minutes` minutes ending before minute 0 (so a live test
 * that sends minutes from 0 on forecasts data the model did not see), targets shifted by `bias` (a
 * deliberately worse model when not 0).
 */
export function syntheticIaqBatch(
  options: { minutes?: number; bias?: number; stride?: number } = {},
): TrainingBatch {
  const minutes = options.minutes ?? 3000
  const start = -minutes
  const times = new Float64Array(minutes)
  const values = new Float64Array(minutes)
  for (let i = 0; i < minutes; i++) {
    times[i] = (start + i) * 60_000
    values[i] = syntheticIaq(start + i)
  }
  const batch = makeWindows({ times, values }, IAQ_SIGNATURE, options.stride ?? 1)
  if (options.bias) for (let i = 0; i < batch.targets.length; i++) batch.targets[i]! += options.bias
  return batch
}
