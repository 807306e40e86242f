import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { ForecastSignature } from '../core/model.js'
import { describeStep, formatPredictions, parseInvocation } from './invocations.js'

const iaq: ForecastSignature = { task: 'forecast', measure: 'iaq', window: 4, horizon: 2, stepMs: 60_000 }

describe('parseInvocation', () => {
  it('reads instances, inputs and dataframe_split into the same windows', () => {
    const rows = [
      [1, 2, 3, 4],
      [5, 6, 7, 8.5],
    ]
    const expected = Float64Array.from(rows.flat())
    for (const body of [
      { instances: rows },
      { inputs: rows },
      { dataframe_split: { columns: ['t-3', 't-2', 't-1', 't'], data: rows } },
    ]) {
      const batch = parseInvocation(body, iaq)
      assert.equal(batch.n, 2)
      assert.deepEqual(batch.windows, expected)
    }
  })

  it('takes window times from a dataframe "time" column', () => {
    const batch = parseInvocation(
      {
        dataframe_split: {
          columns: ['time', 'a', 'b', 'c', 'd'],
          data: [['2024-01-01T00:03:00Z', 1, 2, 3, 4]],
        },
      },
      iaq,
    )
    assert.deepEqual(batch.windows, Float64Array.of(1, 2, 3, 4))
    assert.deepEqual(batch.times, Float64Array.of(Date.UTC(2024, 0, 1, 0, 3)))
  })

  it('says what was expected when a window has the wrong length', () => {
    const sixty: ForecastSignature = { ...iaq, window: 60, horizon: 15 }
    assert.throws(
      () => parseInvocation({ instances: [new Array(60).fill(1), new Array(59).fill(1)] }, sixty),
      {
        code: 'SIGNATURE_MISMATCH',
        message: 'expected 60 values per instance (window of iaq on a 1-minute grid), got 59 at instances[1]',
      },
    )
  })

  it('names the value that is not a number', () => {
    assert.throws(() => parseInvocation({ inputs: [[1, 2, null, 4]] }, iaq), {
      code: 'SIGNATURE_MISMATCH',
      message: /inputs\[0\]\[2\] must be a finite number .*got null/,
    })
    assert.throws(() => parseInvocation({ instances: [[1, 2, '3', 4]] }, iaq), { code: 'SIGNATURE_MISMATCH' })
  })

  it('asks to wrap a single flat window', () => {
    assert.throws(() => parseInvocation({ instances: [1, 2, 3, 4] }, iaq), /wrap one window in a list/)
  })

  it('refuses bodies without exactly one input key', () => {
    assert.throws(() => parseInvocation({ rows: [] }, iaq), {
      code: 'BAD_REQUEST',
      message: /"instances", "inputs", "dataframe_split"/,
    })
    assert.throws(
      () => parseInvocation({ instances: [[1, 2, 3, 4]], inputs: [[1, 2, 3, 4]] }, iaq),
      /only one/,
    )
    assert.throws(() => parseInvocation([[1, 2, 3, 4]], iaq), { code: 'BAD_REQUEST' })
    assert.throws(() => parseInvocation({ instances: [] }, iaq), { code: 'SIGNATURE_MISMATCH' })
  })

  it('checks dataframe columns and rows', () => {
    assert.throws(
      () => parseInvocation({ dataframe_split: { columns: ['a', 'b', 'c'], data: [[1, 2, 3]] } }, iaq),
      /expected 4 value columns/,
    )
    assert.throws(
      () => parseInvocation({ dataframe_split: { columns: ['a', 'b', 'c', 'd'], data: [[1, 2, 3]] } }, iaq),
      /at data\[0\]/,
    )
  })
})

describe('formatPredictions', () => {
  it('splits row-major forecasts into one list per window', () => {
    assert.deepEqual(formatPredictions(Float64Array.of(1, 2, 3, 4, 5, 6), 3, 2), {
      predictions: [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
    })
  })

  it('words grid steps', () => {
    assert.equal(describeStep(60_000), '1-minute')
    assert.equal(describeStep(3_600_000), '1-hour')
    assert.equal(describeStep(5_000), '5-second')
    assert.equal(describeStep(1_500), '1500-ms')
  })
})
