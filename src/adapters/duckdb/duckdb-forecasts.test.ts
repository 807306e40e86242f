import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Prediction } from '../../core/types.js'
import { forecastRows, spanOf } from './duckdb-forecasts.js'

const MIN = 60_000
const T0 = Date.UTC(2026, 0, 1)

function p(h: number | string, minute: number, value: number, over: Partial<Prediction> = {}): Prediction {
  return {
    time: T0 + minute * MIN,
    deviceId: 'd1',
    measureName: typeof h === 'number' ? `iaq~${h}` : h,
    value,
    modelVersion: 'm@1',
    issuedAt: T0,
    ...over,
  }
}

test("one forecast's horizons at evenly spaced times become one row, in horizon order", () => {
  let n = 0
  const rows = forecastRows([p(3, 3, 30), p(1, 1, 10), p(2, 2, 20)], () => ++n)
  assert.deepEqual(rows, [
    {
      firstTime: T0 + MIN,
      stepMs: MIN,
      deviceId: 'd1',
      namePrefix: 'iaq~',
      firstH: 1,
      values: [10, 20, 30],
      modelVersion: 'm@1',
      issuedAt: T0,
      written: 1,
    },
  ])
  assert.equal(spanOf(rows[0]!), 2 * MIN)
})

test('a gap in horizons or times, another version, device or issue time, or a name without a horizon starts a row', () => {
  let n = 0
  const rows = forecastRows(
    [
      p(1, 1, 10),
      p(2, 2, 20),
      p(3, 4, 30), // a step of 2 minutes after steps of 1
      p(5, 6, 50), // horizon 4 missing
      p(1, 1, 11, { modelVersion: 'm@2' }),
      p(1, 1, 12, { deviceId: 'd2' }),
      p(1, 1, 13, { issuedAt: T0 + 1 }),
      p('iaq', 1, 14),
      p('iaq~01', 1, 15), // a horizon written with a leading zero is not rebuilt from a number
    ],
    () => ++n,
  )
  const shape = rows.map((r) => [r.deviceId, r.namePrefix, r.firstH, r.values, r.stepMs, r.modelVersion])
  assert.deepEqual(shape, [
    ['d1', 'iaq', 0, [14], 0, 'm@1'],
    ['d1', 'iaq~01', 0, [15], 0, 'm@1'],
    ['d1', 'iaq~', 1, [10, 20], MIN, 'm@1'],
    ['d1', 'iaq~', 3, [30], 0, 'm@1'],
    ['d1', 'iaq~', 5, [50], 0, 'm@1'],
    ['d1', 'iaq~', 1, [11], 0, 'm@2'],
    ['d2', 'iaq~', 1, [12], 0, 'm@1'],
    ['d1', 'iaq~', 1, [13], 0, 'm@1'],
  ])
  // Every row has its own place in the write order.
  assert.deepEqual(
    rows.map((r) => r.written).sort((a, b) => a - b),
    [1, 2, 3, 4, 5, 6, 7, 8],
  )
})
