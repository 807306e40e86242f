/**
 * Data quality: declarative dataset checks run on silver for one UTC day, per (device, measure) series,
 * with defaults per measure. The report is kept in the lake at `quality/<day>.json`; the store's state key
 * `quality.latest` names the newest report's day. A `fail` on a blocking check stops training on that series
 * (`qualityGate`, `assertQualityGate`).
 *
 * Checks (a series' step is its median spacing, or `stepMs` when set):
 * - `missingRate`: share of the steps from the series' first reading to the end of the period without a reading.
 * - `maxGapSteps`: steps missing in the longest gap between two readings.
 * - `flatlineSteps`: steps covered by the longest run of one unchanged value (a stuck sensor).
 * - `duplicateTimes`: readings closer than half a step to the previous one (two readings in one slot).
 * - `staleSteps`: steps from the last reading to the end of the period (now, for today): freshness.
 * - `impossibleValues`: values outside the physical limits (src/core/quality-limits.ts) that reached silver.
 * A value at or above `fail` fails, at or above `warn` warns.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AirlakeError, wrapError } from '../core/errors.js'
import type { Lake } from '../core/ports/lake.js'
import type { StateStore } from '../core/ports/store.js'
import { physicalLimitFor } from '../core/quality-limits.js'
import { DAY_MS, type IsoDate, isoDate, parseIsoDate, type TimeMs } from '../core/time.js'
import {
  checkSource,
  listSilverPartitions,
  localCopy,
  type PromotionReport,
  promoteToSilver,
  type SilverDeps,
} from './to-silver.js'

export const QUALITY_CHECKS = [
  'missingRate',
  'maxGapSteps',
  'flatlineSteps',
  'duplicateTimes',
  'staleSteps',
  'impossibleValues',
] as const
export type QualityCheck = (typeof QUALITY_CHECKS)[number]

/** Thresholds of one check; a threshold left out never triggers. */
export interface Threshold {
  warn?: number | undefined
  fail?: number | undefined
}

export interface MeasureRules {
  /** The series' step in ms; inferred from the data (median spacing) when absent. */
  stepMs?: number | undefined
  checks: Record<QualityCheck, Threshold>
  /** Checks whose `fail` blocks training. */
  blocking: readonly QualityCheck[]
}

/** Rules for every measure, with overrides per measure name. */
export interface QualityRules {
  default: MeasureRules
  measures: Record<
    string,
    { stepMs?: number; checks?: Partial<Record<QualityCheck, Threshold>>; blocking?: QualityCheck[] }
  >
}

/**
 * The defaults. Steps are the series' own (one minute for the indoor sensors, one hour for OpenAQ), so the
 * same numbers fit both: a 2-hour gap at one minute is 120 steps.
 */
export const DEFAULT_QUALITY_RULES: QualityRules = {
  default: {
    checks: {
      missingRate: { warn: 0.1, fail: 0.5 },
      maxGapSteps: { warn: 15, fail: 240 },
      flatlineSteps: { warn: 120, fail: 720 },
      duplicateTimes: { warn: 1 },
      staleSteps: { warn: 15, fail: 120 },
      impossibleValues: { fail: 1 },
    },
    blocking: ['missingRate', 'flatlineSteps', 'impossibleValues'],
  },
  measures: {
    // The IAQ index sticks at its start-up value while the gas sensor calibrates: flag it sooner.
    iaq: { checks: { flatlineSteps: { warn: 60, fail: 360 } } },
    // Indoor pressure legitimately holds one value (to 0.01 kPa) for hours.
    pressure: { checks: { flatlineSteps: { warn: 360, fail: 1440 } } },
  },
}

export type Severity = 'pass' | 'warn' | 'fail'

export interface QualityFinding {
  check: QualityCheck
  deviceId: string
  measure: string
  severity: 'warn' | 'fail'
  value: number
  threshold: number
  blocking: boolean
  message: string
}

export interface SeriesQuality {
  deviceId: string
  measure: string
  rows: number
  stepMs: number
  firstTime: TimeMs
  lastTime: TimeMs
  values: Record<QualityCheck, number>
  status: Severity
}

export interface QualityReport {
  day: IsoDate
  source?: string | undefined
  generatedAt: TimeMs
  /** Checked period: [from, to) in UTC ms (to is now for today). */
  from: TimeMs
  to: TimeMs
  partitions: number
  rows: number
  summary: { series: number; pass: number; warn: number; fail: number }
  status: Severity
  series: SeriesQuality[]
  findings: QualityFinding[]
  rules: QualityRules
}

export interface QualityDeps extends SilverDeps {
  store: StateStore
}

const LATEST_STATE_KEY = 'quality.latest'

/** The lake key of a day's quality report. */
export function qualityReportKey(day: IsoDate, source?: string): string {
  return source === undefined ? `quality/${day}.json` : `quality/${source}/${day}.json`
}

/** The rules for one measure: the defaults with the measure's overrides. */
export function rulesFor(rules: QualityRules, measure: string): MeasureRules {
  const override = rules.measures[measure]
  if (override === undefined) return rules.default
  const checks = { ...rules.default.checks }
  for (const check of QUALITY_CHECKS) {
    const own = override.checks?.[check]
    if (own !== undefined) checks[check] = { ...checks[check], ...own }
  }
  return {
    stepMs: override.stepMs ?? rules.default.stepMs,
    checks,
    blocking: override.blocking ?? rules.default.blocking,
  }
}

/** The per-measure step overrides and physical limits, as an SQL relation `limits(measure, step_ms, lo, hi)`. */
function limitsRelation(measures: readonly string[], rules: QualityRules): string {
  const literal = (text: string) => `'${text.replaceAll("'", "''")}'`
  const number = (value: number | undefined) =>
    value === undefined || !Number.isFinite(value) ? 'NULL' : String(value)
  const rows = measures.map((measure) => {
    const limit = physicalLimitFor(measure)
    return `(${literal(measure)}, ${number(rulesFor(rules, measure).stepMs)}::DOUBLE, ${number(limit?.min)}::DOUBLE, ${number(limit?.max)}::DOUBLE)`
  })
  if (rows.length === 0)
    return 'SELECT NULL::VARCHAR AS measure, NULL::DOUBLE AS step_ms, NULL::DOUBLE AS lo, NULL::DOUBLE AS hi WHERE false'
  return `SELECT * FROM (VALUES ${rows.join(', ')}) AS limits(measure, step_ms, lo, hi)`
}

const DAY_ROWS = `SELECT time, device_id, measure, value FROM silver
  WHERE time >= $1 AND time < $2
  QUALIFY row_number() OVER (PARTITION BY device_id, measure, time ORDER BY received_at DESC, source DESC) = 1`

/**
 * One pass over the day's de-duplicated rows per series: counts, spacing, the longest run of one value,
 * readings closer than half a step, values outside the physical limits.
 */
function seriesSql(limits: string): string {
  return `
WITH s AS (${DAY_ROWS}),
d AS (
  SELECT *, time - lag(time) OVER w AS dt,
    CASE WHEN value IS NOT DISTINCT FROM lag(value) OVER w THEN 0 ELSE 1 END AS changed
  FROM s WINDOW w AS (PARTITION BY device_id, measure ORDER BY time)
),
r AS (
  SELECT device_id, measure, time,
    sum(changed) OVER (PARTITION BY device_id, measure ORDER BY time ROWS UNBOUNDED PRECEDING) AS run
  FROM d
),
runs AS (
  SELECT device_id, measure, max(run_span) AS flat_span FROM (
    SELECT device_id, measure, max(time) - min(time) AS run_span FROM r GROUP BY device_id, measure, run
  ) GROUP BY device_id, measure
),
spacing AS (
  SELECT device_id, measure, count(*) AS rows, min(time) AS first_time, max(time) AS last_time,
    median(dt) AS median_dt, max(dt) AS max_dt
  FROM d GROUP BY device_id, measure
),
steps AS (
  SELECT spacing.*, coalesce(l.step_ms, CASE WHEN median_dt > 0 THEN median_dt END, 60000) AS step_ms, l.lo, l.hi
  FROM spacing LEFT JOIN (${limits}) AS l USING (measure)
),
extra AS (
  SELECT d.device_id, d.measure,
    count(*) FILTER (WHERE d.dt < st.step_ms / 2) AS duplicates,
    count(*) FILTER (WHERE isnan(d.value) OR isinf(d.value) OR d.value < st.lo OR d.value > st.hi) AS impossible
  FROM d JOIN steps AS st USING (device_id, measure) GROUP BY d.device_id, d.measure
)
SELECT steps.device_id, steps.measure, rows, first_time, last_time, max_dt, step_ms, flat_span, duplicates, impossible
FROM steps JOIN runs USING (device_id, measure) JOIN extra USING (device_id, measure)
ORDER BY steps.device_id, steps.measure`
}

/**
 * Runs the dataset checks on silver for `day` (today when absent), stores the report in the lake and points
 * `quality.latest` at it. Promotes new bronze first unless `refresh` is false. Throws PARAMETER_INVALID for
 * a bad day, LAKE_UNAVAILABLE or STORE_UNAVAILABLE when storage fails.
 */
export async function runQualityChecks(
  deps: QualityDeps,
  input: { day?: IsoDate; source?: string; rules?: QualityRules; refresh?: boolean } = {},
): Promise<QualityReport & { promotion?: PromotionReport | undefined }> {
  const now = deps.clock.now()
  const day = input.day ?? isoDate(now)
  const from = parseIsoDate(day)
  const source = input.source === undefined ? undefined : checkSource(input.source)
  const to = Math.min(from + DAY_MS, Math.max(from, now))
  const rules = input.rules ?? DEFAULT_QUALITY_RULES
  const promotion = input.refresh === false ? undefined : await promoteToSilver(deps, { source })

  const partitions = await listSilverPartitions(deps.lake, { source, fromDay: day, toDay: day })
  const files: string[] = []
  const scratch = await mkdtemp(join(tmpdir(), 'airlake-quality-'))
  let stats: Record<string, unknown>[]
  try {
    for (const partition of partitions) {
      const file = await localCopy(deps.lake, partition.key, scratch)
      if (file !== undefined) files.push(file)
    }
    const period = [from, from + DAY_MS]
    const measures = await deps.columnar.querySilver(
      files,
      'SELECT DISTINCT measure FROM silver WHERE time >= $1 AND time < $2 ORDER BY measure',
      period,
    )
    const limits = limitsRelation(
      measures.map((row) => String(row.measure)),
      rules,
    )
    stats = await deps.columnar.querySilver(files, seriesSql(limits), period)
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }

  const series: SeriesQuality[] = []
  const findings: QualityFinding[] = []
  let rowsTotal = 0
  for (const row of stats) {
    const deviceId = String(row.device_id)
    const measure = String(row.measure)
    const measureRules = rulesFor(rules, measure)
    const step = Number(row.step_ms)
    const rows = Number(row.rows)
    const firstTime = Number(row.first_time)
    const lastTime = Number(row.last_time)
    rowsTotal += rows
    // Steps expected from the first reading to the end of the period: a device that started mid-day is not missing its morning.
    const expected = Math.max(1, Math.floor((Math.max(to, lastTime + 1) - 1 - firstTime) / step) + 1)
    const maxDt = row.max_dt === null ? 0 : Number(row.max_dt)
    const values: Record<QualityCheck, number> = {
      missingRate: round(Math.max(0, 1 - rows / expected)),
      maxGapSteps: Math.max(0, Math.round(maxDt / step) - 1),
      flatlineSteps: rows < 2 ? 0 : Math.round(Number(row.flat_span) / step) + 1,
      duplicateTimes: Number(row.duplicates),
      staleSteps: Math.max(0, Math.floor((to - lastTime) / step) - 1),
      impossibleValues: Number(row.impossible),
    }
    let status: Severity = 'pass'
    for (const check of QUALITY_CHECKS) {
      const threshold = measureRules.checks[check]
      const value = values[check]
      const severity =
        threshold.fail !== undefined && value >= threshold.fail
          ? 'fail'
          : threshold.warn !== undefined && value >= threshold.warn
            ? 'warn'
            : undefined
      if (severity === undefined) continue
      const limit = (severity === 'fail' ? threshold.fail : threshold.warn) ?? 0
      findings.push({
        check,
        deviceId,
        measure,
        severity,
        value,
        threshold: limit,
        blocking: severity === 'fail' && measureRules.blocking.includes(check),
        message: describe(check, value, limit, step),
      })
      if (severity === 'fail') status = 'fail'
      else if (status === 'pass') status = 'warn'
    }
    series.push({ deviceId, measure, rows, stepMs: step, firstTime, lastTime, values, status })
  }

  const summary = {
    series: series.length,
    pass: series.filter((s) => s.status === 'pass').length,
    warn: series.filter((s) => s.status === 'warn').length,
    fail: series.filter((s) => s.status === 'fail').length,
  }
  const report: QualityReport = {
    day,
    source,
    generatedAt: now,
    from,
    to,
    partitions: partitions.length,
    rows: rowsTotal,
    summary,
    status: summary.fail > 0 ? 'fail' : summary.warn > 0 ? 'warn' : 'pass',
    series,
    findings,
    rules,
  }
  await deps.lake.put(qualityReportKey(day, source), JSON.stringify(report), { overwrite: true })
  if (source === undefined) {
    const latest = await deps.store.getState(LATEST_STATE_KEY)
    if (latest === undefined || latest <= day) await deps.store.setState(LATEST_STATE_KEY, day)
  }
  deps.logger.info('quality checked', {
    day,
    source,
    series: summary.series,
    warn: summary.warn,
    fail: summary.fail,
  })
  return { ...report, promotion }
}

/** The stored report of `day` (the latest when absent), or `undefined` when none was run. */
export async function loadQualityReport(
  deps: Pick<QualityDeps, 'lake' | 'store'>,
  input: { day?: IsoDate; source?: string } = {},
): Promise<QualityReport | undefined> {
  const day = input.day ?? (await deps.store.getState(LATEST_STATE_KEY))
  if (day === undefined) return undefined
  parseIsoDate(day)
  return readReport(
    deps.lake,
    qualityReportKey(day, input.source === undefined ? undefined : checkSource(input.source)),
  )
}

/** What the quality gate found for one series over the days of a training period. */
export interface QualityGateResult {
  deviceId: string
  measure: string
  /** Blocking failures of the series in the stored reports, with their day. */
  failures: Array<QualityFinding & { day: IsoDate }>
  /** Days with a stored report (all sources). */
  checkedDays: IsoDate[]
  /** Days without one: not checked, so not blocking (run `airlake quality --day D` to check them). */
  uncheckedDays: IsoDate[]
}

// A training period longer than this is not gated day by day (reading that many reports costs more than it tells).
const MAX_GATE_DAYS = 366

/**
 * The quality gate before training: the blocking failures of (deviceId, measure) in the stored daily reports
 * (`quality/<day>.json`, all sources) of `day`, or of every UTC day touching [from, to]. Reads reports only,
 * never silver, so it is cheap enough to call before every run. Throws PARAMETER_INVALID for a bad period.
 *
 * Example (before training):
 * `const gate = await qualityGate({ lake }, { deviceId: 'dev-1', measure: 'iaq', from, to })`, then
 * `assertQualityGate(gate)` throws QUALITY_FAILED (422) naming the failing checks when `gate.failures` is not empty.
 */
export async function qualityGate(
  deps: { lake: Lake },
  input: { deviceId: string; measure: string } & ({ day: IsoDate } | { from: TimeMs; to: TimeMs }),
): Promise<QualityGateResult> {
  const days = 'day' in input ? [isoDate(parseIsoDate(input.day))] : daysTouching(input.from, input.to)
  const result: QualityGateResult = {
    deviceId: input.deviceId,
    measure: input.measure,
    failures: [],
    checkedDays: [],
    uncheckedDays: [],
  }
  for (const day of days) {
    const report = await readReport(deps.lake, qualityReportKey(day))
    if (report === undefined) {
      result.uncheckedDays.push(day)
      continue
    }
    result.checkedDays.push(day)
    for (const finding of report.findings) {
      if (finding.blocking && finding.deviceId === input.deviceId && finding.measure === input.measure) {
        result.failures.push({ ...finding, day })
      }
    }
  }
  return result
}

/** Throws QUALITY_FAILED when the gate found blocking failures, naming them and what to do; returns quietly otherwise. */
export function assertQualityGate(gate: QualityGateResult): void {
  if (gate.failures.length === 0) return
  const listed = gate.failures.slice(0, 5).map((f) => `${f.day}: ${f.message}`)
  const more =
    gate.failures.length > listed.length ? `; and ${gate.failures.length - listed.length} more` : ''
  throw new AirlakeError(
    'QUALITY_FAILED',
    `the data of ${gate.deviceId}/${gate.measure} fails blocking quality checks (${listed.join('; ')}${more}). ` +
      `Fix the sensor or train on another period (see \`airlake quality --day ${gate.failures[0]?.day ?? ''}\`)`,
    {
      details: {
        deviceId: gate.deviceId,
        measure: gate.measure,
        failures: gate.failures.map((f) => ({
          day: f.day,
          check: f.check,
          value: f.value,
          threshold: f.threshold,
        })),
      },
    },
  )
}

/** The UTC days touching [from, to] (to inclusive), oldest first. */
function daysTouching(from: TimeMs, to: TimeMs): IsoDate[] {
  if (!Number.isFinite(from) || !Number.isFinite(to) || to < from) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `the period must have from <= to (epoch ms), got ${from}..${to}`,
    )
  }
  const first = Math.floor(from / DAY_MS)
  const last = Math.floor(to / DAY_MS)
  const start = Math.max(first, last - MAX_GATE_DAYS + 1)
  const days: IsoDate[] = []
  for (let day = start; day <= last; day++) days.push(isoDate(day * DAY_MS))
  return days
}

async function readReport(lake: Lake, key: string): Promise<QualityReport | undefined> {
  const body = await lake.get(key)
  if (body === undefined) return undefined
  try {
    return JSON.parse(Buffer.from(body).toString('utf8')) as QualityReport
  } catch (error) {
    throw wrapError(
      error,
      'LAKE_UNAVAILABLE',
      `the quality report ${key} in ${lake.location} is not JSON: run \`airlake quality\` for that day again`,
    )
  }
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000
}

function describe(check: QualityCheck, value: number, threshold: number, stepMs: number): string {
  const step =
    stepMs % 3_600_000 === 0
      ? `${stepMs / 3_600_000} h`
      : stepMs % 60_000 === 0
        ? `${stepMs / 60_000} min`
        : `${stepMs} ms`
  switch (check) {
    case 'missingRate':
      return `${(value * 100).toFixed(1)}% of ${step} steps missing (limit ${(threshold * 100).toFixed(0)}%)`
    case 'maxGapSteps':
      return `a gap of ${value} missing steps of ${step} (limit ${threshold})`
    case 'flatlineSteps':
      return `the same value for ${value} steps of ${step} (limit ${threshold}): the sensor may be stuck`
    case 'duplicateTimes':
      return `${value} readings less than half a step (${step}) after the previous one`
    case 'staleSteps':
      return `no reading for the last ${value} steps of ${step} (limit ${threshold})`
    case 'impossibleValues':
      return `${value} physically impossible values`
  }
}
