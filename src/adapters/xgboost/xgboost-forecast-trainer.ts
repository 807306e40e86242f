/**
 * Gradient-boosted trees for forecasting through Debian's libxgboost (FFI): one multi-output booster maps
 * window features to the H residuals against the spec's base forecast (direct multi-horizon), with early
 * stopping on held-out windows. Same seed and thread count, same model.
 */
import { availableParallelism } from 'node:os'
import { AirlakeError } from '../../core/errors.js'
import {
  checkWindows,
  type FeatureOptions,
  type FeatureSpec,
  fitFeatureSpec,
  forecastFromResiduals,
  readFeatureSpec,
  residualTargets,
  windowFeatures,
} from '../../core/features.js'
import type {
  FitOptions,
  ForecastModel,
  ForecastSignature,
  ForecastTrainer,
  ModelArtifact,
  TrainingBatch,
  WindowBatch,
} from '../../core/model.js'
import {
  type BoosterHandle,
  loadXgboost,
  type XgboostLibrary,
  xgboostAvailability,
} from './xgboost-library.js'
import { XGBOOST_FORMAT, XgboostModel } from './xgboost-model.js'

/** Parameters of {@link XgboostForecastTrainer.fit} (`FitOptions.params`); defaults suit both shipped tasks. */
export interface XgboostForecastParams {
  /** Most boosting rounds (early stopping usually ends sooner). */
  rounds?: number
  learningRate?: number
  maxDepth?: number
  minChildWeight?: number
  subsample?: number
  colsampleBytree?: number
  /** L2 regularisation on leaf weights. */
  lambda?: number
  /** Histogram bins per feature (XGBoost's `max_bin`); the default 64 trained 2-3x faster than 256 with no loss on NOx. */
  maxBin?: number
  /** Loss; libxgboost 1.7 fits several outputs at once only with these two. */
  objective?: (typeof OBJECTIVES)[number]
  /** Rounds without improvement on the validation windows before stopping. */
  earlyStoppingRounds?: number
  /** Share of the latest training windows held out for early stopping when no validation is given. */
  holdout?: number
  features?: FeatureOptions
}

const OBJECTIVES = ['reg:squarederror', 'reg:pseudohubererror'] as const

const DEFAULTS = {
  rounds: 600,
  learningRate: 0.05,
  maxDepth: 5,
  minChildWeight: 5,
  subsample: 0.8,
  colsampleBytree: 0.8,
  lambda: 1,
  maxBin: 64,
  objective: 'reg:squarederror',
  earlyStoppingRounds: 40,
  holdout: 0.15,
} as const

/** Throws PARAMETER_INVALID naming the first parameter out of its range (libxgboost's own errors are cryptic). */
function checkParams(p: Required<Omit<XgboostForecastParams, 'features'>>): void {
  const whole: Array<[string, number, number]> = [
    ['rounds', p.rounds, 1],
    ['maxDepth', p.maxDepth, 1],
    ['maxBin', p.maxBin, 2],
    ['earlyStoppingRounds', p.earlyStoppingRounds, 1],
  ]
  for (const [name, value, min] of whole) {
    if (!Number.isInteger(value) || value < min) {
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `xgboost ${name} must be a whole number >= ${min}, got ${JSON.stringify(value)}`,
      )
    }
  }
  const fractions: Array<[string, number]> = [
    ['learningRate', p.learningRate],
    ['subsample', p.subsample],
    ['colsampleBytree', p.colsampleBytree],
  ]
  for (const [name, value] of fractions) {
    if (!(value > 0 && value <= 1)) {
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `xgboost ${name} must be in (0, 1], got ${JSON.stringify(value)}`,
      )
    }
  }
  if (!(p.holdout > 0 && p.holdout < 1)) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `xgboost holdout must be in (0, 1), got ${JSON.stringify(p.holdout)}`,
    )
  }
  if (!(p.minChildWeight >= 0) || !(p.lambda >= 0)) {
    throw new AirlakeError('PARAMETER_INVALID', 'xgboost minChildWeight and lambda must be numbers >= 0')
  }
}

function toFloat32(values: Float64Array): Float32Array {
  return Float32Array.from(values)
}

class XgboostForecastModel extends XgboostModel<ForecastSignature> implements ForecastModel {
  constructor(
    signature: ForecastSignature,
    library: XgboostLibrary,
    booster: BoosterHandle,
    threads: number,
    private readonly spec: FeatureSpec,
    params: Record<string, unknown>,
  ) {
    super(signature, library, booster, threads, { spec }, params)
  }

  async predict(batch: WindowBatch): Promise<Float64Array> {
    checkWindows(batch, this.signature)
    if (batch.n === 0) return new Float64Array(0)
    const m = windowFeatures(batch, this.spec)
    return forecastFromResiduals(batch, this.boost(toFloat32(m.x), m.n, m.d), this.spec)
  }
}

/** Trains and reloads XGBoost forecasting models; `libraryPath` overrides the search for libxgboost. */
export class XgboostForecastTrainer implements ForecastTrainer {
  readonly algorithm = 'xgboost'

  constructor(private readonly options: { libraryPath?: string; nthread?: number } = {}) {}

  available(): { ok: true } | { ok: false; reason: string } {
    return xgboostAvailability(this.options.libraryPath)
  }

  /**
   * Fits one multi-output booster. Early stopping watches RMSE on `options.validation`, or else on the
   * latest `holdout` share of `data` (then the model is refitted on all of `data` for the rounds found).
   * Throws DEPENDENCY_MISSING without libxgboost, INSUFFICIENT_DATA with fewer than 20 windows.
   */
  async fit(data: TrainingBatch, options: FitOptions): Promise<ForecastModel> {
    const library = loadXgboost(this.options.libraryPath)
    const { signature } = options
    checkWindows(data, signature)
    if (data.n < 20)
      throw new AirlakeError('INSUFFICIENT_DATA', `xgboost needs at least 20 training windows, got ${data.n}`)
    const p = { ...DEFAULTS, ...((options.params ?? {}) as XgboostForecastParams) }
    checkParams(p)
    if (!OBJECTIVES.includes(p.objective)) {
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `xgboost objective must be one of ${OBJECTIVES.join(', ')} (multi-horizon needs a multi-output loss), got ${JSON.stringify(p.objective)}`,
      )
    }
    const nthread = this.options.nthread ?? Math.min(4, availableParallelism())
    const H = signature.horizon
    const spec = fitFeatureSpec(data, signature, p.features ?? {})
    const all = windowFeatures(data, spec)
    const residuals = residualTargets(data, data.targets, spec)
    const boosterParams = {
      objective: p.objective,
      tree_method: 'hist',
      eta: p.learningRate,
      max_depth: p.maxDepth,
      min_child_weight: p.minChildWeight,
      subsample: p.subsample,
      colsample_bytree: p.colsampleBytree,
      lambda: p.lambda,
      max_bin: p.maxBin,
      eval_metric: 'rmse',
      seed: options.seed,
      nthread,
      verbosity: 0,
    }

    const trainRounds = async (
      x: Float64Array,
      r: Float64Array,
      n: number,
      rounds: number,
      check?: { x: Float64Array; r: Float64Array; n: number },
      progressFrom = 0,
      progressSpan = 1,
    ): Promise<{ booster: BoosterHandle; best: number }> => {
      const train = library.dmatrix(toFloat32(x), n, all.d, { values: toFloat32(r), columns: H })
      const valid =
        check &&
        library.dmatrix(toFloat32(check.x), check.n, all.d, { values: toFloat32(check.r), columns: H })
      const booster = library.booster(valid ? [train, valid] : [train], boosterParams)
      try {
        let best = rounds
        let bestError = Number.POSITIVE_INFINITY
        for (let round = 0; round < rounds; round++) {
          options.signal?.throwIfAborted()
          library.updateOneIter(booster, round, train)
          // Give the event loop a turn between rounds: a server training a model keeps answering
          // requests (a round is milliseconds; a whole fit, seconds to minutes).
          await new Promise((resolve) => setImmediate(resolve))
          if (valid) {
            const error = library.evalOneIter(booster, round, valid, 'valid')
            if (error < bestError) {
              bestError = error
              best = round + 1
            } else if (round + 1 - best >= p.earlyStoppingRounds) {
              break
            }
          }
          if (round % 10 === 9) {
            options.onProgress?.(progressFrom + (progressSpan * (round + 1)) / rounds, `round ${round + 1}`)
          }
        }
        if (valid && best < library.boostedRounds(booster)) {
          const sliced = library.slice(booster, best)
          library.freeBooster(booster)
          return { booster: sliced, best }
        }
        return { booster, best }
      } catch (error) {
        library.freeBooster(booster)
        throw error
      } finally {
        library.freeDMatrix(train)
        if (valid) library.freeDMatrix(valid)
      }
    }

    let result: { booster: BoosterHandle; best: number }
    if (options.validation !== undefined && options.validation.n > 0) {
      const v = options.validation
      const check = { x: windowFeatures(v, spec).x, r: residualTargets(v, v.targets, spec), n: v.n }
      result = await trainRounds(all.x, residuals, data.n, p.rounds, check)
    } else {
      const cut = Math.floor(data.n * (1 - p.holdout))
      const d = all.d
      const check = { x: all.x.subarray(cut * d), r: residuals.subarray(cut * H), n: data.n - cut }
      const probe = await trainRounds(
        all.x.subarray(0, cut * d),
        residuals.subarray(0, cut * H),
        cut,
        p.rounds,
        check,
        0,
        0.6,
      )
      library.freeBooster(probe.booster)
      // More data supports a few more rounds than were best on the smaller probe set.
      const rounds = Math.max(1, Math.round(probe.best / (1 - p.holdout)))
      result = {
        booster: (await trainRounds(all.x, residuals, data.n, rounds, undefined, 0.6, 0.4)).booster,
        best: rounds,
      }
    }
    options.onProgress?.(1, `${result.best} rounds`)
    const { features: _features, ...recorded } = p
    return new XgboostForecastModel(signature, library, result.booster, nthread, spec, {
      ...recorded,
      rounds: result.best,
      nthread,
      features: spec,
    })
  }

  async load(artifact: ModelArtifact): Promise<ForecastModel> {
    const library = loadXgboost(this.options.libraryPath)
    if (artifact.algorithm !== this.algorithm || artifact.format !== XGBOOST_FORMAT) {
      throw new AirlakeError(
        'BAD_REQUEST',
        `the xgboost loader reads ${XGBOOST_FORMAT} artifacts, got ${artifact.algorithm}/${artifact.format}`,
      )
    }
    if (artifact.signature.task !== 'forecast')
      throw new AirlakeError('BAD_REQUEST', 'the artifact is not a forecasting model')
    const bytes = artifact.files['model.ubj']
    const json = artifact.files['model.json']
    if (bytes === undefined || json === undefined) {
      throw new AirlakeError('BAD_REQUEST', 'the xgboost artifact needs model.ubj and model.json')
    }
    const meta = JSON.parse(new TextDecoder().decode(json)) as { spec?: unknown }
    const spec = readFeatureSpec(meta.spec, artifact.signature)
    const nthread = this.options.nthread ?? Math.min(4, availableParallelism())
    const booster = library.load(bytes, { nthread })
    return new XgboostForecastModel(artifact.signature, library, booster, nthread, spec, artifact.params)
  }
}
