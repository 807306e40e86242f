import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isAirlakeError } from '../../core/errors.js'
import { silentLogger } from '../../core/ports/logger.js'
import { forecastTrainerContract } from '../../models/forecast-trainer.contract.js'
import { seasonalTask } from '../../models/testing.js'
import { TfjsForecastTrainer } from './tfjs-forecast-trainer.js'

const params = { epochs: 25, hidden: [32], patience: 4 }
forecastTrainerContract(new TfjsForecastTrainer('mlp', silentLogger), { maxRatioToPersistence: 0.8, params })

test('mlp reports each epoch, records the backend and stops early on validation', async () => {
  const { signature, train, validation } = seasonalTask()
  const messages: string[] = []
  const model = await new TfjsForecastTrainer('mlp', silentLogger).fit(train, {
    signature,
    seed: 3,
    validation,
    params: { ...params, epochs: 40 },
    onProgress: (_fraction, message) => messages.push(message),
  })
  try {
    const artifact = await model.save()
    assert.equal(artifact.format, 'tfjs-layers')
    assert.ok(artifact.files['weights.bin']!.byteLength > 0)
    const json = JSON.parse(new TextDecoder().decode(artifact.files['model.json']))
    assert.deepEqual(json.weightsManifest[0].paths, ['weights.bin'])
    assert.equal(artifact.params.backend, 'wasm')
    const epochs = Number(artifact.params.epochsRun)
    assert.equal(messages.filter((m) => m.startsWith('epoch ')).length, epochs)
    assert.ok(Number(artifact.params.bestEpoch) <= epochs)
  } finally {
    model.dispose()
  }
})

test('mlp refuses bad parameters with PARAMETER_INVALID', async () => {
  const { signature, train } = seasonalTask(400)
  await assert.rejects(
    new TfjsForecastTrainer('mlp', silentLogger).fit(train, { signature, seed: 1, params: { epochs: 0 } }),
    (error) => isAirlakeError(error, 'PARAMETER_INVALID') && /epochs/.test(error.message),
  )
})

test('a different seed gives a different mlp', async () => {
  const { signature, train, validation, test: testSet } = seasonalTask()
  const trainer = new TfjsForecastTrainer('mlp', silentLogger)
  const a = await trainer.fit(train, { signature, seed: 1, validation, params: { ...params, epochs: 2 } })
  const b = await trainer.fit(train, { signature, seed: 2, validation, params: { ...params, epochs: 2 } })
  assert.notDeepEqual(await a.predict(testSet), await b.predict(testSet))
  a.dispose()
  b.dispose()
})

test('training yields to the event loop between batches: timers keep firing while a model trains', async () => {
  const { signature, train } = seasonalTask()
  let ticks = 0
  const timer = setInterval(() => ticks++, 1)
  try {
    const model = await new TfjsForecastTrainer('mlp', silentLogger).fit(train, {
      signature,
      seed: 1,
      params: { ...params, epochs: 5 },
    })
    model.dispose()
  } finally {
    clearInterval(timer)
  }
  // Awaiting trainOnBatch alone only runs microtasks: a fit would then hold the loop from start to end.
  assert.ok(ticks > 0, `the event loop ran ${ticks} timer callbacks during the fit`)
})
