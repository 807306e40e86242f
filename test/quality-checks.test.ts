/**
 * Data quality: impossible values rejected at ingest with their reason; dataset checks on silver (missing
 * rate, gaps, flat-lined sensors, duplicate times, freshness) stored as a report that `airlake quality` prints
 * and `GET /quality` serves; the gate that refuses training on a series with a blocking failure.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Command } from 'commander'
import { qualityRoutes } from '../src/api/routes/quality.js'
import type { App } from '../src/app.js'
import { formatQualityReport, qualityCommand } from '../src/cli/commands/quality.js'
import { isAirlakeError } from '../src/core/errors.js'
import { DAY_MS, MINUTE_MS } from '../src/core/time.js'
import type { Reading } from '../src/core/types.js'
import { PersistenceTrainer } from '../src/models/persistence.js'
import { RidgeTrainer } from '../src/models/ridge.js'
import {
  assertQualityGate,
  DEFAULT_QUALITY_RULES,
  loadQualityReport,
  type QualityReport,
  qualityGate,
  rulesFor,
  runQualityChecks,
} from '../src/pipeline/quality.js'
import { startTraining } from '../src/pipeline/train.js'
import { captureOutput, type LakePipelineFixture, openLakePipeline } from './lake-pipeline-fixture.js'

const JAN31 = Date.UTC(2024, 0, 31)
type Row = Omit<Reading, 'source'>

/** One reading per minute of Jan 31 for which `keep(minute)` holds. */
function series(
  deviceId: string,
  measure: string,
  keep: (minute: number) => boolean,
  value: (minute: number) => number,
): Row[] {
  const rows: Row[] = []
  for (let minute = 0; minute < 1440; minute++) {
    if (keep(minute)) rows.push({ time: JAN31 + minute * MINUTE_MS, deviceId, measure, value: value(minute) })
  }
  return rows
}

const wavy = (minute: number) => 20 + (minute % 7) * 0.5

/** A day of Jan 31 with one healthy device and one problem per other device. */
async function loadDay(fixture: LakePipelineFixture): Promise<void> {
  await fixture.ingest('http', [
    ...series('dev-good', 'temperature', () => true, wavy),
    ...series(
      'dev-good',
      'humidity',
      () => true,
      (m) => 40 + (m % 11),
    ),
    // 301 minutes without a reading (warn on missing rate, fail on the longest gap).
    ...series('dev-gap', 'temperature', (m) => m < 600 || m > 900, wavy),
    // The IAQ stuck at one value all day: a flat-lined sensor.
    ...series(
      'dev-flat',
      'iaq',
      () => true,
      () => 25,
    ),
    // Nothing after 18:00: not fresh.
    ...series(
      'dev-stale',
      'co2',
      (m) => m < 1080,
      (m) => 500 + (m % 13),
    ),
    // Every minute until 05:00, then one reading in five: most of the day missing.
    ...series(
      'dev-sparse',
      'co2',
      (m) => m < 300 || m % 5 === 0,
      (m) => 600 + (m % 9),
    ),
  ])
  // Three extra readings 20 s after the minute: two readings in one slot.
  await fixture.ingest('http', [
    ...series(
      'dev-good',
      'humidity',
      (m) => m === 100 || m === 200 || m === 300,
      (m) => 41 + (m % 3),
    ).map((r) => ({ ...r, time: r.time + 20_000 })),
  ])
}

let fixture: LakePipelineFixture
let report: QualityReport
before(async () => {
  fixture = await openLakePipeline(JAN31 + DAY_MS + 6 * 3_600_000)
  await loadDay(fixture)
  report = await runQualityChecks(fixture, { day: '2024-01-31' })
})
after(async () => {
  await fixture.close()
})

function findings(deviceId: string, measure: string): string[] {
  return report.findings
    .filter((f) => f.deviceId === deviceId && f.measure === measure)
    .map((f) => `${f.check}:${f.severity}${f.blocking ? ':blocking' : ''}`)
}

describe('data quality', () => {
  it('rejects physically impossible values at ingest, each with its reason, and keeps the rest', async () => {
    const day = await openLakePipeline()
    try {
      const result = await day.ingest('http', [
        { time: JAN31, deviceId: 'dev-1', measure: 'humidity', value: 130 },
        { time: JAN31, deviceId: 'dev-1', measure: 'co2', value: -5 },
        { time: JAN31, deviceId: 'dev-1', measure: 'pm25', value: -0.1 },
        { time: JAN31, deviceId: 'dev-1', measure: 'iaq', value: 501 },
        { time: JAN31, deviceId: 'dev-1', measure: 'temperature', value: 80.5 },
        { time: JAN31, deviceId: 'dev-1', measure: 'temperature', value: -61 },
        { time: JAN31, deviceId: 'dev-1', measure: 'temperature', value: -60 },
        { time: JAN31, deviceId: 'dev-1', measure: 'humidity', value: 100 },
        { time: JAN31, deviceId: 'dev-1', measure: 'iaq', value: 0 },
      ])
      assert.equal(result.rejected, 6)
      assert.equal(result.stored, 3)
      const reasons = (await day.store.listRejections({ source: 'http' }))
        .map((r) => `${r.code} ${r.reason}`)
        .sort()
      assert.deepEqual(reasons, [
        'READING_IMPOSSIBLE dev-1: co2 -5 ppm is outside 0..1,000,000 ppm: a concentration cannot be negative or above 1,000,000 ppm',
        'READING_IMPOSSIBLE dev-1: humidity 130 %RH is outside 0..100 %RH: relative humidity is a percentage',
        'READING_IMPOSSIBLE dev-1: iaq 501 is outside 0..500: the IAQ index runs from 0 to 500',
        'READING_IMPOSSIBLE dev-1: pm25 -0.1 µg/m³ is below 0 µg/m³: a concentration cannot be negative',
        'READING_IMPOSSIBLE dev-1: temperature -61 °C is outside -60..80 °C: air temperature where sensors are deployed stays within -60..80 °C',
        'READING_IMPOSSIBLE dev-1: temperature 80.5 °C is outside -60..80 °C: air temperature where sensors are deployed stays within -60..80 °C',
      ])
    } finally {
      await day.close()
    }
  })

  it('finds gaps, flat lines, stale and sparse series and near-duplicate times on silver', () => {
    assert.equal(report.day, '2024-01-31')
    assert.equal(report.summary.series, 6)
    assert.deepEqual(findings('dev-good', 'temperature'), [])
    assert.deepEqual(findings('dev-good', 'humidity'), ['duplicateTimes:warn'])
    assert.deepEqual(findings('dev-gap', 'temperature'), ['missingRate:warn', 'maxGapSteps:fail'])
    assert.deepEqual(findings('dev-flat', 'iaq'), ['flatlineSteps:fail:blocking'])
    assert.deepEqual(findings('dev-stale', 'co2'), ['missingRate:warn', 'staleSteps:fail'])
    assert.deepEqual(findings('dev-sparse', 'co2'), ['missingRate:fail:blocking'])
    const gap = report.series.find((s) => s.deviceId === 'dev-gap')
    assert.equal(gap?.values.maxGapSteps, 301)
    assert.equal(gap?.stepMs, MINUTE_MS)
    assert.equal(report.series.find((s) => s.deviceId === 'dev-flat')?.values.flatlineSteps, 1440)
    assert.equal(report.series.find((s) => s.deviceId === 'dev-stale')?.values.staleSteps, 360)
    assert.equal(report.status, 'fail')
    assert.match(
      report.findings.find((f) => f.check === 'flatlineSteps')?.message ?? '',
      /the same value for 1440 steps of 1 min \(limit 360\): the sensor may be stuck/,
    )
  })

  it('stores the report in the lake and serves the latest', async () => {
    assert.equal(await fixture.lake.exists('quality/2024-01-31.json'), true)
    const latest = await loadQualityReport(fixture)
    assert.deepEqual(latest?.findings, report.findings)
    assert.equal((await loadQualityReport(fixture, { day: '2024-01-30' })) === undefined, true)
  })

  it('gates training: blocking failures of the series in the stored reports, other series pass', async () => {
    const flat = await qualityGate(fixture, {
      deviceId: 'dev-flat',
      measure: 'iaq',
      from: JAN31 - DAY_MS,
      to: JAN31 + DAY_MS + 1,
    })
    assert.deepEqual(flat.checkedDays, ['2024-01-31'])
    assert.deepEqual(flat.uncheckedDays, ['2024-01-30', '2024-02-01'])
    assert.deepEqual(
      flat.failures.map((f) => [f.day, f.check]),
      [['2024-01-31', 'flatlineSteps']],
    )
    assert.throws(
      () => assertQualityGate(flat),
      (error) =>
        isAirlakeError(error, 'QUALITY_FAILED') &&
        error.status === 422 &&
        /dev-flat\/iaq fails blocking quality checks \(2024-01-31: the same value/.test(error.message),
    )
    const gap = await qualityGate(fixture, { deviceId: 'dev-gap', measure: 'temperature', day: '2024-01-31' })
    assert.deepEqual(gap.failures, [], 'a long gap fails the check but does not block training')
    assert.doesNotThrow(() => assertQualityGate(gap))
    const good = await qualityGate(fixture, {
      deviceId: 'dev-good',
      measure: 'temperature',
      day: '2024-01-31',
    })
    assert.deepEqual(good.failures, [])
  })

  it('refuses to train a series whose period failed a blocking check, unless told to ignore it', async () => {
    const deps = {
      ...fixture,
      trainers: { persistence: new PersistenceTrainer(), ridge: new RidgeTrainer() },
    }
    const request = {
      deviceId: 'dev-flat',
      measure: 'iaq',
      models: ['ridge'],
      from: JAN31,
      to: JAN31 + DAY_MS - 1,
    }
    await assert.rejects(startTraining(deps, request), (error) => isAirlakeError(error, 'QUALITY_FAILED'))
    const started = await startTraining(deps, { ...request, ignoreQuality: true })
    await started.done
  })

  it('takes per-measure overrides over the defaults', () => {
    assert.deepEqual(rulesFor(DEFAULT_QUALITY_RULES, 'iaq').checks.flatlineSteps, { warn: 60, fail: 360 })
    assert.deepEqual(rulesFor(DEFAULT_QUALITY_RULES, 'co2').checks.flatlineSteps, { warn: 120, fail: 720 })
    assert.deepEqual(rulesFor(DEFAULT_QUALITY_RULES, 'co2').blocking, DEFAULT_QUALITY_RULES.default.blocking)
  })

  it('`airlake quality` prints the table with failures highlighted and exits 1 on a blocking failure', async () => {
    const text = formatQualityReport(report)
    assert.match(
      text,
      /^Quality of all sources on 2024-01-31: 6 series, [\d,]+ rows, 1 pass, 1 warn, 4 fail -> FAIL\n/,
    )
    assert.match(text, /\ndevice +measure +rows +missing +max gap +flat +dup +stale +impossible +status\n/)
    assert.match(text, /\ndev-flat +iaq +1440 +0\.0% +0 +1440 +0 +0 +0 +FAIL\n/)
    assert.doesNotMatch(text, /dev-good +temperature/, 'passing series are left out unless --all')
    assert.match(text, /\n {2}FAIL \(blocks training\) +dev-sparse\/co2 missingRate: /)
    assert.match(text, /\n2 blocking failures: training on those series is refused/)
    assert.ok(
      formatQualityReport(report, { color: true }).includes('\x1b[31mdev-flat'),
      'failing rows are red on a terminal',
    )
    assert.match(formatQualityReport(report, { all: true }), /\ndev-good +temperature +1440 /)

    const program = new Command('airlake').exitOverride()
    qualityCommand(program, async () => fixture as unknown as App)
    const { stdout } = await captureOutput(() =>
      program.parseAsync(['quality', '--day', '2024-01-31', '--json'], { from: 'user' }).then(() => {}),
    )
    assert.equal(process.exitCode, 1)
    process.exitCode = 0
    const printed = JSON.parse(stdout) as QualityReport
    assert.deepEqual(printed.findings, report.findings)
  })

  it('GET /quality serves the stored report behind the API key, and checks a day without one', async () => {
    const { api, key } = await fixture.serve([qualityRoutes(fixture)])
    const stored = await api.inject({
      method: 'GET',
      url: '/quality?day=2024-01-31',
      headers: { 'x-api-key': key },
    })
    assert.equal(stored.statusCode, 200)
    const body = stored.json() as QualityReport
    assert.deepEqual(body.findings, report.findings)
    assert.deepEqual(body.summary, report.summary)
    assert.equal(body.series.length, 6)
    assert.equal(body.series[0]?.values.missingRate, report.series[0]?.values.missingRate)

    const empty = await api.inject({
      method: 'GET',
      url: '/quality?day=2024-01-29',
      headers: { 'x-api-key': key },
    })
    assert.equal(empty.statusCode, 200)
    assert.deepEqual((empty.json() as QualityReport).summary, { series: 0, pass: 0, warn: 0, fail: 0 })

    assert.equal((await api.inject({ method: 'GET', url: '/quality' })).statusCode, 401)
    const bad = await api.inject({
      method: 'GET',
      url: '/quality?day=yesterday',
      headers: { 'x-api-key': key },
    })
    assert.equal(bad.statusCode, 400)
    assert.equal(bad.json().error.code, 'PARAMETER_INVALID')
  })
})
