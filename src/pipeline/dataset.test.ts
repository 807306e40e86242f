import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isAirlakeError } from '../core/errors.js'
import type { ForecastSignature } from '../core/model.js'
import { createDataset, cutWindows } from './dataset.js'
import { generateFeatures } from './feature-generator.js'

const STEP = 3_600_000
const grid = (values: ArrayLike<number>) => ({ startMs: 0, stepMs: STEP, values: Float64Array.from(values) })
const ramp = (n: number) => Array.from({ length: n }, (_, i) => 100 + 10 * Math.sin(i / 3) + i * 0.1)

describe('cutWindows', () => {
  it('cuts L inputs and the next H targets at each anchor', () => {
    const { set, dropped } = cutWindows(grid([0, 1, 2, 3, 4, 5]), {
      window: 3,
      horizon: 2,
      firstAnchor: 0,
      lastAnchor: 10,
    })
    assert.equal(dropped, 0)
    assert.equal(set.n, 2)
    assert.deepEqual(Array.from(set.windows), [0, 1, 2, 1, 2, 3])
    assert.deepEqual(Array.from(set.targets), [3, 4, 4, 5])
    assert.deepEqual(Array.from(set.times), [2 * STEP, 3 * STEP])
  })

  it('drops and counts every window whose inputs or targets touch a missing value', () => {
    const values = ramp(20)
    values[10] = Number.NaN
    const { set, dropped } = cutWindows(grid(values), {
      window: 4,
      horizon: 2,
      firstAnchor: 0,
      lastAnchor: 100,
    })
    // Anchors 3..17 exist (15); those with 10 in [a-3, a+2] are a = 8..13 (6).
    assert.equal(dropped, 6)
    assert.equal(set.n, 9)
    for (const v of set.windows) assert.ok(Number.isFinite(v))
    for (const v of set.targets) assert.ok(Number.isFinite(v))
  })
})

describe('createDataset', () => {
  const options = { window: 6, horizon: 3, split: 0.75, validation: 0.1, folds: 2 }

  it('splits chronologically: every training and validation target lies before the test part', () => {
    const series = grid(ramp(200))
    const d = createDataset(series, options)
    assert.equal(d.testStartMs, Math.floor(200 * 0.75) * STEP)
    const lastTarget = (times: Float64Array) => Math.max(...Array.from(times)) + options.horizon * STEP
    assert.ok(lastTarget(d.train.times) < d.validationStartMs)
    assert.ok(lastTarget(d.validation.times) < d.testStartMs)
    // Test windows predict only test times (their inputs may reach back, as a live forecast does).
    for (const t of d.test.times) assert.ok(t + STEP >= d.testStartMs)
    assert.ok(d.train.n > 0 && d.validation.n > 0 && d.test.n > 0)
    assert.equal(d.folds.length, 2)
    for (const fold of d.folds) {
      assert.ok(lastTarget(fold.train.times) < fold.originMs)
      assert.ok(fold.test.times[0]! + STEP >= fold.originMs)
      assert.ok(lastTarget(fold.test.times) <= d.validationStartMs)
    }
  })

  it('fits the normalisation and the feature spec on the training part only', () => {
    const values = ramp(200)
    const base = createDataset(grid(values), options)
    const changed = values.map((v, i) => (i >= 150 ? v * 50 : v))
    const other = createDataset(grid(changed), options)
    assert.deepEqual(other.normalisation, base.normalisation)
    const signature: ForecastSignature = {
      task: 'forecast',
      measure: 'x',
      window: 6,
      horizon: 3,
      stepMs: STEP,
    }
    const a = generateFeatures(base, signature)
    const b = generateFeatures(other, signature)
    assert.deepEqual(b.spec, a.spec)
    assert.deepEqual(Array.from(b.splits.train.x), Array.from(a.splits.train.x))
  })

  it('counts the windows dropped across a long gap per split', () => {
    const values = ramp(200)
    for (let i = 160; i < 170; i++) values[i] = Number.NaN
    const d = createDataset(grid(values), { ...options, folds: 0 })
    assert.equal(d.dropped.train, 0)
    assert.equal(d.dropped.test, 10 + 6 - 1 + 3)
  })

  it('says what to change when no window fits', () => {
    assert.throws(
      () => createDataset(grid(ramp(12)), options),
      (e) => isAirlakeError(e, 'INSUFFICIENT_DATA') && /--window/.test(e.message),
    )
    assert.throws(
      () => createDataset(grid(ramp(200)), { ...options, split: 1 }),
      (e) => isAirlakeError(e, 'PARAMETER_INVALID'),
    )
  })
})
