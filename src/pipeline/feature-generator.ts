/**
 * Stage 3, feature generator: the features of every window, for the gold snapshot and for inspection:
 * lags, rolling means and standard deviations, seasonal lags and profile, calendar terms (all from
 * `src/core/features.ts`, the same functions the models use), and the device's other measures at the
 * window's last step. The feature spec (its scale and centre included) is fitted on the training
 * windows only, so nothing of the validation or test part leaks into it.
 *
 * Models keep the (-1, L) -> (-1, H) signature and derive their own features from the windows; the
 * other measures are recorded in the snapshot for analysis and for models with a wider signature.
 */
import { type FeatureSpec, featureNames, fitFeatureSpec, windowFeatures } from '../core/features.js'
import type { ForecastSignature } from '../core/model.js'
import type { Dataset, SplitName, WindowSet } from './dataset.js'
import type { GridSeries } from './time-series.js'

export interface FeatureTable {
  spec: FeatureSpec
  /** Column names, in order: the spec's features then `other_<measure>` per other measure. */
  names: string[]
  /** Row-major n × names.length per split (NaN where another measure is missing). */
  splits: Record<SplitName, { n: number; x: Float64Array }>
}

/** Fits the feature spec on `dataset.train` and derives the feature rows of every split. */
export function generateFeatures(
  dataset: Pick<Dataset, 'train' | 'validation' | 'test'>,
  signature: ForecastSignature,
  others: Readonly<Record<string, GridSeries>> = {},
): FeatureTable {
  const spec = fitFeatureSpec(dataset.train, signature, { transform: 'auto' })
  const otherNames = Object.keys(others).sort()
  const names = [...featureNames(spec), ...otherNames.map((m) => `other_${m}`)]
  const rows = (set: WindowSet) => {
    const base = windowFeatures(set, spec)
    const d = names.length
    const x = new Float64Array(set.n * d)
    for (let i = 0; i < set.n; i++) {
      x.set(base.x.subarray(i * base.d, (i + 1) * base.d), i * d)
      otherNames.forEach((measure, k) => {
        const series = others[measure]!
        const time = set.times[i]!
        // Same grid as the target when prepared together; index by time so any aligned grid works.
        const index = Math.round((time - series.startMs) / series.stepMs)
        x[i * d + base.d + k] = series.values[index] ?? Number.NaN
      })
    }
    return { n: set.n, x }
  }
  return {
    spec,
    names,
    splits: { train: rows(dataset.train), validation: rows(dataset.validation), test: rows(dataset.test) },
  }
}
