/**
 * Persistence, the first baseline: every horizon step forecasts the window's last value. Nothing is
 * learnt, so the seed and the training data only fix the signature; any model worth serving beats it.
 */
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
import { forecastSignatureOf, jsonFile, readModelJson } from './artifact.js'

const FORMAT = 'airlake-persistence/1'

class PersistenceModel implements ForecastModel {
  readonly algorithm = 'persistence'

  constructor(readonly signature: ForecastSignature) {}

  async predict(batch: WindowBatch): Promise<Float64Array> {
    checkWindows(batch, this.signature)
    const { window: L, horizon: H } = this.signature
    const out = new Float64Array(batch.n * H)
    for (let i = 0; i < batch.n; i++) out.fill(batch.windows[i * L + L - 1]!, i * H, (i + 1) * H)
    return out
  }

  async save(): Promise<ModelArtifact> {
    return {
      algorithm: this.algorithm,
      signature: this.signature,
      format: FORMAT,
      files: { 'model.json': jsonFile({}) },
      params: {},
    }
  }

  dispose(): void {}
}

/** Makes and reloads {@link PersistenceModel}s. */
export class PersistenceTrainer implements ForecastTrainer {
  readonly algorithm = 'persistence'

  available(): { ok: true } {
    return { ok: true }
  }

  /** Checks the windows against the signature (SIGNATURE_MISMATCH) and returns the model. */
  async fit(data: TrainingBatch, options: FitOptions): Promise<ForecastModel> {
    checkWindows(data, options.signature)
    options.onProgress?.(1, 'last value repeated')
    return new PersistenceModel(options.signature)
  }

  async load(artifact: ModelArtifact): Promise<ForecastModel> {
    readModelJson(artifact, this.algorithm, FORMAT)
    return new PersistenceModel(forecastSignatureOf(artifact))
  }
}
