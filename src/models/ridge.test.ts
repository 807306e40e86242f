import assert from 'node:assert/strict'
import { test } from 'node:test'
import { forecastTrainerContract } from './forecast-trainer.contract.js'
import { RidgeTrainer } from './ridge.js'
import { seasonalTask } from './testing.js'

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
