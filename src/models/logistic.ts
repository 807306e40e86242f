/**
 * Logistic regression for tabular classification (seed 001's loan approval): numeric columns
 * standardised and categories one-hot (core/features' tabular encoding, fitted on the training rows),
 * a softmax over the classes (two classes included), L2 regularisation, fitted by Adam on mini-batches
 * in a seeded order. The problem is convex, so different seeds land on nearly the same model; the same
 * seed lands on exactly the same one.
 */
import { AirlakeError } from '../core/errors.js'
import {
  checkTabular,
  classIndices,
  decodeFloat64,
  encodeFloat64,
  encodeTabular,
  fitTabularEncoding,
  seededRandom,
  shuffledIndices,
  type TabularEncoding,
  tabularFeatureNames,
} from '../core/features.js'
import type {
  ClassificationModel,
  ClassificationSignature,
  ClassificationTrainer,
  ModelArtifact,
  TabularBatch,
} from '../core/model.js'
import { jsonFile, readModelJson } from './artifact.js'

const FORMAT = 'airlake-logistic/1'

/** Parameters of {@link LogisticTrainer.fit}. */
export interface LogisticParams {
  /** L2 penalty on the weights (not the intercepts), per training row. */
  lambda?: number
  /** Passes over the training rows. */
  epochs?: number
  batchSize?: number
  learningRate?: number
}

const DEFAULTS: Required<LogisticParams> = { lambda: 1e-3, epochs: 200, batchSize: 256, learningRate: 0.05 }

interface LogisticState {
  encoding: TabularEncoding
  /** d × K weights on encoded columns and K intercepts. */
  weights: Float64Array
  intercept: Float64Array
}

/** Softmax probabilities of the rows of `x` (n × d), into n × K. */
function probabilities(
  x: Float64Array,
  n: number,
  d: number,
  state: Pick<LogisticState, 'weights' | 'intercept'>,
): Float64Array {
  const K = state.intercept.length
  const out = new Float64Array(n * K)
  for (let i = 0; i < n; i++) {
    let max = Number.NEGATIVE_INFINITY
    for (let k = 0; k < K; k++) {
      let z = state.intercept[k]!
      for (let j = 0; j < d; j++) z += x[i * d + j]! * state.weights[j * K + k]!
      out[i * K + k] = z
      max = Math.max(max, z)
    }
    let sum = 0
    for (let k = 0; k < K; k++) {
      const e = Math.exp(out[i * K + k]! - max)
      out[i * K + k] = e
      sum += e
    }
    for (let k = 0; k < K; k++) out[i * K + k]! /= sum
  }
  return out
}

class LogisticModel implements ClassificationModel {
  readonly algorithm = 'logistic'

  constructor(
    readonly signature: ClassificationSignature,
    private readonly state: LogisticState,
    private readonly params: Record<string, unknown>,
  ) {}

  async predictProba(batch: TabularBatch): Promise<Float64Array> {
    checkTabular(batch, this.signature)
    const m = encodeTabular(batch, this.state.encoding)
    return probabilities(m.x, m.n, m.d, this.state)
  }

  async save(): Promise<ModelArtifact> {
    const { encoding, weights, intercept } = this.state
    return {
      algorithm: this.algorithm,
      signature: this.signature,
      format: FORMAT,
      files: {
        'model.json': jsonFile({
          encoding,
          weights: encodeFloat64(weights),
          intercept: encodeFloat64(intercept),
        }),
      },
      params: this.params,
    }
  }

  dispose(): void {}
}

/** Trains and reloads {@link LogisticModel}s. */
export class LogisticTrainer implements ClassificationTrainer {
  readonly algorithm = 'logistic'

  available(): { ok: true } {
    return { ok: true }
  }

  /**
   * Fits on `data` with one label per row, each one of `signature.classes`. Throws SIGNATURE_MISMATCH
   * for missing columns or a label count that is not the row count, PARAMETER_INVALID for an unknown
   * label or bad parameter, INSUFFICIENT_DATA without rows or with fewer than two classes.
   */
  async fit(
    data: TabularBatch,
    labels: string[],
    options: { signature: ClassificationSignature; seed: number; params?: Record<string, unknown> },
  ): Promise<ClassificationModel> {
    const { signature, seed } = options
    checkTabular(data, signature)
    const p = { ...DEFAULTS, ...((options.params ?? {}) as LogisticParams) }
    if (
      !(p.lambda >= 0) ||
      !(p.learningRate > 0) ||
      !Number.isInteger(p.epochs) ||
      p.epochs < 1 ||
      !Number.isInteger(p.batchSize) ||
      p.batchSize < 1
    ) {
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `logistic needs lambda >= 0, learningRate > 0 and whole epochs and batchSize >= 1, got ${JSON.stringify(options.params)}`,
      )
    }
    if (labels.length !== data.n)
      throw new AirlakeError('SIGNATURE_MISMATCH', `${labels.length} labels for ${data.n} rows`)
    const K = signature.classes.length
    if (data.n === 0 || K < 2)
      throw new AirlakeError(
        'INSUFFICIENT_DATA',
        `logistic needs rows and at least two classes, got ${data.n} rows and ${K} classes`,
      )
    const y = classIndices(labels, signature)

    const encoding = fitTabularEncoding(data, signature)
    const { x, n, d } = encodeTabular(data, encoding)
    const weights = new Float64Array(d * K)
    const intercept = new Float64Array(K)
    // Adam moments for weights then intercepts, in one array each.
    const m1 = new Float64Array(d * K + K)
    const m2 = new Float64Array(d * K + K)
    const grad = new Float64Array(d * K + K)
    const random = seededRandom(seed)
    let step = 0
    for (let epoch = 0; epoch < p.epochs; epoch++) {
      const order = shuffledIndices(n, random)
      for (let start = 0; start < n; start += p.batchSize) {
        const rows = order.subarray(start, Math.min(n, start + p.batchSize))
        grad.fill(0)
        for (const i of rows) {
          const probs = probabilities(x.subarray(i * d, (i + 1) * d), 1, d, { weights, intercept })
          for (let k = 0; k < K; k++) {
            const error = (probs[k]! - (y[i] === k ? 1 : 0)) / rows.length
            for (let j = 0; j < d; j++) grad[j * K + k]! += error * x[i * d + j]!
            grad[d * K + k]! += error
          }
        }
        for (let j = 0; j < d * K; j++) grad[j]! += p.lambda * weights[j]!
        step++
        const c1 = 1 - 0.9 ** step
        const c2 = 1 - 0.999 ** step
        for (let j = 0; j < grad.length; j++) {
          m1[j] = 0.9 * m1[j]! + 0.1 * grad[j]!
          m2[j] = 0.999 * m2[j]! + 0.001 * grad[j]! * grad[j]!
          const delta = (p.learningRate * (m1[j]! / c1)) / (Math.sqrt(m2[j]! / c2) + 1e-8)
          if (j < d * K) weights[j]! -= delta
          else intercept[j - d * K]! -= delta
        }
      }
    }
    return new LogisticModel(
      signature,
      { encoding, weights, intercept },
      { ...p, features: tabularFeatureNames(encoding) },
    )
  }

  async load(artifact: ModelArtifact): Promise<ClassificationModel> {
    const json = readModelJson(artifact, this.algorithm, FORMAT)
    if (artifact.signature.task !== 'classification')
      throw new AirlakeError('BAD_REQUEST', 'the logistic artifact is not a classification model')
    const encoding = json.encoding as TabularEncoding
    const weights = decodeFloat64(String(json.weights))
    const intercept = decodeFloat64(String(json.intercept))
    const K = artifact.signature.classes.length
    if (
      encoding?.version !== 1 ||
      intercept.length !== K ||
      weights.length !== tabularFeatureNames(encoding).length * K
    ) {
      throw new AirlakeError(
        'BAD_REQUEST',
        'the logistic artifact does not match its signature; retrain the model',
      )
    }
    return new LogisticModel(artifact.signature, { encoding, weights, intercept }, artifact.params)
  }
}
