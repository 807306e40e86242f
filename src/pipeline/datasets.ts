/**
 * Readers for the real data shipped in `data/` (see data/README.md for their sources and licences):
 * the hourly NOx series next to a Swiss motorway (2004) and the 5-second wireless sensor network series
 * (2010). They feed the demo, the pipeline tests and the accuracy benchmark.
 */
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'csv-parse/sync'
import { AirlakeError } from '../core/errors.js'
import { HOUR_MS, type TimeMs } from '../core/time.js'
import type { Reading } from '../core/types.js'

/** Device id under which the NOx series is loaded. */
export const NOX_DEVICE = 'motorway-ch'
/** Start of the NOx series' hourly grid: `hour_index` 0 is 2004-01-01 00:00 UTC (year inferred, see data/README.md). */
export const NOX_START_MS: TimeMs = Date.UTC(2004, 0, 1)
/** Grid step of the WSN series. */
export const WSN_STEP_MS = 5_000

const NOX_FILE = 'nox_motorway_ch_hourly.csv'
const WSN_FILE = 'wsn_humidity_temperature_5s_2010.csv'
/** NOx file columns loaded as measures (column name = measure name). */
const NOX_MEASURES = ['nox_ppb', 'wind_speed_ms', 'log_nox_emission'] as const

/** The folder holding the shipped CSV files (in a checkout and in the built package). */
export function dataDirectory(): string {
  for (const relative of ['../../data/', '../../../data/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url))
    if (existsSync(`${dir}${NOX_FILE}`)) return dir
  }
  throw new AirlakeError(
    'NOT_FOUND',
    `the shipped data folder (data/${NOX_FILE}) is missing: reinstall airlake`,
  )
}

function readRows(file: string): Array<Record<string, string>> {
  const path = `${dataDirectory()}${file}`
  return parse(readFileSync(path, 'utf8'), { columns: true, skip_empty_lines: true }) as Array<
    Record<string, string>
  >
}

/** An empty field is missing; anything else must be a finite number. */
function cell(row: Record<string, string>, column: string, file: string): number | undefined {
  const text = row[column]
  if (text === undefined || text === '') return undefined
  const value = Number(text)
  if (!Number.isFinite(value)) {
    throw new AirlakeError(
      'FILE_INVALID',
      `${file}: column ${column} holds ${JSON.stringify(text)}, not a number`,
    )
  }
  return value
}

/**
 * The NOx file as readings of device `motorway-ch`: measures `nox_ppb` (ppb), `wind_speed_ms` (m/s) and
 * `log_nox_emission`, at 2004-01-01T00:00Z + `hour_index` hours. Missing hours (7.9 %) have no reading.
 * Oldest first; `source` is `file:nox_motorway_ch_hourly.csv`.
 */
export function loadNoxReadings(options: { measures?: readonly string[] } = {}): Reading[] {
  const measures = options.measures ?? NOX_MEASURES
  const readings: Reading[] = []
  for (const row of readRows(NOX_FILE)) {
    const hour = cell(row, 'hour_index', NOX_FILE)
    if (hour === undefined) throw new AirlakeError('FILE_INVALID', `${NOX_FILE}: a row has no hour_index`)
    for (const measure of measures) {
      const value = cell(row, measure, NOX_FILE)
      if (value !== undefined) {
        readings.push({
          time: NOX_START_MS + hour * HOUR_MS,
          deviceId: NOX_DEVICE,
          measure,
          value,
          source: `file:${NOX_FILE}`,
        })
      }
    }
  }
  return readings
}

/** The hourly NOx series (ppb) on its full 2004 grid: 8,784 values, NaN where the hour is missing. */
export function loadNoxSeries(): { startMs: TimeMs; stepMs: number; values: Float64Array } {
  const rows = readRows(NOX_FILE)
  const values = new Float64Array(rows.length).fill(Number.NaN)
  for (const row of rows) {
    const hour = cell(row, 'hour_index', NOX_FILE)
    const value = cell(row, 'nox_ppb', NOX_FILE)
    if (hour !== undefined && value !== undefined) values[hour] = value
  }
  return { startMs: NOX_START_MS, stepMs: HOUR_MS, values }
}

/** Device id of one WSN mote series, e.g. `wsn-single-hop-1`. */
export function wsnDeviceId(deployment: string, mote: number | string): string {
  return `wsn-${deployment.replace(/_/g, '-')}-${mote}`
}

/**
 * The 5-second WSN file as readings: one device per (deployment, mote) (`wsn-single-hop-1` …
 * `wsn-multi-hop-4`), measures `humidity` (%) and `temperature` (°C), at the deployment day's midnight UTC
 * + `elapsed_s` (the file has no clock times). Oldest first per device. `withoutEvents` leaves out the
 * rows labelled 1, the "introduced events" (motes artificially heated or humidified, 0.8 % of rows).
 */
export function loadWsnReadings(
  options: { devices?: readonly string[]; withoutEvents?: boolean } = {},
): Reading[] {
  const readings: Reading[] = []
  for (const row of readRows(WSN_FILE)) {
    const deviceId = wsnDeviceId(row.deployment ?? '', row.mote_id ?? '')
    if (options.devices && !options.devices.includes(deviceId)) continue
    if (options.withoutEvents && row.label === '1') continue
    const elapsed = cell(row, 'elapsed_s', WSN_FILE)
    const day = Date.parse(`${row.date}T00:00:00Z`)
    if (elapsed === undefined || Number.isNaN(day)) {
      throw new AirlakeError('FILE_INVALID', `${WSN_FILE}: a row has no date or elapsed_s`)
    }
    for (const measure of ['humidity', 'temperature']) {
      const value = cell(row, measure, WSN_FILE)
      if (value !== undefined) {
        readings.push({ time: day + elapsed * 1000, deviceId, measure, value, source: `file:${WSN_FILE}` })
      }
    }
  }
  return readings
}
