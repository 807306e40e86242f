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

test('a window forecasts the same alone (one thread) as inside a large batch (every thread)', {
  skip,
}, async () => {
  const { signature, train } = seasonalTask()
  const fitted = await new XgboostForecastTrainer({ nthread: 2 }).fit(train, {
    signature,
    seed: 1,
    params: { rounds: 40, maxDepth: 4 },
  })
  const model = await new XgboostForecastTrainer({ nthread: 2 }).load(await fitted.save())
  fitted.dispose()
  try {
    const W = signature.window
    const H = signature.horizon
    const n = Math.min(train.n, 1024) // past the one-thread limit (512 rows)
    assert.ok(n >= 600, `the task has ${train.n} windows`)
    const windows = train.windows.subarray(0, n * W)
    const large = await model.predict({ n, windows })
    for (const i of [0, 1, 300, n - 1]) {
      const alone = await model.predict({ n: 1, windows: windows.subarray(i * W, (i + 1) * W) })
      assert.deepEqual(alone, large.subarray(i * H, (i + 1) * H), `window ${i}`)
    }
    // And back to the large batch, after the small ones set the booster to one thread.
    assert.deepEqual(await model.predict({ n, windows }), large)
  } finally {
    model.dispose()
  }
})
