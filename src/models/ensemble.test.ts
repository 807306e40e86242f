import assert from 'node:assert/strict'
import { test } from 'node:test'
import { EnsembleTrainer } from './ensemble.js'
import { forecastTrainerContract } from './forecast-trainer.contract.js'
import { PersistenceTrainer } from './persistence.js'
import { RidgeTrainer } from './ridge.js'
import { SeasonalNaiveTrainer } from './seasonal-naive.js'
import { seasonalTask } from './testing.js'

const members = {
  ridge: new RidgeTrainer(),
  'seasonal-naive': new SeasonalNaiveTrainer(),
  persistence: new PersistenceTrainer(),
}
const ensemble = new EnsembleTrainer(members, ['ridge', 'seasonal-naive'])

forecastTrainerContract(ensemble, { maxRatioToPersistence: 0.8 })

test('an ensemble forecasts the mean of its members, and says which kinds it can take', async () => {
  const { signature, train, test: held } = seasonalTask()
  const options = { signature, seed: 3 }
  const model = await ensemble.fit(train, { ...options, params: { members: ['ridge', 'persistence'] } })
  const ridge = await members.ridge.fit(train, options)
  const persistence = await members.persistence.fit(train, options)
  const [mean, a, b] = await Promise.all([
    model.predict(held),
    ridge.predict(held),
    persistence.predict(held),
  ])
  for (let i = 0; i < mean.length; i++) assert.ok(Math.abs(mean[i]! - (a[i]! + b[i]!) / 2) < 1e-9)
  await assert.rejects(
    ensemble.fit(train, { ...options, params: { members: ['ridge', 'lstm'] } }),
    /member lstm is not a model kind here/,
  )
  await assert.rejects(
    ensemble.fit(train, { ...options, params: { members: ['ridge'] } }),
    /at least two members/,
  )
})
