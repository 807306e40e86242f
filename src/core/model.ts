/**
 * The model interface shared by training, the registry and serving (DESIGN.md section 6).
 *
 * A forecasting model maps windows of L past values of one measure (oldest first, on a grid of `stepMs`)
 * to the next H values. It handles its own normalisation and feature derivation, so what is served is
 * exactly the signature: (-1, L) -> (-1, H). Tabular classifiers map named feature rows to class
 * probabilities. Every trained model saves an artifact that reloads to identical predictions.
 */

/** Names accepted on the command line (`--models`). */
export const FORECAST_ALGORITHMS = [
  'persistence',
  'seasonal-naive',
  'ridge',
  'xgboost',
  'mlp',
  'lstm',
] as const
export type ForecastAlgorithm = (typeof FORECAST_ALGORITHMS)[number]

export interface ForecastSignature {
  task: 'forecast'
  /** The measure forecast, e.g. `iaq`, `nox_ppb`. */
  measure: string
  /** L: input values per window. */
  window: number
  /** H: output values per window. */
  horizon: number
  /** Grid step in ms (60,000 for the IAQ task, 3,600,000 for hourly NOx). */
  stepMs: number
  /** Season length in steps for seasonal features and the seasonal-naive baseline (1,440/step for a day). */
  seasonSteps?: number | undefined
}

export interface ClassificationSignature {
  task: 'classification'
  /** Input columns in order, with their kind. */
  inputs: Array<{ name: string; type: 'number' | 'category'; categories?: string[] }>
  /** Class labels; predictions are the probability of each. */
  classes: string[]
  target: string
}

export type Signature = ForecastSignature | ClassificationSignature

/**
 * A batch of forecast windows. `windows` is row-major n × L (oldest value first). `times` is the time of
 * each window's last value (ms), for calendar features; models must work without it (then they skip
 * calendar features or use what they recorded at training).
 */
export interface WindowBatch {
  n: number
  windows: Float64Array
  times?: Float64Array | undefined
}

/** Training data: windows and their targets (row-major n × H). */
export interface TrainingBatch extends WindowBatch {
  targets: Float64Array
}

export interface FitOptions {
  signature: ForecastSignature
  /** Seed for every random choice (initialisation, shuffling, subsampling): same seed, same model. */
  seed: number
  /** Optional held-out data for early stopping (never the test split). */
  validation?: TrainingBatch | undefined
  /** Algorithm-specific hyper-parameters; defaults are sensible for the two shipped tasks. */
  params?: Record<string, unknown> | undefined
  /** Progress in [0, 1] with a short message (epochs, boosting rounds). */
  onProgress?: ((fraction: number, message: string) => void) | undefined
  /** Stops training early when aborted. */
  signal?: AbortSignal | undefined
}

/** The files of a saved model; `model.json` in `files` describes the rest. */
export interface ModelArtifact {
  algorithm: string
  signature: Signature
  /** Artifact format (`airlake-ridge/1`, `xgboost-ubj`, `tfjs-layers`, `onnx`). */
  format: string
  files: Record<string, Uint8Array>
  /** Hyper-parameters and anything else needed to reload. */
  params: Record<string, unknown>
}

export interface ForecastModel {
  readonly algorithm: string
  readonly signature: ForecastSignature
  /** Forecasts: row-major n × H. Throws SIGNATURE_MISMATCH when the windows are not n × L. */
  predict(batch: WindowBatch): Promise<Float64Array>
  save(): Promise<ModelArtifact>
  /** Frees native or GPU memory (XGBoost boosters, tfjs tensors). */
  dispose(): void
}

/** A kind of forecasting model: trains new ones and reloads saved ones. */
export interface ForecastTrainer {
  readonly algorithm: string
  /** Whether the kind can run here (e.g. libxgboost found); the reason says what to install. */
  available(): { ok: true } | { ok: false; reason: string }
  fit(data: TrainingBatch, options: FitOptions): Promise<ForecastModel>
  load(artifact: ModelArtifact): Promise<ForecastModel>
}

/** Rows of named tabular features: numbers, or category strings; `null` for missing. */
export interface TabularBatch {
  n: number
  columns: Record<string, Array<number | string | null>>
}

export interface ClassificationModel {
  readonly algorithm: string
  readonly signature: ClassificationSignature
  /** Class probabilities, row-major n × classes. */
  predictProba(batch: TabularBatch): Promise<Float64Array>
  save(): Promise<ModelArtifact>
  dispose(): void
}

export interface ClassificationTrainer {
  readonly algorithm: string
  available(): { ok: true } | { ok: false; reason: string }
  fit(
    data: TabularBatch,
    labels: string[],
    options: { signature: ClassificationSignature; seed: number; params?: Record<string, unknown> },
  ): Promise<ClassificationModel>
  load(artifact: ModelArtifact): Promise<ClassificationModel>
}
