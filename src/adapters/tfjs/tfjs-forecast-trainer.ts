/**
 * MLP and LSTM forecasters on TensorFlow.js (WebAssembly backend). Each fits its own normalisation on
 * the training windows only (the feature spec, column statistics, and per-step target statistics),
 * trains with Adam on seeded shuffles with early stopping on validation windows (keeping the best
 * epoch's weights), reports progress per epoch, and saves a tfjs layers model (`model.json` +
 * `weights.bin`) that reloads to identical forecasts on the same backend.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs'
import { AirlakeError } from '../../core/errors.js'
import {
  type ColumnStats,
  checkWindows,
  decodeFloat64,
  encodeFloat64,
  type FeatureSpec,
  fitColumnStats,
  fitFeatureSpec,
  forecastFromResiduals,
  readFeatureSpec,
  relativeWindows,
  residualTargets,
  seededRandom,
  shuffledIndices,
  standardiseColumns,
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
import type { Logger } from '../../core/ports/logger.js'
import { buildNetwork, type NetworkKind, resolveNetworkParams } from './forecast-networks.js'
import { loadLayersModel, saveLayersModel } from './tfjs-artifact.js'
import { loadTfjs, type Tf, tfjsAvailability } from './tfjs-runtime.js'

const FORMAT = 'tfjs-layers'
const PREDICT_BATCH = 1024

/** What a network needs besides its weights to turn windows into forecasts. */
interface Preprocessing {
  spec: FeatureSpec
  /** Standardisation of the feature columns. */
  features: ColumnStats
  /** Standardisation of the H residual targets. */
  targets: ColumnStats
  /** Values the LSTM reads (0 for the MLP). */
  sequenceLength: number
}

/** The network's inputs for a batch, in the order of `buildNetwork` (sequence first, then features). */
function networkInputs(tf: Tf, batch: WindowBatch, pre: Preprocessing): Tensor[] {
  const m = standardiseColumns(windowFeatures(batch, pre.spec), pre.features)
  const inputs: Tensor[] = [tf.tensor2d(Float32Array.from(m.x), [m.n, m.d])]
  if (pre.sequenceLength > 0) {
    const L = pre.spec.window
    const S = pre.sequenceLength
    const relative = relativeWindows(batch, pre.spec)
    const sequence = new Float32Array(batch.n * S)
    for (let i = 0; i < batch.n; i++) sequence.set(relative.subarray(i * L + L - S, (i + 1) * L), i * S)
    inputs.unshift(tf.tensor3d(sequence, [batch.n, S, 1]))
  }
  return inputs
}

/** Residual targets standardised per horizon step. */
function standardTargets(batch: TrainingBatch, pre: Pick<Preprocessing, 'spec' | 'targets'>): Float32Array {
  const r = residualTargets(batch, batch.targets, pre.spec)
  const H = pre.spec.horizon
  return Float32Array.from(r, (v, i) => (v - pre.targets.mean[i % H]!) / pre.targets.std[i % H]!)
}

function rows(data: TrainingBatch, from: number, to: number, L: number, H: number): TrainingBatch {
  return {
    n: to - from,
    windows: data.windows.subarray(from * L, to * L),
    targets: data.targets.subarray(from * H, to * H),
    times: data.times?.subarray(from, to),
  }
}

function encodeStats(stats: ColumnStats) {
  return { mean: encodeFloat64(stats.mean), std: encodeFloat64(stats.std) }
}

function decodeStats(value: unknown, d: number, what: string): ColumnStats {
  const v = value as { mean?: unknown; std?: unknown } | undefined
  const mean = typeof v?.mean === 'string' ? [...decodeFloat64(v.mean)] : []
  const std = typeof v?.std === 'string' ? [...decodeFloat64(v.std)] : []
  if (mean.length !== d || std.length !== d) {
    throw new AirlakeError(
      'BAD_REQUEST',
      `the tfjs artifact's ${what} statistics do not match its network; retrain the model`,
    )
  }
  return { mean, std }
}

class TfjsForecastModel implements ForecastModel {
  private network: LayersModel | undefined

  constructor(
    readonly algorithm: NetworkKind,
    readonly signature: ForecastSignature,
    private readonly tf: Tf,
    network: LayersModel,
    private readonly pre: Preprocessing,
    private readonly params: Record<string, unknown>,
  ) {
    this.network = network
  }

  private live(): LayersModel {
    if (this.network === undefined)
      throw new AirlakeError('INTERNAL', `this ${this.algorithm} model was disposed; load it again`)
    return this.network
  }

  async predict(batch: WindowBatch): Promise<Float64Array> {
    checkWindows(batch, this.signature)
    const network = this.live()
    if (batch.n === 0) return new Float64Array(0)
    const inputs = networkInputs(this.tf, batch, this.pre)
    let output: Tensor | undefined
    try {
      output = network.predict(inputs, { batchSize: PREDICT_BATCH }) as Tensor
      const values = await output.data()
      const H = this.signature.horizon
      const { mean, std } = this.pre.targets
      const residuals = Float64Array.from(values, (v, i) => v * std[i % H]! + mean[i % H]!)
      return forecastFromResiduals(batch, residuals, this.pre.spec)
    } finally {
      for (const t of inputs) t.dispose()
      output?.dispose()
    }
  }

  async save(): Promise<ModelArtifact> {
    const { spec, features, targets, sequenceLength } = this.pre
    const files = await saveLayersModel(this.tf, this.live(), {
      airlake: {
        algorithm: this.algorithm,
        spec,
        features: encodeStats(features),
        targets: encodeStats(targets),
        sequenceLength,
      },
    })
    return {
      algorithm: this.algorithm,
      signature: this.signature,
      format: FORMAT,
      files,
      params: this.params,
    }
  }

  dispose(): void {
    this.network?.dispose()
    this.network = undefined
  }
}

/** Trains and reloads MLP or LSTM forecasters; `logger` hears about a backend fallback. */
export class TfjsForecastTrainer implements ForecastTrainer {
  constructor(
    readonly algorithm: NetworkKind,
    private readonly logger: Logger,
  ) {}

  available(): { ok: true } | { ok: false; reason: string } {
    return tfjsAvailability()
  }

  /**
   * Fits on `data`, stopping early on `options.validation` (or else on the latest `holdout` share of
   * `data`, which is then not trained on). Throws INSUFFICIENT_DATA with fewer than 20 windows,
   * PARAMETER_INVALID for a bad parameter, DEPENDENCY_MISSING without TensorFlow.js; aborts on `signal`.
   */
  async fit(data: TrainingBatch, options: FitOptions): Promise<ForecastModel> {
    const { signature, seed } = options
    checkWindows(data, signature)
    const L = signature.window
    const H = signature.horizon
    const p = resolveNetworkParams(this.algorithm, L, options.params)
    if (data.n < 20)
      throw new AirlakeError(
        'INSUFFICIENT_DATA',
        `${this.algorithm} needs at least 20 training windows, got ${data.n}`,
      )
    const tf = await loadTfjs(this.logger)

    let train = data
    let check = options.validation
    if (check === undefined || check.n === 0) {
      const cut = Math.floor(data.n * (1 - p.holdout))
      train = rows(data, 0, cut, L, H)
      check = rows(data, cut, data.n, L, H)
    } else {
      checkWindows(check, signature)
    }
    const spec = fitFeatureSpec(train, signature, p.features)
    const m = windowFeatures(train, spec)
    const r = residualTargets(train, train.targets, spec)
    const pre: Preprocessing = {
      spec,
      features: fitColumnStats(m),
      targets: fitColumnStats({ n: train.n, d: H, x: r }),
      sequenceLength: this.algorithm === 'lstm' ? p.sequenceLength : 0,
    }

    const tensors: Tensor[] = []
    const keep = <T extends Tensor>(t: T): T => {
      tensors.push(t)
      return t
    }
    let network: LayersModel | undefined
    let best: Tensor[] | undefined
    const optimizer = tf.train.adam(p.learningRate)
    try {
      const xTrain = networkInputs(tf, train, pre).map(keep)
      const yTrain = keep(tf.tensor2d(standardTargets(train, pre), [train.n, H]))
      const xCheck = networkInputs(tf, check, pre).map(keep)
      const yCheck = keep(tf.tensor2d(standardTargets(check, pre), [check.n, H]))
      network = buildNetwork(tf, this.algorithm, { features: m.d, horizon: H }, p, seed)
      network.compile({
        optimizer,
        loss: p.loss === 'mae' ? 'meanAbsoluteError' : 'meanSquaredError',
      })

      const random = seededRandom(seed)
      const perEpoch = p.samplesPerEpoch > 0 ? Math.min(p.samplesPerEpoch, train.n) : train.n
      let bestLoss = Number.POSITIVE_INFINITY
      let bestEpoch = 0
      let epoch = 0
      while (epoch < p.epochs && epoch - bestEpoch < p.patience) {
        epoch++
        const order = shuffledIndices(train.n, random).subarray(0, perEpoch)
        let lossSum = 0
        let batches = 0
        for (let start = 0; start < perEpoch; start += p.batchSize) {
          options.signal?.throwIfAborted()
          const indices = tf.tensor1d(
            Int32Array.from(order.subarray(start, Math.min(perEpoch, start + p.batchSize))),
            'int32',
          )
          const xb = xTrain.map((x) => tf.gather(x, indices))
          const yb = tf.gather(yTrain, indices)
          try {
            lossSum += Number(await network.trainOnBatch(xb, yb))
            batches++
          } finally {
            indices.dispose()
            for (const t of xb) t.dispose()
            yb.dispose()
          }
          // trainOnBatch settles in a microtask: without a macrotask turn here, a server training a model
          // would answer no request until the whole fit is done.
          await new Promise((resolve) => setImmediate(resolve))
        }
        const evaluated = network.evaluate(xCheck, yCheck, { batchSize: PREDICT_BATCH }) as Tensor
        const checkLoss = (await evaluated.data())[0]!
        evaluated.dispose()
        if (checkLoss < bestLoss) {
          bestLoss = checkLoss
          bestEpoch = epoch
          for (const t of best ?? []) t.dispose()
          best = network.getWeights().map((w) => w.clone())
        }
        options.onProgress?.(
          Math.min(0.99, epoch / p.epochs),
          `epoch ${epoch}/${p.epochs}: loss ${(lossSum / batches).toFixed(4)}, validation ${checkLoss.toFixed(4)}`,
        )
      }
      if (best === undefined) {
        throw new AirlakeError(
          'PARAMETER_INVALID',
          `${this.algorithm} training diverged (validation loss ${bestLoss}): lower learningRate (now ${p.learningRate})`,
        )
      }
      network.setWeights(best)
      options.onProgress?.(1, `best epoch ${bestEpoch} of ${epoch} (validation loss ${bestLoss.toFixed(4)})`)
      const { features: _features, units, sequenceLength, ...common } = p
      const model = new TfjsForecastModel(this.algorithm, signature, tf, network, pre, {
        ...(this.algorithm === 'lstm' ? { ...common, units, sequenceLength } : common),
        epochsRun: epoch,
        bestEpoch,
        validationLoss: bestLoss,
        backend: tf.getBackend(),
        features: spec,
      })
      network = undefined
      return model
    } finally {
      for (const t of tensors) t.dispose()
      for (const t of best ?? []) t.dispose()
      optimizer.dispose()
      network?.dispose()
    }
  }

  async load(artifact: ModelArtifact): Promise<ForecastModel> {
    if (artifact.algorithm !== this.algorithm || artifact.format !== FORMAT) {
      throw new AirlakeError(
        'BAD_REQUEST',
        `the ${this.algorithm} loader reads ${FORMAT} artifacts, got ${artifact.algorithm}/${artifact.format}`,
      )
    }
    if (artifact.signature.task !== 'forecast')
      throw new AirlakeError('BAD_REQUEST', `the ${this.algorithm} artifact is not a forecasting model`)
    const signature = artifact.signature
    const tf = await loadTfjs(this.logger)
    const { model: network, metadata } = await loadLayersModel(tf, artifact.files)
    try {
      const meta = metadata.airlake as Record<string, unknown> | undefined
      if (meta?.algorithm !== this.algorithm)
        throw new AirlakeError('BAD_REQUEST', `the artifact's network is not an airlake ${this.algorithm}`)
      const spec = readFeatureSpec(meta.spec, signature)
      const d = (network.inputs.find((input) => input.name.startsWith('features'))?.shape[1] ?? 0) as number
      const sequenceLength = Number(meta.sequenceLength)
      if (!Number.isInteger(sequenceLength) || sequenceLength < 0 || sequenceLength > signature.window) {
        throw new AirlakeError(
          'BAD_REQUEST',
          'the tfjs artifact has no valid sequence length; retrain the model',
        )
      }
      const pre: Preprocessing = {
        spec,
        features: decodeStats(meta.features, d, 'feature'),
        targets: decodeStats(meta.targets, signature.horizon, 'target'),
        sequenceLength,
      }
      return new TfjsForecastModel(this.algorithm, signature, tf, network, pre, artifact.params)
    } catch (error) {
      network.dispose()
      throw error
    }
  }
}
