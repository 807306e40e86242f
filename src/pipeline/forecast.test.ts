import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildWindow, predictionRows, type SeriesPoint } from './forecast.js'

const MIN = 60_000
const T = Date.UTC(2024, 0, 1, 12, 0)
const at = (minutes: number, value: number): SeriesPoint => ({ time: T + minutes * MIN, value })

describe('buildWindow', () => {
  it('takes values on the grid ending at the reading, oldest first', () => {
    const series = [at(-5, 1), at(-4, 2), at(-3, 3), at(-2, 4), at(-1, 5), at(0, 6)]
    const window = buildWindow(series, { end: T, window: 4, stepMs: MIN, maxGapSteps: 2 })
    assert.deepEqual(window, { ok: true, values: Float64Array.of(3, 4, 5, 6) })
  })

  it('interpolates linearly between readings off the grid and across short gaps', () => {
    const series = [at(-3.5, 0), at(-2.5, 10), at(0, 20)]
    const window = buildWindow(series, { end: T, window: 4, stepMs: MIN, maxGapSteps: 3 })
    assert.ok(window.ok)
    assert.deepEqual([...window.values], [5, 10 + 10 * (0.5 / 2.5), 10 + 10 * (1.5 / 2.5), 20])
  })

  it('pads a short tail gap with the last value and a short head gap with the first', () => {
    const tail = buildWindow([at(-4, 1), at(-3, 2), at(-2, 3)], {
      end: T,
      window: 4,
      stepMs: MIN,
      maxGapSteps: 2,
    })
    assert.deepEqual(tail, { ok: true, values: Float64Array.of(2, 3, 3, 3) })
    const head = buildWindow([at(-2, 7), at(-1, 8), at(0, 9)], {
      end: T,
      window: 4,
      stepMs: MIN,
      maxGapSteps: 1,
    })
    assert.deepEqual(head, { ok: true, values: Float64Array.of(7, 7, 8, 9) })
  })

  it('refuses windows with a gap longer than the limit', () => {
    const inner = buildWindow([at(-9, 1), at(-3, 2), at(-2, 3), at(-1, 3), at(0, 3)], {
      end: T,
      window: 8,
      stepMs: MIN,
      maxGapSteps: 2,
    })
    assert.equal(inner.ok, false)
    assert.match(!inner.ok ? inner.reason : '', /gap of 6 steps/)
    const head = buildWindow([at(0, 3)], { end: T, window: 60, stepMs: MIN, maxGapSteps: 15 })
    assert.match(!head.ok ? head.reason : '', /history starts 59 steps into the window/)
    const tail = buildWindow([at(-40, 3)], { end: T, window: 30, stepMs: MIN, maxGapSteps: 15 })
    assert.match(!tail.ok ? tail.reason : '', /no value for the last 40 steps/)
    assert.equal(buildWindow([], { end: T, window: 2, stepMs: MIN, maxGapSteps: 1 }).ok, false)
  })

  it('ignores readings after the window end', () => {
    const window = buildWindow([at(-1, 1), at(0, 2), at(1, 100)], {
      end: T,
      window: 2,
      stepMs: MIN,
      maxGapSteps: 1,
    })
    assert.deepEqual(window, { ok: true, values: Float64Array.of(1, 2) })
  })
})

describe('predictionRows', () => {
  it('writes <measure>~h at end + h steps with the model version', () => {
    const rows = predictionRows({
      deviceId: 'dev1',
      signature: { task: 'forecast', measure: 'iaq', window: 60, horizon: 3, stepMs: MIN },
      end: T,
      forecast: Float64Array.of(50, 51, 52),
      modelVersion: 'dev1.iaq.ridge@2',
      issuedAt: T + 1234,
    })
    assert.deepEqual(
      rows.map((r) => [r.measureName, r.time - T, r.value, r.modelVersion, r.issuedAt - T]),
      [
        ['iaq~1', MIN, 50, 'dev1.iaq.ridge@2', 1234],
        ['iaq~2', 2 * MIN, 51, 'dev1.iaq.ridge@2', 1234],
        ['iaq~3', 3 * MIN, 52, 'dev1.iaq.ridge@2', 1234],
      ],
    )
  })
})
