import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { isAirlakeError } from '../core/errors.js'
import type { ForecastSignature } from '../core/model.js'
import { forecastTrainerContract } from './forecast-trainer.contract.js'
import { PersistenceTrainer } from './persistence.js'
import { chooseSeason, SeasonalNaiveTrainer } from './seasonal-naive.js'
import { meanAbsoluteError, seasonalTask } from './testing.js'

forecastTrainerContract(new SeasonalNaiveTrainer(), { maxRatioToPersistence: 0.9 })

const hourly: ForecastSignature = {
  task: 'forecast',
  measure: 'nox_ppb',
  window: 48,
  horizon: 30,
  stepMs: 3_600_000,
}

describe('seasonal naive', () => {
  test('forecasts the value one season earlier, wrapping for steps beyond a season', async () => {
    const windows = new Float64Array(48).map((_, i) => i)
    const model = await new SeasonalNaiveTrainer().fit(
      { n: 1, windows, targets: new Float64Array(30) },
      { signature: hourly, seed: 1 },
    )
    const out = await model.predict({ n: 1, windows })
    // Step h = 1 is index 47 + 1 - 24 = 24; h = 24 is 47; h = 25 wraps to 24 again.
    assert.equal(out[0], 24)
    assert.equal(out[23], 47)
    assert.equal(out[24], 24)
    assert.equal(out[29], 29)
  })

  test('takes the season from params, then the signature, then a day of steps', () => {
    assert.deepEqual(chooseSeason(hourly, { season: 12 }), { seasonSteps: 12, source: 'params' })
    assert.deepEqual(chooseSeason({ ...hourly, seasonSteps: 6 }), { seasonSteps: 6, source: 'signature' })
    assert.deepEqual(chooseSeason(hourly), { seasonSteps: 24, source: 'day' })
    assert.deepEqual(chooseSeason({ ...hourly, stepMs: 15 * 60_000, window: 96 }), {
      seasonSteps: 96,
      source: 'day',
    })
    assert.throws(
      () => chooseSeason(hourly, { season: 0 }),
      (error) => isAirlakeError(error, 'PARAMETER_INVALID'),
    )
  })

  test('falls back to persistence when a season is longer than the window, and records why', async () => {
    const minutes: ForecastSignature = {
      task: 'forecast',
      measure: 'iaq',
      window: 60,
      horizon: 15,
      stepMs: 60_000,
    }
    const choice = chooseSeason(minutes)
    assert.equal(choice.seasonSteps, 1)
    assert.equal(choice.source, 'fallback')
    assert.match(choice.note ?? '', /1440 steps .*60-step window/)
    const windows = new Float64Array(60).map((_, i) => i)
    const model = await new SeasonalNaiveTrainer().fit(
      { n: 1, windows, targets: new Float64Array(15) },
      { signature: minutes, seed: 1 },
    )
    assert.deepEqual([...(await model.predict({ n: 1, windows }))], new Array(15).fill(59))
    const artifact = await model.save()
    assert.equal(artifact.params.seasonSteps, 1)
    assert.match(String(artifact.params.note), /does not fit/)
  })

  test('on a daily cycle it beats persistence by a wide margin', async () => {
    const { signature, train, test: testSet } = seasonalTask()
    const seasonal = await new SeasonalNaiveTrainer().fit(train, { signature, seed: 1 })
    const persistence = await new PersistenceTrainer().fit(train, { signature, seed: 1 })
    const a = meanAbsoluteError(testSet.targets, await seasonal.predict(testSet))
    const b = meanAbsoluteError(testSet.targets, await persistence.predict(testSet))
    assert.ok(a < 0.8 * b, `seasonal ${a} vs persistence ${b}`)
  })
})
