/**
 * Stage 2, dataset creator: supervised windows (L past values -> next H values) cut from a grid series,
 * split chronologically with no leakage (DESIGN.md section 6).
 *
 * A window is anchored at grid index `a`, its last input: inputs are `a-L+1 … a`, targets `a+1 … a+H`.
 * With `s` the first grid index of the test part, a training window has all its targets before `s`
 * (`a + H < s`) and a test window has all its targets in the test part (`a + 1 >= s`); a test window's
 * inputs may reach back into the training part, as a live forecast reads the known past. The validation
 * part (early stopping) is cut from the end of the training part the same way. Windows with a missing
 * value (a long gap) are dropped and counted.
 */
import { AirlakeError } from '../core/errors.js'
import type { TrainingBatch } from '../core/model.js'
import type { GridSeries } from './time-series.js'

export type SplitName = 'train' | 'validation' | 'test'

/** Windows of one split, chronological. `times[i]` is the time of window i's last input; `anchors[i]` its grid index. */
export interface WindowSet extends TrainingBatch {
  anchors: Int32Array
  times: Float64Array
}

export interface DatasetOptions {
  window: number
  horizon: number
  /** Fraction of the grid (by time) before the test part, in (0, 1); default 0.75. */
  split: number
  /** Fraction of the training part kept for early stopping; 0 for none; default 0.1. */
  validation: number
  /** Rolling-origin folds over the training part (0 for none). */
  folds: number
}

export interface Fold {
  /** Time of the fold's origin: training targets before it, test targets from it. */
  originMs: number
  train: WindowSet
  test: WindowSet
}

export interface Dataset {
  train: WindowSet
  validation: WindowSet
  test: WindowSet
  folds: Fold[]
  /** First time of the test part (ms); every training target is earlier. */
  testStartMs: number
  /** First time of the validation part (ms), equal to `testStartMs` without validation. */
  validationStartMs: number
  /** Windows dropped because they cross a long gap, per split. */
  dropped: Record<SplitName, number>
  /** Mean and standard deviation of the training part's known values (never the test part). */
  normalisation: { mean: number; std: number; count: number }
}

/** Windows anchored at `a` in [firstAnchor, lastAnchor] that hold no missing value; counts the others. */
export function cutWindows(
  series: GridSeries,
  options: { window: number; horizon: number; firstAnchor: number; lastAnchor: number },
): { set: WindowSet; dropped: number } {
  const { window: L, horizon: H } = options
  const values = series.values
  const first = Math.max(options.firstAnchor, L - 1)
  const last = Math.min(options.lastAnchor, values.length - 1 - H)
  // A prefix count of missing values answers "does [i, j] hold a gap?" in O(1) per window.
  const missingBefore = new Int32Array(values.length + 1)
  for (let i = 0; i < values.length; i++)
    missingBefore[i + 1] = missingBefore[i]! + (Number.isNaN(values[i]!) ? 1 : 0)
  const anchors: number[] = []
  let dropped = 0
  for (let a = first; a <= last; a++) {
    if (missingBefore[a + H + 1]! - missingBefore[a - L + 1]! > 0) dropped++
    else anchors.push(a)
  }
  const n = anchors.length
  const windows = new Float64Array(n * L)
  const targets = new Float64Array(n * H)
  const times = new Float64Array(n)
  anchors.forEach((a, row) => {
    windows.set(values.subarray(a - L + 1, a + 1), row * L)
    targets.set(values.subarray(a + 1, a + H + 1), row * H)
    times[row] = series.startMs + a * series.stepMs
  })
  return { set: { n, windows, targets, times, anchors: Int32Array.from(anchors) }, dropped }
}

/** Splits the series chronologically into train, validation and test windows (and optional folds). */
export function createDataset(series: GridSeries, options: DatasetOptions): Dataset {
  const { window: L, horizon: H } = options
  const N = series.values.length
  if (!(options.split > 0 && options.split < 1)) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `--split must be a fraction between 0 and 1 (e.g. 0.75), got ${options.split}`,
    )
  }
  if (!(options.validation >= 0 && options.validation < 1)) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `the validation fraction must be in [0, 1), got ${options.validation}`,
    )
  }
  if (!Number.isInteger(L) || L < 1 || !Number.isInteger(H) || H < 1) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `--window and --horizon must be whole numbers >= 1, got ${L} and ${H}`,
    )
  }
  const s = Math.floor(N * options.split)
  const v = options.validation > 0 ? Math.floor(s * (1 - options.validation)) : s
  const cut = (firstAnchor: number, lastAnchor: number) =>
    cutWindows(series, { window: L, horizon: H, firstAnchor, lastAnchor })
  const train = cut(0, v - H - 1)
  const validation = v < s ? cut(v - 1, s - H - 1) : { set: emptySet(), dropped: 0 }
  const test = cut(s - 1, N - 1)
  const need = (what: string, set: WindowSet) => {
    if (set.n === 0) {
      throw new AirlakeError(
        'INSUFFICIENT_DATA',
        `no complete ${what} window of ${L} + ${H} steps in ${N} grid points (split ${options.split}): ` +
          'give a longer --from/--to range, a smaller --window/--horizon, or a larger interpolation limit',
      )
    }
  }
  need('training', train.set)
  need('test', test.set)

  const folds: Fold[] = []
  for (let k = 0; k < options.folds; k++) {
    // Origins evenly spaced over the second half of the training part; each fold tests up to the next origin.
    const origin = Math.floor(v / 2 + ((v / 2) * k) / options.folds)
    const end = Math.floor(v / 2 + ((v / 2) * (k + 1)) / options.folds)
    const foldTrain = cut(0, origin - H - 1).set
    const foldTest = cut(origin - 1, end - H - 1).set
    if (foldTrain.n > 0 && foldTest.n > 0) {
      folds.push({ originMs: series.startMs + origin * series.stepMs, train: foldTrain, test: foldTest })
    }
  }

  let sum = 0
  let sumSquares = 0
  let count = 0
  for (let i = 0; i < v; i++) {
    const x = series.values[i]!
    if (Number.isNaN(x)) continue
    sum += x
    sumSquares += x * x
    count++
  }
  const mean = count > 0 ? sum / count : 0
  const std = count > 1 ? Math.sqrt(Math.max(0, sumSquares / count - mean * mean)) : 0
  return {
    train: train.set,
    validation: validation.set,
    test: test.set,
    folds,
    testStartMs: series.startMs + s * series.stepMs,
    validationStartMs: series.startMs + v * series.stepMs,
    dropped: { train: train.dropped, validation: validation.dropped, test: test.dropped },
    normalisation: { mean, std, count },
  }
}

function emptySet(): WindowSet {
  return {
    n: 0,
    windows: new Float64Array(0),
    targets: new Float64Array(0),
    times: new Float64Array(0),
    anchors: new Int32Array(0),
  }
}
