import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fitFeatureSpec } from './features.js'
import type { ForecastSignature } from './model.js'
import { DAY_MS, HOUR_MS, MINUTE_MS } from './time.js'

const signature: ForecastSignature = {
  task: 'forecast',
  measure: 'iaq',
  window: 12,
  horizon: 3,
  stepMs: MINUTE_MS,
}

/** `n` windows of a gentle ramp whose last values are `spacing` apart in time. */
function batch(n: number, spacing: number) {
  const windows = new Float64Array(n * 12).map((_, i) => 20 + (i % 12) * 0.1 + Math.floor(i / 12) * 0.01)
  const times = new Float64Array(n).map((_, i) => Date.UTC(2026, 0, 1) + i * spacing)
  return { n, windows, times }
}

describe('fitFeatureSpec calendar terms', () => {
  it('leaves hour-of-day terms out when the data cover only hours (they would stand in for the trend)', () => {
    assert.equal(fitFeatureSpec(batch(300, MINUTE_MS), signature).calendar, false)
  })
  it('learns them from two days or more', () => {
    assert.equal(fitFeatureSpec(batch(80, HOUR_MS), signature).calendar, true)
    assert.ok(80 * HOUR_MS > 2 * DAY_MS)
  })
  it('never without times', () => {
    const { n, windows } = batch(80, HOUR_MS)
    assert.equal(fitFeatureSpec({ n, windows }, signature).calendar, false)
  })
})
