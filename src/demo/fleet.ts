/**
 * The demo fleet: devices that replay the shipped real series (data/README.md) as live readings through
 * the public HTTP API, exactly as real devices would (`POST /sensorsdata/batch` with an API key).
 *
 * - `wsn-*` (8 devices): the 5-second wireless-sensor-network motes, averaged to 1-minute readings of
 *   `temperature` and `humidity` (real), plus `iaq`, an indoor-air-quality-like index DERIVED from those two
 *   by `derivedIaq` below (the data sets hold no measured IAQ: see its comment for the formula).
 * - `motorway-ch`: the hourly NOx series (`nox_ppb`, real) and wind speed.
 *
 * Each series is laid onto the present: its first `backfillSteps` points are loaded at once, ending at the
 * current step, so models can train straight away; the rest arrives live, one step per `stepMs / speed`.
 * When a series ends it starts again from its beginning. Progress survives restarts (store state).
 */
import { HOUR_MS, MINUTE_MS, type TimeMs } from '../core/time.js'
import type { Reading } from '../core/types.js'
import { loadNoxReadings, loadWsnReadings } from '../pipeline/datasets.js'

/** One replayed device: values per measure on a regular grid (NaN = missing). */
export interface DemoSeries {
  deviceId: string
  stepMs: number
  /** Points loaded at once on the first start, ending at the current step. */
  backfillSteps: number
  measures: Record<string, Float64Array>
  length: number
  provenance: string
}

/**
 * An IAQ-like index (0 best, 500 worst) derived from temperature (°C) and relative humidity (%):
 * 25 at 21 °C and 45 %RH, rising 4 points per %RH away from 45 and 6 per °C away from 21.
 * A stand-in for the vendor's IAQ (which is driven by VOCs) so the IAQ forecasting task runs on real
 * dynamics; it is not a measurement.
 */
export function derivedIaq(temperatureC: number, humidityPct: number): number {
  const index = 25 + 4 * Math.abs(humidityPct - 45) + 6 * Math.abs(temperatureC - 21)
  return Math.round(Math.min(500, Math.max(0, index)) * 10) / 10
}

/** The fleet's series, built from the shipped files. */
export function demoSeries(): DemoSeries[] {
  return [...wsnSeries(), noxSeries()]
}

function wsnSeries(): DemoSeries[] {
  const byDevice = new Map<string, Reading[]>()
  for (const reading of loadWsnReadings()) {
    const list = byDevice.get(reading.deviceId) ?? []
    list.push(reading)
    byDevice.set(reading.deviceId, list)
  }
  const series: DemoSeries[] = []
  for (const [deviceId, readings] of [...byDevice].sort(([a], [b]) => a.localeCompare(b))) {
    const start = Math.min(...readings.map((r) => r.time))
    const length = Math.floor((Math.max(...readings.map((r) => r.time)) - start) / MINUTE_MS) + 1
    const sums = { temperature: new Float64Array(length), humidity: new Float64Array(length) }
    const counts = { temperature: new Float64Array(length), humidity: new Float64Array(length) }
    for (const r of readings) {
      const measure = r.measure as 'temperature' | 'humidity'
      const i = Math.floor((r.time - start) / MINUTE_MS)
      sums[measure][i]! += r.value
      counts[measure][i]! += 1
    }
    const mean = (m: 'temperature' | 'humidity') =>
      sums[m].map((sum, i) =>
        counts[m][i]! > 0 ? Math.round((sum / counts[m][i]!) * 100) / 100 : Number.NaN,
      )
    const temperature = mean('temperature')
    const humidity = mean('humidity')
    const iaq = temperature.map((t, i) =>
      Number.isNaN(t) || Number.isNaN(humidity[i]!) ? Number.NaN : derivedIaq(t, humidity[i]!),
    )
    series.push({
      deviceId,
      stepMs: MINUTE_MS,
      backfillSteps: length - 30,
      measures: { temperature, humidity, iaq },
      length,
      provenance:
        'Suthaharan et al. (2010) wireless sensor network, 5-second readings averaged per minute; iaq derived from temperature and humidity',
    })
  }
  return series
}

function noxSeries(): DemoSeries {
  const readings = loadNoxReadings({ measures: ['nox_ppb', 'wind_speed_ms'] })
  const start = Math.min(...readings.map((r) => r.time))
  const length = Math.floor((Math.max(...readings.map((r) => r.time)) - start) / HOUR_MS) + 1
  const measures = {
    nox_ppb: new Float64Array(length).fill(Number.NaN),
    wind_speed_ms: new Float64Array(length).fill(Number.NaN),
  }
  for (const r of readings)
    measures[r.measure as keyof typeof measures][Math.floor((r.time - start) / HOUR_MS)] = r.value
  return {
    deviceId: readings[0]!.deviceId,
    stepMs: HOUR_MS,
    backfillSteps: length - 24 * 60,
    measures,
    length,
    provenance: 'René Locher (ZHAW), hourly NOx next to a Swiss motorway, 2004 (R package robustbase)',
  }
}

/** Where a device is in its replay: point `index` of the series is stamped `time`. */
export interface ReplayCursor {
  index: number
  time: TimeMs
}

/** Long rows of point `index` of `series` at `time`; missing values are left out. */
export function rowsAt(series: DemoSeries, index: number, time: TimeMs): Array<Record<string, unknown>> {
  const i = index % series.length
  const rows: Array<Record<string, unknown>> = []
  for (const [measure, values] of Object.entries(series.measures)) {
    const value = values[i]!
    if (!Number.isNaN(value))
      rows.push({ time: new Date(time).toISOString(), device: series.deviceId, measure, value })
  }
  return rows
}
