import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isAirlakeError } from '../core/errors.js'
import type { ForecastModel, ForecastSignature, WindowBatch } from '../core/model.js'
import { evaluateModels, forecastMetrics, metricsRecord } from './evaluate.js'

describe('forecastMetrics', () => {
  it('computes MAE, RMSE and sMAPE per horizon step and on average', () => {
    // Two windows, H = 2: errors step 1: 1, 3; step 2: 0, 4.
    const actual = Float64Array.from([10, 20, 10, 20])
    const predicted = Float64Array.from([11, 20, 7, 24])
    const m = forecastMetrics(actual, predicted, 2)
    assert.equal(m.n, 2)
    assert.deepEqual(m.maeByHorizon, [2, 2])
    assert.equal(m.mae, 2)
    assert.equal(m.rmse, Math.sqrt((1 + 9 + 0 + 16) / 4))
    assert.deepEqual(m.rmseByHorizon, [Math.sqrt(5), Math.sqrt(8)])
    const s1 = ((200 * 1) / 21 + (200 * 3) / 17) / 2
    const s2 = (0 + (200 * 4) / 44) / 2
    assert.ok(Math.abs(m.smapeByHorizon[0]! - s1) < 1e-12)
    assert.ok(Math.abs(m.smape - (s1 + s2) / 2) < 1e-12)
  })

  it('counts 0 for a zero forecast of a zero actual', () => {
    assert.equal(forecastMetrics(Float64Array.from([0]), Float64Array.from([0]), 1).smape, 0)
  })

  it('refuses shapes that do not fit', () => {
    assert.throws(
      () => forecastMetrics(new Float64Array(4), new Float64Array(3), 2),
      (e) => isAirlakeError(e, 'SIGNATURE_MISMATCH'),
    )
  })

  it('flattens into the record a model version keeps', () => {
    const record = metricsRecord(forecastMetrics(Float64Array.from([1, 2]), Float64Array.from([2, 2]), 2))
    assert.deepEqual(Object.keys(record), [
      'mae',
      'rmse',
      'smape',
      'n_windows',
      'mae_h1',
      'mae_h2',
      'rmse_h1',
      'rmse_h2',
      'smape_h1',
      'smape_h2',
    ])
    assert.equal(record.mae_h1, 1)
  })
})

describe('evaluateModels', () => {
  const signature: ForecastSignature = { task: 'forecast', measure: 'x', window: 2, horizon: 1, stepMs: 1000 }
  const constant = (value: number): ForecastModel => ({
    algorithm: `const-${value}`,
    signature,
    predict: async (batch: WindowBatch) => new Float64Array(batch.n).fill(value),
    save: async () => {
      throw new Error('not saved in this test')
    },
    dispose: () => {},
  })

  it('scores every model on the same windows and keeps the example forecast', async () => {
    const test = {
      n: 3,
      windows: Float64Array.from([1, 2, 2, 3, 3, 4]),
      targets: Float64Array.from([3, 4, 5]),
      times: Float64Array.from([1, 2, 3]),
    }
    const evaluation = await evaluateModels(
      [
        { algorithm: 'a', role: 'candidate', model: constant(4) },
        { algorithm: 'b', role: 'baseline', model: constant(0) },
      ],
      test,
    )
    assert.equal(evaluation.windows, 3)
    assert.deepEqual(
      evaluation.models.map((m) => [m.algorithm, m.metrics.n, m.metrics.mae]),
      [
        ['a', 3, 2 / 3],
        ['b', 3, 4],
      ],
    )
    assert.deepEqual(evaluation.example, { index: 1, timeMs: 2, inputs: [2, 3], actuals: [4] })
    assert.deepEqual(evaluation.models[0]!.example, [4])
  })

  it('refuses an empty test set', async () => {
    await assert.rejects(
      evaluateModels([{ algorithm: 'a', role: 'candidate', model: constant(1) }], {
        n: 0,
        windows: new Float64Array(0),
        targets: new Float64Array(0),
      }),
      (e) => isAirlakeError(e, 'INSUFFICIENT_DATA'),
    )
  })
})
