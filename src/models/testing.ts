/**
 * Data for model tests. Forecasting: a seeded hourly signal with a daily cycle, a weekly swell and autocorrelated
 * noise, cut into windows the way the dataset creator does (anchor = last input, targets after it).
 * Classification: synthetic loan applications with a known approval rule. Pure and deterministic, so
 * every model test trains on exactly the same numbers.
 */

import { seededRandom } from '../core/features.js'
import type {
  ClassificationSignature,
  ForecastSignature,
  TabularBatch,
  TrainingBatch,
} from '../core/model.js'
import { HOUR_MS } from '../core/time.js'

/** Hourly values: 50 + 20·sin(day) + 8·sin(week) + AR(1) noise; starts 2024-01-01T00:00Z. */
export function seasonalSeries(
  length: number,
  seed = 7,
): { startMs: number; stepMs: number; values: Float64Array } {
  const random = seededRandom(seed)
  const values = new Float64Array(length)
  let noise = 0
  for (let i = 0; i < length; i++) {
    // Box-Muller from two uniforms.
    const gauss = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
    noise = 0.7 * noise + 2 * gauss
    values[i] = 50 + 20 * Math.sin((2 * Math.PI * i) / 24) + 8 * Math.sin((2 * Math.PI * i) / 168) + noise
  }
  return { startMs: Date.UTC(2024, 0, 1), stepMs: HOUR_MS, values }
}

/** Every window of `signature` over `series` (stride 1), with the time of each window's last value. */
export function windowsOf(
  series: { startMs: number; stepMs: number; values: Float64Array },
  signature: Pick<ForecastSignature, 'window' | 'horizon'>,
): TrainingBatch {
  const { window: L, horizon: H } = signature
  const n = Math.max(0, series.values.length - L - H + 1)
  const windows = new Float64Array(n * L)
  const targets = new Float64Array(n * H)
  const times = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    windows.set(series.values.subarray(i, i + L), i * L)
    targets.set(series.values.subarray(i + L, i + L + H), i * H)
    times[i] = series.startMs + (i + L - 1) * series.stepMs
  }
  return { n, windows, targets, times }
}

/** Rows [from, to) of a batch (copies). */
export function rowsOf(batch: TrainingBatch, from: number, to: number, L: number, H: number): TrainingBatch {
  return {
    n: to - from,
    windows: batch.windows.slice(from * L, to * L),
    targets: batch.targets.slice(from * H, to * H),
    times: batch.times?.slice(from, to),
  }
}

/** The hourly test task: 48 h -> 12 h with a daily season, split chronologically into train, validation, test. */
export function seasonalTask(
  length = 1500,
  seed = 7,
): {
  signature: ForecastSignature
  train: TrainingBatch
  validation: TrainingBatch
  test: TrainingBatch
} {
  const signature: ForecastSignature = {
    task: 'forecast',
    measure: 'nox_ppb',
    window: 48,
    horizon: 12,
    stepMs: HOUR_MS,
    seasonSteps: 24,
  }
  const all = windowsOf(seasonalSeries(length, seed), signature)
  const a = Math.floor(all.n * 0.6)
  const b = Math.floor(all.n * 0.8)
  // Gaps of H windows between the parts keep their targets from overlapping the next part's.
  const H = signature.horizon
  return {
    signature,
    train: rowsOf(all, 0, a - H, 48, H),
    validation: rowsOf(all, a, b - H, 48, H),
    test: rowsOf(all, b, all.n, 48, H),
  }
}

/** Mean absolute error of `predicted` against `actual`. */
export function meanAbsoluteError(actual: ArrayLike<number>, predicted: ArrayLike<number>): number {
  let sum = 0
  for (let i = 0; i < actual.length; i++) sum += Math.abs(actual[i]! - predicted[i]!)
  return sum / actual.length
}

/** Seed 001's loan approval task: two numeric columns (income may be missing) and one category. */
export const loanSignature: ClassificationSignature = {
  task: 'classification',
  inputs: [
    { name: 'income', type: 'number' },
    { name: 'debt_ratio', type: 'number' },
    { name: 'employment', type: 'category' },
  ],
  classes: ['rejected', 'approved'],
  target: 'decision',
}

/** Loan applications: approval grows with income, falls with debt, and depends on employment; some incomes missing. */
export function loanApplications(n: number, seed: number): { batch: TabularBatch; labels: string[] } {
  const random = seededRandom(seed)
  const income: Array<number | null> = []
  const debt: number[] = []
  const employment: string[] = []
  const labels: string[] = []
  const kinds = ['employed', 'self-employed', 'unemployed']
  const effect = [1, 0.2, -1.5]
  for (let i = 0; i < n; i++) {
    const inc = 20_000 + 80_000 * random()
    const dr = random()
    const kind = Math.floor(random() * 3)
    const z = (inc - 60_000) / 15_000 - 3 * (dr - 0.5) + effect[kind]!
    labels.push(random() < 1 / (1 + Math.exp(-z)) ? 'approved' : 'rejected')
    income.push(random() < 0.05 ? null : inc)
    debt.push(dr)
    employment.push(kinds[kind]!)
  }
  return { batch: { n, columns: { income, debt_ratio: debt, employment } }, labels }
}

/** Area under the ROC curve of scores for the positive labels (rank statistic). */
export function rocAuc(scores: number[], positive: boolean[]): number {
  let wins = 0
  let pairs = 0
  for (let i = 0; i < scores.length; i++) {
    if (!positive[i]) continue
    for (let j = 0; j < scores.length; j++) {
      if (positive[j]) continue
      pairs++
      wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0
    }
  }
  return wins / pairs
}
