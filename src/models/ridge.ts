/**
 * Ridge regression, direct multi-horizon: one linear map from window features to the H residuals against
 * the spec's base forecast, solved in closed form (Cholesky) with the regularisation picked on held-out
 * windows. Deterministic: the seed is unused because nothing is random.
 */
import { AirlakeError } from '../core/errors.js'
import {
  type ColumnStats,
  checkWindows,
  decodeFloat64,
  encodeFloat64,
  type FeatureOptions,
  type FeatureSpec,
  fitColumnStats,
  fitFeatureSpec,
  forecastFromResiduals,
  readFeatureSpec,
  residualTargets,
  standardiseColumns,
  windowFeatures,
} from '../core/features.js'
import type {
  FitOptions,
  ForecastModel,
  ForecastSignature,
  ForecastTrainer,
  ModelArtifact,
  TrainingBatch,
  WindowBatch,
} from '../core/model.js'
import { forecastSignatureOf, jsonFile, readModelJson } from './artifact.js'
import { choleskySolve, crossProduct, gram, multiply } from './linear-algebra.js'

const FORMAT = 'airlake-ridge/1'
/** Candidate regularisations (on standardised features), tried on held-out windows. */
export const RIDGE_LAMBDAS = [0.1, 1, 10, 100, 1000, 10000]

/** Parameters of {@link RidgeTrainer.fit} (`FitOptions.params`). */
export interface RidgeParams {
  /** A fixed regularisation, or candidates to choose from on the validation windows. */
  lambda?: number | number[]
  /** Share of the training windows (the latest) held out to choose lambda when no validation is given. */
  holdout?: number
  features?: FeatureOptions
}

interface RidgeState {
  spec: FeatureSpec
  stats: ColumnStats
  lambda: number
  /** d × H weights and H intercepts on standardised features. */
  weights: Float64Array
  intercept: Float64Array
}

class RidgeModel implements ForecastModel {
  readonly algorithm = 'ridge'

  constructor(
    readonly signature: ForecastSignature,
    private readonly state: RidgeState,
  ) {}

  async predict(batch: WindowBatch): Promise<Float64Array> {
    checkWindows(batch, this.signature)
    const { spec, stats, weights, intercept } = this.state
    const m = standardiseColumns(windowFeatures(batch, spec), stats)
    return forecastFromResiduals(batch, multiply(m.x, weights, intercept, m.n, m.d, spec.horizon), spec)
  }

  async save(): Promise<ModelArtifact> {
    const { spec, stats, lambda, weights, intercept } = this.state
    return {
      algorithm: this.algorithm,
      signature: this.signature,
      format: FORMAT,
      files: {
        'model.json': jsonFile({
          spec,
          stats: { mean: encodeFloat64(stats.mean), std: encodeFloat64(stats.std) },
          lambda,
          weights: encodeFloat64(weights),
          intercept: encodeFloat64(intercept),
        }),
      },
      params: { lambda, features: spec },
    }
  }

  dispose(): void {}
}

/** Fits ridge on standardised features for one lambda: weights d × H and intercepts. */
function solveRidge(x: Float64Array, r: Float64Array, n: number, d: number, H: number, lambda: number) {
  const intercept = new Float64Array(H)
  for (let i = 0; i < n; i++) for (let h = 0; h < H; h++) intercept[h]! += r[i * H + h]! / n
  const centred = new Float64Array(r.length)
  for (let i = 0; i < r.length; i++) centred[i] = r[i]! - intercept[i % H]!
  const weights = choleskySolve(gram(x, n, d, lambda), crossProduct(x, centred, n, d, H), d, H)
  return { weights, intercept }
}

function fitState(
  data: TrainingBatch,
  signature: ForecastSignature,
  features: FeatureOptions,
  lambda: number,
): RidgeState {
  const spec = fitFeatureSpec(data, signature, features)
  const m = windowFeatures(data, spec)
  const stats = fitColumnStats(m)
  standardiseColumns(m, stats)
  const r = residualTargets(data, data.targets, spec)
  return { spec, stats, lambda, ...solveRidge(m.x, r, m.n, m.d, spec.horizon, lambda) }
}

function sliceRows(data: TrainingBatch, from: number, to: number, L: number, H: number): TrainingBatch {
  return {
    n: to - from,
    windows: data.windows.subarray(from * L, to * L),
    targets: data.targets.subarray(from * H, to * H),
    times: data.times?.subarray(from, to),
  }
}

function meanAbsoluteError(a: Float64Array, b: Float64Array): number {
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!)
  return sum / a.length
}

/** Trains and reloads {@link RidgeModel}s. */
export class RidgeTrainer implements ForecastTrainer {
  readonly algorithm = 'ridge'

  available(): { ok: true } {
    return { ok: true }
  }

  /**
   * Fits on `data`. With several lambdas, each is scored (MAE) on `options.validation`, or else on the
   * latest `holdout` share of `data`; the winner is refitted on all of `data`. Throws INSUFFICIENT_DATA
   * with fewer windows than two per feature column would need.
   */
  async fit(data: TrainingBatch, options: FitOptions): Promise<ForecastModel> {
    const { signature } = options
    checkWindows(data, signature)
    const params = (options.params ?? {}) as RidgeParams
    const features = params.features ?? {}
    const lambdas = Array.isArray(params.lambda)
      ? params.lambda
      : params.lambda === undefined
        ? RIDGE_LAMBDAS
        : [params.lambda]
    if (lambdas.length === 0 || lambdas.some((l) => !(l > 0))) {
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `ridge lambda must be > 0, got ${JSON.stringify(params.lambda)}`,
      )
    }
    if (data.n < 10)
      throw new AirlakeError('INSUFFICIENT_DATA', `ridge needs at least 10 training windows, got ${data.n}`)
    let lambda = lambdas[0]!
    if (lambdas.length > 1) {
      const L = signature.window
      const H = signature.horizon
      let train = data
      let check = options.validation
      if (check === undefined || check.n === 0) {
        const cut = Math.floor(data.n * (1 - (params.holdout ?? 0.15)))
        train = sliceRows(data, 0, cut, L, H)
        check = sliceRows(data, cut, data.n, L, H)
      }
      const spec = fitFeatureSpec(train, signature, features)
      const m = windowFeatures(train, spec)
      const stats = fitColumnStats(m)
      standardiseColumns(m, stats)
      const r = residualTargets(train, train.targets, spec)
      const xtx = gram(m.x, m.n, m.d)
      let best = Number.POSITIVE_INFINITY
      for (const [i, candidate] of lambdas.entries()) {
        options.signal?.throwIfAborted()
        const intercept = new Float64Array(H)
        for (let k = 0; k < r.length; k++) intercept[k % H]! += r[k]! / m.n
        const centred = r.map((v, k) => v - intercept[k % H]!)
        const a = Float64Array.from(xtx)
        for (let j = 0; j < m.d; j++) a[j * m.d + j]! += candidate
        const weights = choleskySolve(a, crossProduct(m.x, centred, m.n, m.d, H), m.d, H)
        const model = new RidgeModel(signature, { spec, stats, lambda: candidate, weights, intercept })
        const error = meanAbsoluteError(await model.predict(check), check.targets)
        if (error < best) {
          best = error
          lambda = candidate
        }
        options.onProgress?.(
          (i + 1) / (lambdas.length + 1),
          `lambda ${candidate}: validation MAE ${error.toPrecision(4)}`,
        )
      }
    }
    const model = new RidgeModel(signature, fitState(data, signature, features, lambda))
    options.onProgress?.(1, `fitted with lambda ${lambda}`)
    return model
  }

  async load(artifact: ModelArtifact): Promise<ForecastModel> {
    const json = readModelJson(artifact, this.algorithm, FORMAT)
    const signature = forecastSignatureOf(artifact)
    const spec = readFeatureSpec(json.spec, signature)
    const stats = json.stats as { mean: string; std: string }
    const state: RidgeState = {
      spec,
      stats: { mean: [...decodeFloat64(stats.mean)], std: [...decodeFloat64(stats.std)] },
      lambda: Number(json.lambda),
      weights: decodeFloat64(String(json.weights)),
      intercept: decodeFloat64(String(json.intercept)),
    }
    if (
      state.weights.length !== state.stats.mean.length * spec.horizon ||
      state.intercept.length !== spec.horizon
    ) {
      throw new AirlakeError(
        'BAD_REQUEST',
        'the ridge artifact weights do not match its feature spec; retrain the model',
      )
    }
    return new RidgeModel(signature, state)
  }
}
