/**
 * Stage 6, model evaluator: every model and the two baselines (persistence, seasonal naive) forecast
 * exactly the same test windows; errors per horizon step and on average (DESIGN.md section 6).
 */
import { AirlakeError } from '../core/errors.js'
import type { ForecastModel, TrainingBatch } from '../core/model.js'

/** Errors of one model over n windows × H steps, in the measure's units (sMAPE in %, 0..200). */
export interface ForecastMetrics {
  /** Windows scored. */
  n: number
  mae: number
  rmse: number
  smape: number
  maeByHorizon: number[]
  rmseByHorizon: number[]
  smapeByHorizon: number[]
}

/** Whether a model is a candidate for serving or a reference the candidates must beat. */
export type EvaluationRole = 'candidate' | 'baseline'

export interface ModelEvaluation {
  /** Algorithm name (`ridge`, `persistence`, …). */
  algorithm: string
  role: EvaluationRole
  metrics: ForecastMetrics
  /** Forecasts of the example window (length H). */
  example: number[]
}

export interface Evaluation {
  horizon: number
  /** Windows scored, the same for every model. */
  windows: number
  models: ModelEvaluation[]
  /** The example window: its last time (ms), the inputs, and the actual next H values. */
  example: { index: number; timeMs: number; inputs: number[]; actuals: number[] }
}

/**
 * MAE, RMSE and sMAPE per horizon step and over all steps. sMAPE is 200·|f − a| / (|f| + |a|) averaged,
 * a term with f = a = 0 counting 0. Throws SIGNATURE_MISMATCH when the arrays do not hold n × H values.
 */
export function forecastMetrics(
  actual: Float64Array,
  predicted: Float64Array,
  horizon: number,
): ForecastMetrics {
  if (actual.length !== predicted.length || actual.length % horizon !== 0) {
    throw new AirlakeError(
      'SIGNATURE_MISMATCH',
      `cannot score ${predicted.length} forecasts against ${actual.length} actual values in rows of ${horizon}`,
    )
  }
  const n = actual.length / horizon
  const abs = new Float64Array(horizon)
  const squares = new Float64Array(horizon)
  const relative = new Float64Array(horizon)
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!
    const f = predicted[i]!
    if (!Number.isFinite(f)) {
      throw new AirlakeError(
        'INTERNAL',
        `a model produced a non-finite forecast (${f}) for window ${Math.floor(i / horizon)}`,
      )
    }
    const h = i % horizon
    const e = Math.abs(f - a)
    abs[h]! += e
    squares[h]! += e * e
    const denominator = Math.abs(f) + Math.abs(a)
    if (denominator > 0) relative[h]! += (200 * e) / denominator
  }
  const maeByHorizon = Array.from(abs, (v) => v / n)
  const rmseByHorizon = Array.from(squares, (v) => Math.sqrt(v / n))
  const smapeByHorizon = Array.from(relative, (v) => v / n)
  const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length
  return {
    n,
    mae: mean(maeByHorizon),
    rmse: Math.sqrt(squares.reduce((s, v) => s + v, 0) / actual.length),
    smape: mean(smapeByHorizon),
    maeByHorizon,
    rmseByHorizon,
    smapeByHorizon,
  }
}

/**
 * The flat metrics a model version records: `mae`, `rmse`, `smape`, `n_windows` and per step `mae_h1`…,
 * `rmse_h1`…, `smape_h1`… (plain numbers, exactly those shown in the run's report).
 */
export function metricsRecord(metrics: ForecastMetrics): Record<string, number> {
  const record: Record<string, number> = {
    mae: metrics.mae,
    rmse: metrics.rmse,
    smape: metrics.smape,
    n_windows: metrics.n,
  }
  metrics.maeByHorizon.forEach((v, h) => {
    record[`mae_h${h + 1}`] = v
  })
  metrics.rmseByHorizon.forEach((v, h) => {
    record[`rmse_h${h + 1}`] = v
  })
  metrics.smapeByHorizon.forEach((v, h) => {
    record[`smape_h${h + 1}`] = v
  })
  return record
}

const CHUNK_WINDOWS = 2048

/** Forecasts every window of `data` with `model`, in chunks; returns n × H. */
export async function forecastAll(model: ForecastModel, data: TrainingBatch): Promise<Float64Array> {
  const L = model.signature.window
  const H = model.signature.horizon
  const out = new Float64Array(data.n * H)
  for (let start = 0; start < data.n; start += CHUNK_WINDOWS) {
    const end = Math.min(data.n, start + CHUNK_WINDOWS)
    const predicted = await model.predict({
      n: end - start,
      windows: data.windows.subarray(start * L, end * L),
      times: data.times?.subarray(start, end),
    })
    if (predicted.length !== (end - start) * H) {
      throw new AirlakeError(
        'INTERNAL',
        `${model.algorithm} returned ${predicted.length} values for ${end - start} windows of horizon ${H}`,
      )
    }
    out.set(predicted, start * H)
  }
  return out
}

/**
 * Scores each model on the same test windows. `exampleIndex` picks the window drawn in the report
 * (default: the middle one). Throws INSUFFICIENT_DATA for an empty test set.
 */
export async function evaluateModels(
  models: ReadonlyArray<{ algorithm: string; role: EvaluationRole; model: ForecastModel }>,
  test: TrainingBatch,
  options: { exampleIndex?: number; onModel?: (algorithm: string) => void } = {},
): Promise<Evaluation> {
  if (test.n === 0)
    throw new AirlakeError(
      'INSUFFICIENT_DATA',
      'no test windows to evaluate on: give more data or a smaller --split',
    )
  const first = models[0]
  if (first === undefined) throw new AirlakeError('PARAMETER_INVALID', 'no model to evaluate')
  const L = first.model.signature.window
  const H = first.model.signature.horizon
  const index = Math.min(test.n - 1, Math.max(0, options.exampleIndex ?? Math.floor(test.n / 2)))
  const evaluations: ModelEvaluation[] = []
  for (const { algorithm, role, model } of models) {
    options.onModel?.(algorithm)
    const predicted = await forecastAll(model, test)
    evaluations.push({
      algorithm,
      role,
      metrics: forecastMetrics(test.targets, predicted, H),
      example: Array.from(predicted.subarray(index * H, (index + 1) * H)),
    })
  }
  return {
    horizon: H,
    windows: test.n,
    models: evaluations,
    example: {
      index,
      timeMs: test.times?.[index] ?? Number.NaN,
      inputs: Array.from(test.windows.subarray(index * L, (index + 1) * L)),
      actuals: Array.from(test.targets.subarray(index * H, (index + 1) * H)),
    },
  }
}
