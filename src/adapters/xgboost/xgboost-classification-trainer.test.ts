import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { isAirlakeError } from '../../core/errors.js'
import type { ClassificationSignature } from '../../core/model.js'
import { loanApplications, loanSignature, rocAuc } from '../../models/testing.js'
import { XgboostClassificationTrainer } from './xgboost-classification-trainer.js'

const trainer = new XgboostClassificationTrainer({ nthread: 1 })
const availability = trainer.available()
// Locally a missing libxgboost skips with the reason; CI installs libxgboost0 and must run these.
const skip = !availability.ok && process.env.CI !== 'true' ? availability.reason : undefined

describe('xgboost classification', { skip }, () => {
  const train = loanApplications(1500, 1)
  const heldOut = loanApplications(500, 2)

  test('separates approvals on held-out applications, with missing incomes (AUC well above 0.5)', async () => {
    const model = await trainer.fit(train.batch, train.labels, { signature: loanSignature, seed: 7 })
    try {
      const proba = await model.predictProba(heldOut.batch)
      assert.equal(proba.length, 1000)
      const score = rocAuc(
        heldOut.labels.map((_, i) => proba[2 * i + 1]!),
        heldOut.labels.map((l) => l === 'approved'),
      )
      assert.ok(score > 0.8, `AUC ${score}`)
    } finally {
      model.dispose()
    }
  })

  test('save -> load gives identical probabilities; the same seed gives the same model', async () => {
    const model = await trainer.fit(train.batch, train.labels, {
      signature: loanSignature,
      seed: 7,
      params: { rounds: 40 },
    })
    const again = await trainer.fit(train.batch, train.labels, {
      signature: loanSignature,
      seed: 7,
      params: { rounds: 40 },
    })
    const reloaded = await trainer.load(structuredClone(await model.save()))
    const expected = await model.predictProba(heldOut.batch)
    assert.deepEqual(await reloaded.predictProba(heldOut.batch), expected)
    assert.deepEqual(await again.predictProba(heldOut.batch), expected)
    for (const m of [model, again, reloaded]) m.dispose()
  })

  test('three classes give a probability per class that sums to one', async () => {
    const signature: ClassificationSignature = {
      ...loanSignature,
      classes: ['rejected', 'review', 'approved'],
    }
    const labels = train.labels.map((l, i) => (i % 5 === 0 ? 'review' : l))
    const model = await trainer.fit(train.batch, labels, { signature, seed: 1, params: { rounds: 20 } })
    const proba = await model.predictProba(heldOut.batch)
    assert.equal(proba.length, 1500)
    for (let i = 0; i < 500; i++)
      assert.ok(Math.abs(proba[3 * i]! + proba[3 * i + 1]! + proba[3 * i + 2]! - 1) < 1e-5)
    model.dispose()
  })

  test('refuses a missing column with SIGNATURE_MISMATCH', async () => {
    const model = await trainer.fit(train.batch, train.labels, {
      signature: loanSignature,
      seed: 7,
      params: { rounds: 5 },
    })
    const { income: _dropped, ...columns } = heldOut.batch.columns
    await assert.rejects(
      model.predictProba({ n: 500, columns }),
      (error) => isAirlakeError(error, 'SIGNATURE_MISMATCH') && /income/.test(error.message),
    )
    model.dispose()
  })
})
