import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FORECAST_ALGORITHMS } from './core/model.js'
import { silentLogger } from './core/ports/logger.js'
import { classificationTrainers, forecastTrainers } from './trainers.js'

test('the composition root offers every command-line model kind plus the ensemble and the onnx loader, each available here', async () => {
  const trainers = await forecastTrainers(silentLogger)
  assert.deepEqual(Object.keys(trainers).sort(), [...FORECAST_ALGORITHMS, 'ensemble', 'onnx'].sort())
  for (const [name, trainer] of Object.entries(trainers)) {
    assert.equal(trainer.algorithm, name)
    assert.deepEqual(trainer.available(), { ok: true }, name)
  }
})

test('the tabular classifiers are logistic and xgboost', () => {
  const trainers = classificationTrainers()
  assert.deepEqual(Object.keys(trainers).sort(), ['logistic', 'xgboost'])
  for (const [name, trainer] of Object.entries(trainers)) assert.equal(trainer.algorithm, name)
})
