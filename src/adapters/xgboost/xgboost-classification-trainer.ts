/**
 * Gradient-boosted trees for tabular classification (seed 001's loan approval) through libxgboost:
 * categories one-hot and numbers standardised by the core tabular encoding, missing numbers left as
 * NaN for XGBoost to route, `binary:logistic` for two classes and `multi:softprob` for more. Same seed
 * and thread count, same model.
 */
import { availableParallelism } from 'node:os'
import { AirlakeError } from '../../core/errors.js'
import {
  checkTabular,
  classIndices,
  encodeTabular,
  fitTabularEncoding,
  type TabularEncoding,
  tabularFeatureNames,
} from '../../core/features.js'
import type {
  ClassificationModel,
  ClassificationSignature,
  ClassificationTrainer,
  ModelArtifact,
  TabularBatch,
} from '../../core/model.js'
import {
  type BoosterHandle,
  loadXgboost,
  type XgboostLibrary,
  xgboostAvailability,
} from './xgboost-library.js'
import { XGBOOST_FORMAT, XgboostModel } from './xgboost-model.js'

/** Parameters of {@link XgboostClassificationTrainer.fit}. */
export interface XgboostClassificationParams {
  rounds?: number
  learningRate?: number
  maxDepth?: number
  minChildWeight?: number
  subsample?: number
  colsampleBytree?: number
  lambda?: number
}

const DEFAULTS: Required<XgboostClassificationParams> = {
  rounds: 150,
  learningRate: 0.1,
  maxDepth: 4,
  minChildWeight: 1,
  subsample: 0.8,
  colsampleBytree: 0.8,
  lambda: 1,
}

class XgboostClassificationModel
  extends XgboostModel<ClassificationSignature>
  implements ClassificationModel
{
  constructor(
    signature: ClassificationSignature,
    library: XgboostLibrary,
    booster: BoosterHandle,
    threads: number,
    private readonly encoding: TabularEncoding,
    params: Record<string, unknown>,
  ) {
    super(signature, library, booster, threads, { encoding }, params)
  }

  async predictProba(batch: TabularBatch): Promise<Float64Array> {
    checkTabular(batch, this.signature)
    const K = this.signature.classes.length
    if (batch.n === 0) return new Float64Array(0)
    const m = encodeTabular(batch, this.encoding, { missing: 'nan' })
    const values = this.boost(Float32Array.from(m.x), m.n, m.d)
    if (K > 2) return Float64Array.from(values)
    // binary:logistic gives P(second class) per row.
    const out = new Float64Array(batch.n * 2)
    for (let i = 0; i < batch.n; i++) {
      out[2 * i] = 1 - values[i]!
      out[2 * i + 1] = values[i]!
    }
    return out
  }
}

/** Trains and reloads XGBoost classifiers; `libraryPath` overrides the search for libxgboost. */
export class XgboostClassificationTrainer implements ClassificationTrainer {
  readonly algorithm = 'xgboost'

  constructor(private readonly options: { libraryPath?: string; nthread?: number } = {}) {}

  available(): { ok: true } | { ok: false; reason: string } {
    return xgboostAvailability(this.options.libraryPath)
  }

  /**
   * Fits `rounds` boosting rounds on `data` with one label per row, each one of `signature.classes`.
   * Throws SIGNATURE_MISMATCH for missing columns or a label count that is not the row count,
   * PARAMETER_INVALID for an unknown label, INSUFFICIENT_DATA without rows or with fewer than two classes,
   * DEPENDENCY_MISSING without libxgboost.
   */
  async fit(
    data: TabularBatch,
    labels: string[],
    options: { signature: ClassificationSignature; seed: number; params?: Record<string, unknown> },
  ): Promise<ClassificationModel> {
    const library = loadXgboost(this.options.libraryPath)
    const { signature } = options
    checkTabular(data, signature)
    if (labels.length !== data.n)
      throw new AirlakeError('SIGNATURE_MISMATCH', `${labels.length} labels for ${data.n} rows`)
    const K = signature.classes.length
    if (data.n === 0 || K < 2)
      throw new AirlakeError(
        'INSUFFICIENT_DATA',
        `xgboost needs rows and at least two classes, got ${data.n} rows and ${K} classes`,
      )
    const p = { ...DEFAULTS, ...((options.params ?? {}) as XgboostClassificationParams) }
    if (!Number.isInteger(p.rounds) || p.rounds < 1)
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `xgboost rounds must be a whole number >= 1, got ${p.rounds}`,
      )
    const y = Float32Array.from(classIndices(labels, signature))
    const encoding = fitTabularEncoding(data, signature)
    const m = encodeTabular(data, encoding, { missing: 'nan' })
    const nthread = this.options.nthread ?? Math.min(4, availableParallelism())
    const train = library.dmatrix(Float32Array.from(m.x), m.n, m.d, { values: y, columns: 1 })
    try {
      const booster = library.booster([train], {
        ...(K > 2 ? { objective: 'multi:softprob', num_class: K } : { objective: 'binary:logistic' }),
        tree_method: 'hist',
        eta: p.learningRate,
        max_depth: p.maxDepth,
        min_child_weight: p.minChildWeight,
        subsample: p.subsample,
        colsample_bytree: p.colsampleBytree,
        lambda: p.lambda,
        seed: options.seed,
        nthread,
        verbosity: 0,
      })
      try {
        for (let round = 0; round < p.rounds; round++) {
          library.updateOneIter(booster, round, train)
          await new Promise((resolve) => setImmediate(resolve)) // let the event loop run between rounds
        }
      } catch (error) {
        library.freeBooster(booster)
        throw error
      }
      return new XgboostClassificationModel(signature, library, booster, nthread, encoding, {
        ...p,
        nthread,
        features: tabularFeatureNames(encoding),
      })
    } finally {
      library.freeDMatrix(train)
    }
  }

  async load(artifact: ModelArtifact): Promise<ClassificationModel> {
    const library = loadXgboost(this.options.libraryPath)
    if (artifact.algorithm !== this.algorithm || artifact.format !== XGBOOST_FORMAT) {
      throw new AirlakeError(
        'BAD_REQUEST',
        `the xgboost loader reads ${XGBOOST_FORMAT} artifacts, got ${artifact.algorithm}/${artifact.format}`,
      )
    }
    if (artifact.signature.task !== 'classification')
      throw new AirlakeError('BAD_REQUEST', 'the artifact is not a classification model')
    const bytes = artifact.files['model.ubj']
    const json = artifact.files['model.json']
    if (bytes === undefined || json === undefined)
      throw new AirlakeError('BAD_REQUEST', 'the xgboost artifact needs model.ubj and model.json')
    const meta = JSON.parse(new TextDecoder().decode(json)) as { encoding?: TabularEncoding }
    if (meta.encoding?.version !== 1)
      throw new AirlakeError('BAD_REQUEST', 'the xgboost artifact has no tabular encoding; retrain the model')
    const nthread = this.options.nthread ?? Math.min(4, availableParallelism())
    const booster = library.load(bytes, { nthread })
    return new XgboostClassificationModel(
      artifact.signature,
      library,
      booster,
      nthread,
      meta.encoding,
      artifact.params,
    )
  }
}
