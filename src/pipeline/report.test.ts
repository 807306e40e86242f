import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { forecastMetrics } from './evaluate.js'
import { renderReport } from './report.js'

function input() {
  const actual = Float64Array.from([10, 12, 11, 13])
  const metrics = (predicted: number[]) => forecastMetrics(actual, Float64Array.from(predicted), 2)
  return {
    runId: 'run-1',
    deviceId: 'dev<1>',
    measure: 'nox_ppb',
    window: 3,
    horizon: 2,
    stepMs: 3_600_000,
    snapshotId: 'snap-abc',
    createdAt: Date.UTC(2024, 0, 31),
    counts: { train: 10, validation: 2, test: 2, dropped: 5 },
    versions: { ridge: 'dev.nox_ppb.ridge@3' },
    evaluation: {
      horizon: 2,
      windows: 2,
      models: [
        {
          algorithm: 'ridge',
          role: 'candidate' as const,
          metrics: metrics([10.5, 12, 11, 12.5]),
          example: [10.5, 12],
        },
        {
          algorithm: 'persistence',
          role: 'baseline' as const,
          metrics: metrics([9, 9, 10, 10]),
          example: [9, 9],
        },
        {
          algorithm: 'seasonal-naive',
          role: 'baseline' as const,
          metrics: metrics([12, 10, 13, 11]),
          example: [12, 10],
        },
      ],
      example: { index: 0, timeMs: Date.UTC(2024, 0, 30, 12), inputs: [8, 9, 9], actuals: [10, 12] },
    },
  }
}

describe('renderReport', () => {
  it('is one self-contained HTML page with the metrics table, two inline SVG charts and the exact metrics as JSON', () => {
    const html = renderReport(input())
    assert.match(html, /^<!doctype html>/)
    assert.equal((html.match(/<svg /g) ?? []).length, 2)
    assert.match(html, /MAE by horizon/)
    assert.match(html, /Example forecast from 2024-01-30T12:00:00.000Z/)
    assert.match(html, /dev.nox_ppb.ridge@3/)
    assert.match(html, /5 dropped across long gaps/)
    assert.doesNotMatch(html, /dev<1>/, 'text is escaped')
    assert.doesNotMatch(html, /(src|href)="http/, 'nothing is loaded from elsewhere')
    const embedded = /<script type="application\/json" id="airlake-metrics">(.*)<\/script>/.exec(html)
    assert.ok(embedded)
    const metrics = JSON.parse(embedded[1]!) as Record<string, { mae: number; maeByHorizon: number[] }>
    assert.equal(metrics.ridge!.mae, input().evaluation.models[0]!.metrics.mae)
    assert.deepEqual(Object.keys(metrics), ['ridge', 'persistence', 'seasonal-naive'])
  })

  it('gives the same bytes for the same input', () => {
    assert.equal(renderReport(input()), renderReport(input()))
  })
})
