import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isAirlakeError } from '../../core/errors.js'
import { forecastTrainerContract } from '../../models/forecast-trainer.contract.js'
import { seasonalTask } from '../../models/testing.js'
import { XgboostForecastTrainer } from './xgboost-forecast-trainer.js'

const trainer = new XgboostForecastTrainer({ nthread: 1 })
const availability = trainer.available()
// Locally a missing libxgboost skips with the reason; CI installs libxgboost0 and must run these.
const skip = !availability.ok && process.env.CI !== 'true' ? availability.reason : undefined

forecastTrainerContract(trainer, { maxRatioToPersistence: 0.8, params: { rounds: 150, maxDepth: 4 }, skip })

test('xgboost refuses parameters libxgboost would reject, naming them (PARAMETER_INVALID)', {
  skip,
}, async () => {
  const { signature, train } = seasonalTask(400)
  for (const [params, pattern] of [
    [{ objective: 'reg:absoluteerror' }, /objective must be one of reg:squarederror, reg:pseudohubererror/],
    [{ learningRate: 0 }, /learningRate must be in \(0, 1\]/],
    [{ rounds: 2.5 }, /rounds must be a whole number/],
  ] as const) {
    await assert.rejects(
      trainer.fit(train, { signature, seed: 1, params }),
      (error) => isAirlakeError(error, 'PARAMETER_INVALID') && pattern.test(error.message),
    )
  }
})

test('boosting yields to the event loop: timers keep firing while a model trains', { skip }, async () => {
  const { signature, train } = seasonalTask()
  let ticks = 0
  const timer = setInterval(() => ticks++, 1)
  try {
    const model = await trainer.fit(train, { signature, seed: 1, params: { rounds: 150, maxDepth: 4 } })
    model.dispose()
  } finally {
    clearInterval(timer)
  }
  // A synchronous fit would hold the event loop from its first round to its last: no tick at all.
  assert.ok(ticks > 0, `the event loop ran ${ticks} timer callbacks during the fit`)
})
