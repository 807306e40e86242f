import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { isAirlakeError } from '../core/errors.js'
import type { TabularBatch } from '../core/model.js'
import { LogisticTrainer } from './logistic.js'
import { loanApplications as applications, rocAuc as auc, loanSignature as signature } from './testing.js'

describe('logistic regression', () => {
  const train = applications(1500, 1)
  const heldOut = applications(500, 2)
  const trainer = new LogisticTrainer()

  test('separates approvals on held-out applications (AUC well above 0.5)', async () => {
    const model = await trainer.fit(train.batch, train.labels, { signature, seed: 7 })
    const proba = await model.predictProba(heldOut.batch)
    assert.equal(proba.length, 500 * 2)
    for (let i = 0; i < 500; i++) assert.ok(Math.abs(proba[2 * i]! + proba[2 * i + 1]! - 1) < 1e-12)
    const score = auc(
      heldOut.labels.map((_, i) => proba[2 * i + 1]!),
      heldOut.labels.map((l) => l === 'approved'),
    )
    assert.ok(score > 0.8, `AUC ${score}`)
  })

  test('one-hot categories: unemployment lowers the approval probability', async () => {
    const model = await trainer.fit(train.batch, train.labels, { signature, seed: 7 })
    const row = (employment: string): TabularBatch => ({
      n: 1,
      columns: { income: [60_000], debt_ratio: [0.5], employment: [employment] },
    })
    const employed = (await model.predictProba(row('employed')))[1]!
    const unemployed = (await model.predictProba(row('unemployed')))[1]!
    assert.ok(employed > unemployed + 0.2, `employed ${employed}, unemployed ${unemployed}`)
  })

  test('save -> load gives identical probabilities; the same seed gives the same model', async () => {
    const model = await trainer.fit(train.batch, train.labels, { signature, seed: 7 })
    const artifact = await model.save()
    const reloaded = await trainer.load(structuredClone(artifact))
    const expected = await model.predictProba(heldOut.batch)
    assert.deepEqual(await reloaded.predictProba(heldOut.batch), expected)
    const again = await trainer.fit(train.batch, train.labels, { signature, seed: 7 })
    assert.deepEqual(await again.predictProba(heldOut.batch), expected)
  })

  test('refuses a missing column with SIGNATURE_MISMATCH and an unknown label with PARAMETER_INVALID', async () => {
    const model = await trainer.fit(train.batch, train.labels, { signature, seed: 7, params: { epochs: 1 } })
    const { employment: _dropped, ...columns } = heldOut.batch.columns
    await assert.rejects(
      model.predictProba({ n: 500, columns }),
      (error) => isAirlakeError(error, 'SIGNATURE_MISMATCH') && /employment/.test(error.message),
    )
    await assert.rejects(
      trainer.fit(
        train.batch,
        train.labels.map(() => 'maybe'),
        { signature, seed: 1 },
      ),
      (error) => isAirlakeError(error, 'PARAMETER_INVALID'),
    )
  })
})
