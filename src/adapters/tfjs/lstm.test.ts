import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isAirlakeError } from '../../core/errors.js'
import { silentLogger } from '../../core/ports/logger.js'
import { forecastTrainerContract } from '../../models/forecast-trainer.contract.js'
import { seasonalTask } from '../../models/testing.js'
import { TfjsForecastTrainer } from './tfjs-forecast-trainer.js'

const params = { epochs: 12, units: 16, hidden: [32], sequenceLength: 24, samplesPerEpoch: 512 }
forecastTrainerContract(new TfjsForecastTrainer('lstm', silentLogger), {
  maxRatioToPersistence: 0.85,
  params,
})

test('lstm reads a sequence input beside the features and records its length', async () => {
  const { signature, train, validation } = seasonalTask()
  const model = await new TfjsForecastTrainer('lstm', silentLogger).fit(train, {
    signature,
    seed: 5,
    validation,
    params: { ...params, epochs: 1 },
  })
  try {
    const artifact = await model.save()
    assert.equal(artifact.params.sequenceLength, 24)
    const json = JSON.parse(new TextDecoder().decode(artifact.files['model.json']))
    const layers = json.modelTopology.config.layers.map((layer: { class_name: string }) => layer.class_name)
    assert.ok(layers.includes('LSTM'), layers.join(', '))
    assert.equal(json.userDefinedMetadata.airlake.sequenceLength, 24)
  } finally {
    model.dispose()
  }
})

test('lstm refuses a sequence longer than the window', async () => {
  const { signature, train } = seasonalTask(400)
  await assert.rejects(
    new TfjsForecastTrainer('lstm', silentLogger).fit(train, {
      signature,
      seed: 1,
      params: { sequenceLength: 49 },
    }),
    (error) => isAirlakeError(error, 'PARAMETER_INVALID') && /sequenceLength 49/.test(error.message),
  )
})
