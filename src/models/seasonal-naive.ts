/**
 * Seasonal naive, the second baseline: each horizon step forecasts the value one whole season earlier
 * (for hourly data, the same hour yesterday). The season comes from `params.season`, else the signature's
 * `seasonSteps`, else one day of grid steps. A season longer than the window cannot be looked up, so
 * the model falls back to persistence (a season of one step) and records why in its artifact.
 */
import { AirlakeError } from '../core/errors.js'
import { checkWindows } from '../core/features.js'
import type {
  FitOptions,
  ForecastModel,
  ForecastSignature,
  ForecastTrainer,
  ModelArtifact,
  TrainingBatch,
  WindowBatch,
} from '../core/model.js'
import { DAY_MS } from '../core/time.js'
import { forecastSignatureOf, jsonFile, readModelJson } from './artifact.js'

const FORMAT = 'airlake-seasonal-naive/1'

/** Parameters of {@link SeasonalNaiveTrainer.fit} (`FitOptions.params`). */
export interface SeasonalNaiveParams {
  /** Season length in grid steps (24 for a day of hourly data). */
  season?: number
}

/** The season a model uses, where it came from, and (after a fallback) why. */
export interface SeasonChoice {
  seasonSteps: number
  source: 'params' | 'signature' | 'day' | 'fallback'
  note?: string | undefined
}

/**
 * Picks the season for a signature: `params.season`, the signature's `seasonSteps`, or a day of steps;
 * when that is longer than the window, a season of 1 (persistence) with a note saying why.
 * Throws PARAMETER_INVALID for a season that is not a whole number >= 1.
 */
export function chooseSeason(signature: ForecastSignature, params: SeasonalNaiveParams = {}): SeasonChoice {
  const L = signature.window
  let wanted: SeasonChoice
  if (params.season !== undefined) {
    if (!Number.isInteger(params.season) || params.season < 1) {
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `seasonal-naive season must be a whole number of steps >= 1, got ${params.season}`,
      )
    }
    wanted = { seasonSteps: params.season, source: 'params' }
  } else if (
    signature.seasonSteps !== undefined &&
    Number.isInteger(signature.seasonSteps) &&
    signature.seasonSteps >= 1
  ) {
    wanted = { seasonSteps: signature.seasonSteps, source: 'signature' }
  } else if (DAY_MS % signature.stepMs === 0 && DAY_MS / signature.stepMs >= 2) {
    wanted = { seasonSteps: DAY_MS / signature.stepMs, source: 'day' }
  } else {
    return {
      seasonSteps: 1,
      source: 'fallback',
      note: `a day is not a whole number of ${signature.stepMs} ms steps: repeating the last value`,
    }
  }
  if (wanted.seasonSteps <= L) return wanted
  return {
    seasonSteps: 1,
    source: 'fallback',
    note: `a season of ${wanted.seasonSteps} steps (${wanted.source}) does not fit in the ${L}-step window: repeating the last value; use a window of at least ${wanted.seasonSteps} steps for a seasonal baseline`,
  }
}

class SeasonalNaiveModel implements ForecastModel {
  readonly algorithm = 'seasonal-naive'

  constructor(
    readonly signature: ForecastSignature,
    private readonly season: SeasonChoice,
  ) {}

  async predict(batch: WindowBatch): Promise<Float64Array> {
    checkWindows(batch, this.signature)
    const { window: L, horizon: H } = this.signature
    const S = this.season.seasonSteps
    const out = new Float64Array(batch.n * H)
    for (let i = 0; i < batch.n; i++) {
      // Step h looks back whole seasons until it lands inside the window (h > S wraps onto the same phase).
      for (let h = 1; h <= H; h++)
        out[i * H + h - 1] = batch.windows[i * L + L - 1 + h - Math.ceil(h / S) * S]!
    }
    return out
  }

  async save(): Promise<ModelArtifact> {
    return {
      algorithm: this.algorithm,
      signature: this.signature,
      format: FORMAT,
      files: { 'model.json': jsonFile(this.season) },
      params: { ...this.season },
    }
  }

  dispose(): void {}
}

/** Makes and reloads {@link SeasonalNaiveModel}s. */
export class SeasonalNaiveTrainer implements ForecastTrainer {
  readonly algorithm = 'seasonal-naive'

  available(): { ok: true } {
    return { ok: true }
  }

  /** Checks the windows (SIGNATURE_MISMATCH) and picks the season with {@link chooseSeason}. */
  async fit(data: TrainingBatch, options: FitOptions): Promise<ForecastModel> {
    checkWindows(data, options.signature)
    const season = chooseSeason(options.signature, (options.params ?? {}) as SeasonalNaiveParams)
    options.onProgress?.(1, season.note ?? `season of ${season.seasonSteps} steps`)
    return new SeasonalNaiveModel(options.signature, season)
  }

  async load(artifact: ModelArtifact): Promise<ForecastModel> {
    const json = readModelJson(artifact, this.algorithm, FORMAT)
    const signature = forecastSignatureOf(artifact)
    const S = json.seasonSteps
    if (typeof S !== 'number' || !Number.isInteger(S) || S < 1 || S > signature.window) {
      throw new AirlakeError(
        'BAD_REQUEST',
        `the seasonal-naive artifact has no valid season for a ${signature.window}-step window; retrain it`,
      )
    }
    const source = (json.source as SeasonChoice['source'] | undefined) ?? 'params'
    return new SeasonalNaiveModel(signature, {
      seasonSteps: S,
      source,
      note: typeof json.note === 'string' ? json.note : undefined,
    })
  }
}
