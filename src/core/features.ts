/**
 * Pure feature derivation shared by the forecasting models and the pipeline's feature-generator stage.
 *
 * A {@link FeatureSpec} is fitted once on training windows (scale, base forecast per horizon step) and
 * recorded in every artifact, so training and serving derive the same features from a window:
 * level, recent lags, rolling means and standard deviations, seasonal lags (same time one and more
 * seasons ago), the mean seasonal profile, and calendar terms from `times`. Models predict the residual
 * of the target against the spec's base forecast, in units of the spec's scale.
 *
 * Also here, because adapters may import only core: the window check every model runs
 * (SIGNATURE_MISMATCH), column standardisation, the tabular encoding of classification rows, a seeded
 * random generator, and an exact text encoding of Float64 arrays for JSON artifacts.
 */
import { AirlakeError } from './errors.js'
import type { ClassificationSignature, ForecastSignature, TabularBatch, WindowBatch } from './model.js'
import { DAY_MS } from './time.js'

/** How a horizon step's base forecast is made: last value, same phase one season earlier, the mean
 * seasonal profile over the window, or the training mean. */
export type BaseKind = 'last' | 'seasonal' | 'profile' | 'mean'

/** A fitted, JSON-serialisable description of how windows become features and targets become residuals. */
export interface FeatureSpec {
  version: 1
  window: number
  horizon: number
  stepMs: number
  /** Season length in steps, when the window holds at least one whole season. */
  seasonSteps?: number | undefined
  /** Value transform applied before everything else (`log1p` for positive skewed series like NOx). */
  transform: 'none' | 'log1p'
  /** Training mean and standard deviation of transformed window values. */
  center: number
  scale: number
  /** The last `lags` values, relative to the last value (the first is the level itself). */
  lags: number
  /** Rolling mean (relative to the last value) and standard deviation over the last `span` values. */
  spans: number[]
  /** Season multiples k: for each horizon step h the value at t + h − k·S, where inside the window. */
  seasonalLags: number[]
  /** For each horizon step, the mean over every whole season in the window at that phase. */
  profile: boolean
  /** Hour-of-day and day-of-week terms from `times` (filled with their expected values when absent). */
  calendar: boolean
  /** Base forecast per horizon step (length `horizon`). */
  base: BaseKind[]
}

/** Choices for {@link fitFeatureSpec}; everything omitted gets a default suited to the signature. */
export interface FeatureOptions {
  transform?: 'none' | 'log1p' | 'auto'
  lags?: number
  spans?: number[]
  seasonalLags?: number[]
  profile?: boolean
  calendar?: boolean
  /** One base for every step, or `auto`: per step, whichever has the lowest training MAE. */
  base?: BaseKind | 'auto'
}

/** Rows of a dense matrix: row-major `n × d`. */
export interface FeatureMatrix {
  n: number
  d: number
  x: Float64Array
}

/**
 * Throws SIGNATURE_MISMATCH unless `batch` holds `n` windows of exactly `signature.window` finite values
 * (and `n` times when `times` is given).
 */
export function checkWindows(batch: WindowBatch, signature: Pick<ForecastSignature, 'window'>): void {
  const { n, windows, times } = batch
  const L = signature.window
  if (!Number.isInteger(n) || n < 0) {
    throw new AirlakeError('SIGNATURE_MISMATCH', `window count must be a whole number >= 0, got ${n}`)
  }
  if (windows.length !== n * L) {
    const got =
      n > 0 && windows.length % n === 0 ? `${windows.length / n}` : `${windows.length} values for ${n}`
    throw new AirlakeError(
      'SIGNATURE_MISMATCH',
      `the model expects windows of ${L} values (n × ${L} = ${n * L}), got ${got}; send the last ${L} values of the series`,
    )
  }
  if (times !== undefined && times.length !== n) {
    throw new AirlakeError(
      'SIGNATURE_MISMATCH',
      `times must hold one time per window (${n}), got ${times.length}`,
    )
  }
  for (let i = 0; i < windows.length; i++) {
    if (!Number.isFinite(windows[i]!)) {
      throw new AirlakeError(
        'SIGNATURE_MISMATCH',
        `window ${Math.floor(i / L)} has a missing or non-finite value at position ${i % L}; interpolate gaps before forecasting`,
      )
    }
  }
}

/** Throws SIGNATURE_MISMATCH unless `targets` is `n × horizon` finite values. */
export function checkTargets(n: number, targets: Float64Array, horizon: number): void {
  if (targets.length !== n * horizon) {
    throw new AirlakeError(
      'SIGNATURE_MISMATCH',
      `targets must be n × ${horizon} = ${n * horizon} values, got ${targets.length}`,
    )
  }
  for (let i = 0; i < targets.length; i++) {
    if (!Number.isFinite(targets[i]!)) {
      throw new AirlakeError(
        'SIGNATURE_MISMATCH',
        `target ${Math.floor(i / horizon)} has a missing value at step ${(i % horizon) + 1}`,
      )
    }
  }
}

/** The season inside the window, or undefined when the signature has none or it does not fit. */
function seasonIn(signature: ForecastSignature): number | undefined {
  const s = signature.seasonSteps
  return s !== undefined && Number.isInteger(s) && s >= 1 && s <= signature.window ? s : undefined
}

function applyTransform(v: number, transform: FeatureSpec['transform']): number {
  return transform === 'log1p' ? Math.log1p(v) : v
}

function invertTransform(v: number, transform: FeatureSpec['transform']): number {
  return transform === 'log1p' ? Math.expm1(v) : v
}

/** Index in the window of the value one or more whole seasons before horizon step `h` (1-based). */
function seasonalIndex(L: number, h: number, season: number): number {
  return L - 1 + h - Math.ceil(h / season) * season
}

/**
 * Fits a spec on training windows: the transform, the scale, and (when `targets` are given and the base
 * is `auto`) the base per horizon step. Throws INSUFFICIENT_DATA for an empty batch.
 */
export function fitFeatureSpec(
  data: WindowBatch & { targets?: Float64Array | undefined },
  signature: ForecastSignature,
  options: FeatureOptions = {},
): FeatureSpec {
  checkWindows(data, signature)
  const { n, windows } = data
  const L = signature.window
  const H = signature.horizon
  if (n === 0)
    throw new AirlakeError(
      'INSUFFICIENT_DATA',
      'no training windows: collect more data or shorten the window',
    )
  if (data.targets !== undefined) checkTargets(n, data.targets, H)
  const season = seasonIn(signature)

  let transform: FeatureSpec['transform'] = options.transform === 'log1p' ? 'log1p' : 'none'
  if (options.transform === 'log1p' || options.transform === 'auto') {
    let min = Number.POSITIVE_INFINITY
    for (const v of windows) min = Math.min(min, v)
    if (options.transform === 'log1p' && min <= -1) {
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `transform log1p needs values > -1; the training minimum is ${min}`,
      )
    }
    if (options.transform === 'auto') transform = min >= 0 && skewness(windows) > 1 ? 'log1p' : 'none'
  }
  let sum = 0
  let sumSq = 0
  for (const v of windows) {
    const t = applyTransform(v, transform)
    sum += t
    sumSq += t * t
  }
  const center = sum / windows.length
  const variance = Math.max(0, sumSq / windows.length - center * center)
  const scale = variance > 0 ? Math.sqrt(variance) : 1

  const defaultLags = Math.min(L, season !== undefined ? Math.max(season, 12) : Math.min(L, 24))
  const lags = clampInt(options.lags ?? defaultLags, 1, L, 'lags')
  const spans = (options.spans ?? [3, 6, 12, 24, 48, 168, L])
    .filter((s) => s >= 2 && s <= L)
    .filter((s, i, all) => all.indexOf(s) === i)
    .sort((a, b) => a - b)
  const seasonalLags =
    season === undefined
      ? []
      : (options.seasonalLags ?? [1, 2, 7]).filter(
          (k) => Number.isInteger(k) && k >= 1 && seasonalIndexFor(L, 1, k, season) >= 0,
        )
  const profile = season !== undefined && (options.profile ?? true)
  // Hour-of-day and weekday terms only when the data cover at least two whole days: on a few hours they
  // are confounded with the trend and extrapolate wildly at the next hour.
  const calendar =
    (options.calendar ?? true) &&
    data.times !== undefined &&
    signature.stepMs < DAY_MS &&
    timeSpan(data.times) >= MIN_CALENDAR_SPAN_MS

  const spec: FeatureSpec = {
    version: 1,
    window: L,
    horizon: H,
    stepMs: signature.stepMs,
    seasonSteps: season,
    transform,
    center,
    scale,
    lags,
    spans,
    seasonalLags,
    profile,
    calendar,
    base: new Array<BaseKind>(H).fill('last'),
  }
  const kinds: BaseKind[] = season === undefined ? ['last', 'mean'] : ['last', 'seasonal', 'profile', 'mean']
  const wanted = options.base ?? 'auto'
  if (wanted !== 'auto') {
    if (!kinds.includes(wanted)) {
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `base ${wanted} needs a season within the window (seasonSteps <= window)`,
      )
    }
    spec.base.fill(wanted)
  } else if (data.targets !== undefined) {
    const errors = kinds.map((kind) =>
      baseErrors(data, data.targets!, { ...spec, base: spec.base.map(() => kind) }),
    )
    for (let h = 0; h < H; h++) {
      let best = 0
      for (let k = 1; k < kinds.length; k++) if (errors[k]![h]! < errors[best]![h]!) best = k
      spec.base[h] = kinds[best]!
    }
  }
  return spec
}

function seasonalIndexFor(L: number, h: number, k: number, season: number): number {
  return L - 1 + h - k * season
}

function clampInt(v: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < min)
    throw new AirlakeError('PARAMETER_INVALID', `${what} must be a whole number >= ${min}, got ${v}`)
  return Math.min(v, max)
}

function skewness(values: Float64Array): number {
  let mean = 0
  for (const v of values) mean += v
  mean /= values.length
  let m2 = 0
  let m3 = 0
  for (const v of values) {
    const d = v - mean
    m2 += d * d
    m3 += d * d * d
  }
  m2 /= values.length
  m3 /= values.length
  return m2 > 0 ? m3 / m2 ** 1.5 : 0
}

/** Mean absolute error per horizon step of the spec's base forecast, in transformed units. */
function baseErrors(batch: WindowBatch, targets: Float64Array, spec: FeatureSpec): Float64Array {
  const base = baseForecast(batch, spec)
  const H = spec.horizon
  const errors = new Float64Array(H)
  for (let i = 0; i < base.length; i++) {
    errors[i % H]! += Math.abs(applyTransform(targets[i]!, spec.transform) - base[i]!)
  }
  return errors
}

/** The base forecast, n × H, in transformed units (before the scale). */
export function baseForecast(batch: WindowBatch, spec: FeatureSpec): Float64Array {
  const { n, windows } = batch
  const L = spec.window
  const H = spec.horizon
  const S = spec.seasonSteps
  const out = new Float64Array(n * H)
  for (let i = 0; i < n; i++) {
    const o = i * L
    const last = applyTransform(windows[o + L - 1]!, spec.transform)
    for (let h = 1; h <= H; h++) {
      const kind = spec.base[h - 1]!
      let v = last
      if (kind === 'mean') v = spec.center
      else if (kind === 'seasonal' && S !== undefined)
        v = applyTransform(windows[o + seasonalIndex(L, h, S)]!, spec.transform)
      else if (kind === 'profile' && S !== undefined) v = profileValue(windows, o, L, h, S, spec.transform)
      out[i * H + h - 1] = v
    }
  }
  return out
}

function profileValue(
  windows: Float64Array,
  offset: number,
  L: number,
  h: number,
  S: number,
  transform: FeatureSpec['transform'],
): number {
  let sum = 0
  let count = 0
  for (let idx = seasonalIndex(L, h, S); idx >= 0; idx -= S) {
    sum += applyTransform(windows[offset + idx]!, transform)
    count++
  }
  return sum / count
}

/**
 * Training targets as residuals against the base, in units of the scale: (T(y) − base) / scale, n × H.
 * Throws SIGNATURE_MISMATCH when the shapes do not fit the spec.
 */
export function residualTargets(batch: WindowBatch, targets: Float64Array, spec: FeatureSpec): Float64Array {
  checkWindows(batch, spec)
  checkTargets(batch.n, targets, spec.horizon)
  const base = baseForecast(batch, spec)
  for (let i = 0; i < base.length; i++) {
    base[i] = (applyTransform(targets[i]!, spec.transform) - base[i]!) / spec.scale
  }
  return base
}

/** Forecasts from predicted residuals: T⁻¹(base + scale · r), n × H (the inverse of {@link residualTargets}). */
export function forecastFromResiduals(
  batch: WindowBatch,
  residuals: ArrayLike<number>,
  spec: FeatureSpec,
): Float64Array {
  const base = baseForecast(batch, spec)
  if (residuals.length !== base.length) {
    throw new AirlakeError(
      'INTERNAL',
      `model produced ${residuals.length} values for ${base.length} forecasts`,
    )
  }
  for (let i = 0; i < base.length; i++) {
    base[i] = invertTransform(base[i]! + spec.scale * residuals[i]!, spec.transform)
  }
  return base
}

/** Names of the columns {@link windowFeatures} produces, in order. */
export function featureNames(spec: FeatureSpec): string[] {
  const names = ['level']
  for (let i = 1; i < spec.lags; i++) names.push(`lag_${i}`)
  for (const span of spec.spans) names.push(`mean_${span}`, `std_${span}`)
  for (const k of spec.seasonalLags) {
    for (let h = 1; h <= spec.horizon; h++)
      if (seasonalIndexFor(spec.window, h, k, spec.seasonSteps!) >= 0) names.push(`season_${k}_h${h}`)
  }
  if (spec.profile) for (let h = 1; h <= spec.horizon; h++) names.push(`profile_h${h}`)
  if (spec.calendar)
    names.push(
      'hour_sin',
      'hour_cos',
      'hour2_sin',
      'hour2_cos',
      'weekday_sin',
      'weekday_cos',
      'weekend_now',
      'weekend_end',
    )
  return names
}

/**
 * Features of each window, n × featureNames(spec).length, row-major. Values are in units of the spec's
 * scale; everything but `level` (the last value, centred) and the standard deviations is relative to the
 * last value, so models generalise across series levels. Calendar terms use `times` (the time of each
 * window's last value); without times they take their expected values (0 for sine/cosine, 2/7 for
 * weekend flags). Throws SIGNATURE_MISMATCH when the windows do not fit the spec.
 */
export function windowFeatures(batch: WindowBatch, spec: FeatureSpec): FeatureMatrix {
  checkWindows(batch, spec)
  const { n, windows, times } = batch
  const L = spec.window
  const H = spec.horizon
  const S = spec.seasonSteps
  const d = featureNames(spec).length
  const x = new Float64Array(n * d)
  const row = new Float64Array(L)
  const inv = 1 / spec.scale
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < L; j++) row[j] = applyTransform(windows[i * L + j]!, spec.transform)
    const last = row[L - 1]!
    let c = i * d
    x[c++] = (last - spec.center) * inv
    for (let lag = 1; lag < spec.lags; lag++) x[c++] = (row[L - 1 - lag]! - last) * inv
    for (const span of spec.spans) {
      let sum = 0
      let sumSq = 0
      for (let j = L - span; j < L; j++) {
        sum += row[j]!
        sumSq += row[j]! * row[j]!
      }
      const mean = sum / span
      x[c++] = (mean - last) * inv
      x[c++] = Math.sqrt(Math.max(0, sumSq / span - mean * mean)) * inv
    }
    for (const k of spec.seasonalLags) {
      for (let h = 1; h <= H; h++) {
        const idx = seasonalIndexFor(L, h, k, S!)
        if (idx >= 0) x[c++] = (row[idx]! - last) * inv
      }
    }
    if (spec.profile) {
      for (let h = 1; h <= H; h++) {
        let sum = 0
        let count = 0
        for (let idx = seasonalIndex(L, h, S!); idx >= 0; idx -= S!) {
          sum += row[idx]!
          count++
        }
        x[c++] = (sum / count - last) * inv
      }
    }
    if (spec.calendar) {
      const t = times?.[i]
      if (t === undefined) {
        x.fill(0, c, c + 6)
        c += 6
        x[c++] = 2 / 7
        x[c++] = 2 / 7
      } else {
        const hour = (2 * Math.PI * (((t % DAY_MS) + DAY_MS) % DAY_MS)) / DAY_MS
        const weekday = (2 * Math.PI * weekdayOf(t)) / 7
        x[c++] = Math.sin(hour)
        x[c++] = Math.cos(hour)
        x[c++] = Math.sin(2 * hour)
        x[c++] = Math.cos(2 * hour)
        x[c++] = Math.sin(weekday)
        x[c++] = Math.cos(weekday)
        x[c++] = isWeekend(t + spec.stepMs) ? 1 : 0
        x[c++] = isWeekend(t + H * spec.stepMs) ? 1 : 0
      }
    }
  }
  return { n, d, x }
}

/** Day of week of a UTC time, 0 = Sunday. */
function weekdayOf(time: number): number {
  // 1970-01-01 was a Thursday (4).
  return (((Math.floor(time / DAY_MS) + 4) % 7) + 7) % 7
}

function isWeekend(time: number): boolean {
  const day = weekdayOf(time)
  return day === 0 || day === 6
}

/**
 * Windows in the spec's normalised units, n × L: (T(x) − last) / scale, relative to each window's last
 * value, for sequence models. The last column is therefore 0; use the `level` feature for the level.
 */
export function relativeWindows(batch: WindowBatch, spec: FeatureSpec): Float64Array {
  checkWindows(batch, spec)
  const { n, windows } = batch
  const L = spec.window
  const out = new Float64Array(n * L)
  for (let i = 0; i < n; i++) {
    const last = applyTransform(windows[i * L + L - 1]!, spec.transform)
    for (let j = 0; j < L; j++)
      out[i * L + j] = (applyTransform(windows[i * L + j]!, spec.transform) - last) / spec.scale
  }
  return out
}

/** Per-column mean and standard deviation (1 for constant columns), for standardising a feature matrix. */
export interface ColumnStats {
  mean: number[]
  std: number[]
}

/** Column means and standard deviations of a matrix. */
export function fitColumnStats(m: FeatureMatrix): ColumnStats {
  const mean = new Array<number>(m.d).fill(0)
  const std = new Array<number>(m.d).fill(0)
  for (let i = 0; i < m.n; i++) for (let j = 0; j < m.d; j++) mean[j]! += m.x[i * m.d + j]!
  for (let j = 0; j < m.d; j++) mean[j] = m.n > 0 ? mean[j]! / m.n : 0
  for (let i = 0; i < m.n; i++) {
    for (let j = 0; j < m.d; j++) {
      const dv = m.x[i * m.d + j]! - mean[j]!
      std[j]! += dv * dv
    }
  }
  for (let j = 0; j < m.d; j++) {
    const s = m.n > 0 ? Math.sqrt(std[j]! / m.n) : 0
    std[j] = s > 1e-12 ? s : 1
  }
  return { mean, std }
}

/** (x − mean) / std per column, in place; returns the same matrix. */
export function standardiseColumns(m: FeatureMatrix, stats: ColumnStats): FeatureMatrix {
  if (stats.mean.length !== m.d) {
    throw new AirlakeError('SIGNATURE_MISMATCH', `expected ${stats.mean.length} feature columns, got ${m.d}`)
  }
  for (let i = 0; i < m.n; i++) {
    for (let j = 0; j < m.d; j++) m.x[i * m.d + j] = (m.x[i * m.d + j]! - stats.mean[j]!) / stats.std[j]!
  }
  return m
}

/** How tabular rows become numbers: numeric columns standardised, category columns one-hot. */
export interface TabularEncoding {
  version: 1
  columns: Array<
    | { name: string; type: 'number'; mean: number; std: number }
    | { name: string; type: 'category'; categories: string[] }
  >
}

/** Each label's index in the signature's classes; throws PARAMETER_INVALID naming a row with another label. */
export function classIndices(labels: readonly string[], signature: ClassificationSignature): Int32Array {
  const classIndex = new Map(signature.classes.map((c, k) => [c, k]))
  return Int32Array.from(labels, (label, i) => {
    const k = classIndex.get(label)
    if (k === undefined) {
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `row ${i} has label ${JSON.stringify(label)}; the signature's classes are ${signature.classes.join(', ')}`,
      )
    }
    return k
  })
}

/**
 * Fits the encoding of a classification signature's inputs on training rows: numeric means and standard
 * deviations (over non-missing values), categories from the signature or else the sorted training values.
 * Throws SIGNATURE_MISMATCH when a column is missing or has the wrong length.
 */
export function fitTabularEncoding(batch: TabularBatch, signature: ClassificationSignature): TabularEncoding {
  checkTabular(batch, signature)
  const columns: TabularEncoding['columns'] = signature.inputs.map((input) => {
    const values = batch.columns[input.name]!
    if (input.type === 'category') {
      const categories =
        input.categories ??
        [...new Set(values.filter((v): v is string | number => v !== null).map(String))].sort()
      return { name: input.name, type: 'category', categories }
    }
    let sum = 0
    let sumSq = 0
    let count = 0
    for (const v of values) {
      const num = toNumber(v)
      if (num === undefined) continue
      sum += num
      sumSq += num * num
      count++
    }
    const mean = count > 0 ? sum / count : 0
    const sd = count > 0 ? Math.sqrt(Math.max(0, sumSq / count - mean * mean)) : 0
    return { name: input.name, type: 'number', mean, std: sd > 1e-12 ? sd : 1 }
  })
  return { version: 1, columns }
}

/** Throws SIGNATURE_MISMATCH unless every input column of the signature is present with `n` values. */
export function checkTabular(batch: TabularBatch, signature: ClassificationSignature): void {
  for (const input of signature.inputs) {
    const values = batch.columns[input.name]
    if (values === undefined) {
      throw new AirlakeError(
        'SIGNATURE_MISMATCH',
        `column ${input.name} is missing; the model needs ${signature.inputs.map((i) => i.name).join(', ')}`,
      )
    }
    if (values.length !== batch.n) {
      throw new AirlakeError(
        'SIGNATURE_MISMATCH',
        `column ${input.name} has ${values.length} values for ${batch.n} rows`,
      )
    }
  }
}

function toNumber(v: number | string | null): number | undefined {
  if (v === null || v === '') return undefined
  const num = typeof v === 'number' ? v : Number(v)
  return Number.isFinite(num) ? num : undefined
}

/** Names of the encoded columns: numbers by name, categories as `name=value`. */
export function tabularFeatureNames(encoding: TabularEncoding): string[] {
  return encoding.columns.flatMap((c) =>
    c.type === 'number' ? [c.name] : c.categories.map((v) => `${c.name}=${v}`),
  )
}

/**
 * Encodes rows: numbers standardised, missing numbers as 0 (the mean) or NaN (`missing: 'nan'`, for
 * learners that route missing values themselves), categories one-hot (unknown or missing: all zeros).
 */
export function encodeTabular(
  batch: TabularBatch,
  encoding: TabularEncoding,
  options: { missing?: 'mean' | 'nan' } = {},
): FeatureMatrix {
  const d = tabularFeatureNames(encoding).length
  const x = new Float64Array(batch.n * d)
  let offset = 0
  for (const column of encoding.columns) {
    const values = batch.columns[column.name]
    if (values === undefined || values.length !== batch.n) {
      throw new AirlakeError('SIGNATURE_MISMATCH', `column ${column.name} is missing or has the wrong length`)
    }
    if (column.type === 'number') {
      for (let i = 0; i < batch.n; i++) {
        const num = toNumber(values[i]!)
        x[i * d + offset] =
          num === undefined ? (options.missing === 'nan' ? Number.NaN : 0) : (num - column.mean) / column.std
      }
      offset++
    } else {
      const index = new Map(column.categories.map((c, k) => [c, k]))
      for (let i = 0; i < batch.n; i++) {
        const v = values[i]
        const k = v === null || v === undefined ? undefined : index.get(String(v))
        if (k !== undefined) x[i * d + offset + k] = 1
      }
      offset += column.categories.length
    }
  }
  return { n: batch.n, d, x }
}

/** A seeded uniform generator on [0, 1) (mulberry32): the same seed gives the same sequence. */
export function seededRandom(seed: number): () => number {
  let state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** 0..n−1 in a seeded random order (Fisher-Yates). */
export function shuffledIndices(n: number, random: () => number): Uint32Array {
  const order = new Uint32Array(n)
  for (let i = 0; i < n; i++) order[i] = i
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const t = order[i]!
    order[i] = order[j]!
    order[j] = t
  }
  return order
}

/** Base64 of the little-endian IEEE-754 bytes: decodes bit-identically with {@link decodeFloat64}. */
export function encodeFloat64(values: ArrayLike<number>): string {
  const view = new DataView(new ArrayBuffer(values.length * 8))
  for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i]!, true)
  return Buffer.from(view.buffer).toString('base64')
}

/** Decodes {@link encodeFloat64}; throws BAD_REQUEST on text that is not a whole number of doubles. */
export function decodeFloat64(text: string): Float64Array {
  const bytes = Buffer.from(text, 'base64')
  if (bytes.length % 8 !== 0)
    throw new AirlakeError('BAD_REQUEST', 'encoded weights are not a whole number of 8-byte doubles')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out = new Float64Array(bytes.length / 8)
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true)
  return out
}

/** Reads a spec recorded in an artifact, checking it matches the signature; throws BAD_REQUEST otherwise. */
export function readFeatureSpec(value: unknown, signature: ForecastSignature): FeatureSpec {
  const spec = value as FeatureSpec | undefined
  if (
    spec === undefined ||
    spec === null ||
    typeof spec !== 'object' ||
    spec.version !== 1 ||
    spec.window !== signature.window ||
    spec.horizon !== signature.horizon ||
    !Array.isArray(spec.base) ||
    spec.base.length !== signature.horizon
  ) {
    throw new AirlakeError(
      'BAD_REQUEST',
      'the artifact has no feature spec matching its signature; retrain the model',
    )
  }
  return spec
}

/** Training data must span this long before calendar terms are learnt. */
const MIN_CALENDAR_SPAN_MS = 2 * DAY_MS

function timeSpan(times: Float64Array): number {
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  for (const t of times) {
    if (t < min) min = t
    if (t > max) max = t
  }
  return times.length === 0 ? 0 : max - min
}
