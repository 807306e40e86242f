import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ForecastSignature } from '../core/model.js'
import { HOUR_MS } from '../core/time.js'
import { createDataset } from '../pipeline/dataset.js'
import { loadNoxSeries } from '../pipeline/datasets.js'
import { interpolateGaps } from '../pipeline/time-series.js'
import { forecastTrainerContract } from './forecast-trainer.contract.js'
import { RidgeTrainer } from './ridge.js'
import { SeasonalNaiveTrainer } from './seasonal-naive.js'
import { meanAbsoluteError, seasonalTask } from './testing.js'

forecastTrainerContract(new RidgeTrainer(), { maxRatioToPersistence: 0.75 })

test('ridge records the lambda it chose on the validation windows', async () => {
  const { signature, train, validation } = seasonalTask()
  const model = await new RidgeTrainer().fit(train, {
    signature,
    seed: 1,
    validation,
    params: { lambda: [1, 1000] },
  })
  const artifact = await model.save()
  assert.ok([1, 1000].includes(Number(artifact.params.lambda)))
})

test('on the real hourly NOx series (168 h -> 24 h) ridge beats seasonal naive', async () => {
  const { series } = interpolateGaps(loadNoxSeries(), 4)
  const data = createDataset(series, { window: 168, horizon: 24, split: 0.8, validation: 0.1, folds: 0 })
  const signature: ForecastSignature = {
    task: 'forecast',
    measure: 'nox_ppb',
    window: 168,
    horizon: 24,
    stepMs: HOUR_MS,
    seasonSteps: 24,
  }
  const options = { signature, seed: 42, validation: data.validation }
  const ridge = await new RidgeTrainer().fit(data.train, options)
  const seasonal = await new SeasonalNaiveTrainer().fit(data.train, options)
  const a = meanAbsoluteError(data.test.targets, await ridge.predict(data.test))
  const b = meanAbsoluteError(data.test.targets, await seasonal.predict(data.test))
  assert.ok(a < 0.85 * b, `ridge MAE ${a.toFixed(1)} ppb vs seasonal naive ${b.toFixed(1)} ppb`)
})
