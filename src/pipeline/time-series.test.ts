import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isAirlakeError } from '../core/errors.js'
import { formatStep, interpolateGaps, parseStep, resampleToGrid } from './time-series.js'

const H = 3_600_000

describe('parseStep / formatStep', () => {
  it('reads the units the command line takes and writes them back', () => {
    assert.equal(parseStep('5s'), 5_000)
    assert.equal(parseStep('1m'), 60_000)
    assert.equal(parseStep('15min'), 900_000)
    assert.equal(parseStep('1h'), H)
    assert.equal(formatStep(H), '1h')
    assert.equal(formatStep(5_000), '5s')
  })
  it('refuses what is not a duration, naming the forms it takes', () => {
    for (const bad of ['', '0m', 'h', '1 week', '-1h']) {
      assert.throws(
        () => parseStep(bad),
        (e) => isAirlakeError(e, 'PARAMETER_INVALID') && /5s, 1m/.test(e.message),
      )
    }
  })
})

describe('resampleToGrid', () => {
  it('averages readings into epoch-aligned cells and leaves empty cells missing', () => {
    const points = [
      { time: 10 * H + 60_000, value: 1 },
      { time: 10 * H + 120_000, value: 3 },
      { time: 12 * H + 5, value: 7 },
    ]
    const grid = resampleToGrid(points, { stepMs: H })
    assert.equal(grid.startMs, 10 * H)
    assert.deepEqual(Array.from(grid.values), [2, Number.NaN, 7])
  })
})

describe('interpolateGaps', () => {
  const series = (values: number[]) => ({ startMs: 0, stepMs: H, values: Float64Array.from(values) })
  const N = Number.NaN

  it('fills a gap up to the limit linearly', () => {
    const { series: out, report } = interpolateGaps(series([0, N, N, 6]), 2)
    assert.deepEqual(Array.from(out.values), [0, 2, 4, 6])
    assert.deepEqual(report, { observed: 2, interpolated: 2, missing: 0, longGaps: [] })
  })

  it('never fills across a longer gap, nor at the edges, and reports each gap', () => {
    const { series: out, report } = interpolateGaps(series([N, 1, N, N, N, 5, N, 7, N]), 2)
    assert.deepEqual(Array.from(out.values), [N, 1, N, N, N, 5, 6, 7, N])
    assert.equal(report.interpolated, 1)
    assert.equal(report.missing, 5)
    assert.deepEqual(
      report.longGaps.map((g) => [g.fromMs / H, g.toMs / H, g.steps]),
      [
        [0, 0, 1],
        [2, 4, 3],
        [8, 8, 1],
      ],
    )
  })

  it('does not change its input', () => {
    const input = series([1, N, 3])
    interpolateGaps(input, 4)
    assert.ok(Number.isNaN(input.values[1]!))
  })
})
