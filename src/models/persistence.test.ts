import assert from 'node:assert/strict'
import { test } from 'node:test'
import { forecastTrainerContract } from './forecast-trainer.contract.js'
import { PersistenceTrainer } from './persistence.js'
import { seasonalTask } from './testing.js'

forecastTrainerContract(new PersistenceTrainer())

test('persistence repeats the last value of each window', async () => {
  const { signature } = seasonalTask(200)
  const windows = new Float64Array(2 * 48).map((_, i) => i)
  const model = await new PersistenceTrainer().fit(
    { n: 2, windows, targets: new Float64Array(24) },
    { signature, seed: 1 },
  )
  assert.deepEqual(
    [...(await model.predict({ n: 2, windows }))],
    [...new Array(12).fill(47), ...new Array(12).fill(95)],
  )
})
