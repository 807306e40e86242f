/**
 * The two neural network shapes airlake trains with TensorFlow.js, both mapping a window to the H
 * standardised residuals against the feature spec's base forecast (direct multi-horizon):
 * - `mlp`: the window's features (lags, rolling statistics, seasonal lags, calendar) through dense ReLU layers;
 * - `lstm`: an LSTM over the last `sequenceLength` values (relative to the last one) beside a dense
 *   branch over the same features, joined by a dense layer, so it sees recent dynamics as a sequence
 *   and the seasonal and calendar context the features carry.
 * Every initializer takes a seed derived from the fit's seed, so the same seed builds the same network.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs'
import { AirlakeError } from '../../core/errors.js'
import type { FeatureOptions } from '../../core/features.js'
import type { Tf } from './tfjs-runtime.js'

export type NetworkKind = 'mlp' | 'lstm'

/** Parameters of the TensorFlow.js trainers (`FitOptions.params`); defaults depend on the kind. */
export interface NetworkParams {
  /** Most passes over the (sampled) training windows; early stopping usually ends sooner. */
  epochs: number
  batchSize: number
  learningRate: number
  /** Training loss on the standardised residuals: `mae` (default: what the evaluator and model selection score) or `mse`. */
  loss: 'mse' | 'mae'
  /** Epochs without a better validation loss before stopping (the best epoch's weights are kept). */
  patience: number
  /** Units of each dense hidden layer. */
  hidden: number[]
  /** LSTM units (lstm only). */
  units: number
  /** Values at the end of the window the LSTM reads (lstm only; at most the window). */
  sequenceLength: number
  /** Windows drawn (seeded, without replacement) per epoch; 0 for all of them. */
  samplesPerEpoch: number
  /** Share of the latest training windows held out for early stopping when no validation is given. */
  holdout: number
  /** Feature choices, merged over the default `{ transform: 'auto' }` (log1p for positive skewed series such as NOx). */
  features: FeatureOptions
}

/** Defaults that keep training under a minute on ~10,000 windows of 60 -> 15 on two cores. */
export function defaultNetworkParams(kind: NetworkKind, window: number): NetworkParams {
  return kind === 'mlp'
    ? {
        epochs: 60,
        batchSize: 256,
        learningRate: 0.002,
        loss: 'mae',
        patience: 6,
        hidden: [32],
        units: 0,
        sequenceLength: 0,
        samplesPerEpoch: 0,
        holdout: 0.15,
        features: { transform: 'auto' },
      }
    : {
        epochs: 25,
        batchSize: 128,
        learningRate: 0.002,
        loss: 'mae',
        patience: 4,
        hidden: [64],
        units: 32,
        sequenceLength: Math.min(window, 24),
        samplesPerEpoch: 2048,
        holdout: 0.15,
        features: { transform: 'auto' },
      }
}

/** Defaults overridden by `params`, each checked; throws PARAMETER_INVALID naming the bad one. */
export function resolveNetworkParams(
  kind: NetworkKind,
  window: number,
  params: Record<string, unknown> = {},
): NetworkParams {
  const defaults = defaultNetworkParams(kind, window)
  const p = { ...defaults, ...params } as NetworkParams
  p.features = { ...defaults.features, ...(params.features as FeatureOptions | undefined) }
  const whole = (name: keyof NetworkParams, min: number) => {
    const v = p[name]
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `${kind} ${name} must be a whole number >= ${min}, got ${JSON.stringify(v)}`,
      )
    }
  }
  whole('epochs', 1)
  whole('batchSize', 1)
  whole('patience', 1)
  whole('samplesPerEpoch', 0)
  if (kind === 'lstm') {
    whole('units', 1)
    whole('sequenceLength', 2)
    if (p.sequenceLength > window) {
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `lstm sequenceLength ${p.sequenceLength} is longer than the ${window}-value window`,
      )
    }
  }
  if (p.loss !== 'mse' && p.loss !== 'mae') {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `${kind} loss must be mse or mae, got ${JSON.stringify(p.loss)}`,
    )
  }
  if (!(p.learningRate > 0 && p.learningRate < 1)) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `${kind} learningRate must be in (0, 1), got ${JSON.stringify(p.learningRate)}`,
    )
  }
  if (!(p.holdout > 0 && p.holdout < 1)) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `${kind} holdout must be in (0, 1), got ${JSON.stringify(p.holdout)}`,
    )
  }
  if (!Array.isArray(p.hidden) || p.hidden.some((u) => !Number.isInteger(u) || u < 1)) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `${kind} hidden must be a list of whole unit counts >= 1, got ${JSON.stringify(p.hidden)}`,
    )
  }
  return p
}

/** A seed per initializer, derived from the fit's seed. */
function seeds(seed: number): () => number {
  let k = 0
  return () => ((Math.trunc(seed) * 1_000_003 + ++k * 7_919) >>> 0) % 2_147_483_647
}

/**
 * The untrained network: inputs `features` (n × features) and, for lstm, `sequence` (n × sequence × 1)
 * first; output n × horizon.
 */
export function buildNetwork(
  tf: Tf,
  kind: NetworkKind,
  shape: { features: number; horizon: number },
  p: NetworkParams,
  seed: number,
): LayersModel {
  const next = seeds(seed)
  const dense = (units: number, activation: 'relu' | 'linear', name: string) =>
    tf.layers.dense({
      units,
      activation,
      name,
      kernelInitializer: tf.initializers.glorotUniform({ seed: next() }),
      biasInitializer: 'zeros',
    })
  const features = tf.input({ shape: [shape.features], name: 'features' })
  let hidden: SymbolicTensor = features
  const inputs: SymbolicTensor[] = [features]
  if (kind === 'lstm') {
    const sequence = tf.input({ shape: [p.sequenceLength, 1], name: 'sequence' })
    inputs.unshift(sequence)
    const recurrent = tf.layers
      .lstm({
        units: p.units,
        name: 'lstm',
        kernelInitializer: tf.initializers.glorotUniform({ seed: next() }),
        recurrentInitializer: tf.initializers.glorotUniform({ seed: next() }),
        unitForgetBias: true,
      })
      .apply(sequence) as SymbolicTensor
    const context = dense(p.hidden[0] ?? 32, 'relu', 'context').apply(features) as SymbolicTensor
    hidden = tf.layers.concatenate({ name: 'join' }).apply([recurrent, context]) as SymbolicTensor
  }
  p.hidden.forEach((units, i) => {
    hidden = dense(units, 'relu', `hidden_${i + 1}`).apply(hidden) as SymbolicTensor
  })
  const output = dense(shape.horizon, 'linear', 'residuals').apply(hidden) as SymbolicTensor
  return tf.model({ inputs, outputs: output, name: kind })
}
