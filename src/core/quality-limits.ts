/**
 * Physically impossible values: the limits table per measure and the check ingestion runs on every reading.
 * Pure: no I/O. A reading outside its measure's limits is rejected at ingest with the reason returned here;
 * the dataset checks (src/pipeline/quality.ts) count any that reached silver by another path.
 */
import type { Reading } from './types.js'

/** The range a measure can physically take; a bound left out is open. Both bounds are inclusive. */
export interface PhysicalLimit {
  /** Unit the value is stored in, as shown to people (`°C`, `%RH`, `ppm`; empty for an index). */
  unit: string
  min?: number
  max?: number
  /** Why the range is what it is, added to the rejection reason so the sender can fix the device. */
  why: string
}

/**
 * Limits per measure name. Only what no working sensor can report is impossible: the bounds are wide on
 * purpose, because a rejected reading is lost for training while an odd but real one is flagged later by
 * the dataset checks. Measures not listed here have no physical limits.
 */
export const PHYSICAL_LIMITS: Readonly<Record<string, PhysicalLimit>> = {
  temperature: {
    unit: '°C',
    min: -60,
    max: 80,
    why: 'air temperature where sensors are deployed stays within -60..80 °C',
  },
  humidity: { unit: '%RH', min: 0, max: 100, why: 'relative humidity is a percentage' },
  pressure: {
    unit: 'kPa',
    min: 30,
    max: 120,
    why: 'air pressure is sent in kPa (about 101 at sea level); divide hPa by 10',
  },
  iaq: { unit: '', min: 0, max: 500, why: 'the IAQ index runs from 0 to 500' },
  co2: {
    unit: 'ppm',
    min: 0,
    max: 1_000_000,
    why: 'a concentration cannot be negative or above 1,000,000 ppm',
  },
  voc: { unit: 'ppm', min: 0, why: 'a concentration cannot be negative' },
  pm25: { unit: 'µg/m³', min: 0, why: 'a concentration cannot be negative' },
  pm10: { unit: 'µg/m³', min: 0, why: 'a concentration cannot be negative' },
  pm1: { unit: 'µg/m³', min: 0, why: 'a concentration cannot be negative' },
  no2: { unit: 'µg/m³', min: 0, why: 'a concentration cannot be negative' },
  o3: { unit: 'µg/m³', min: 0, why: 'a concentration cannot be negative' },
  so2: { unit: 'µg/m³', min: 0, why: 'a concentration cannot be negative' },
  co: { unit: 'µg/m³', min: 0, why: 'a concentration cannot be negative' },
}

/** The limits for `measure` (case-insensitive; `pm2.5` and `pm2_5` mean `pm25`), or `undefined` when it has none. */
export function physicalLimitFor(measure: string): PhysicalLimit | undefined {
  const key = measure.toLowerCase().replace(/^pm2[._]5$/, 'pm25')
  return Object.hasOwn(PHYSICAL_LIMITS, key) ? PHYSICAL_LIMITS[key] : undefined
}

function withUnit(value: number, unit: string): string {
  const number = Number.isInteger(value) ? value.toLocaleString('en-US') : String(value)
  return unit === '' ? number : `${number} ${unit}`
}

/**
 * Why `reading` is physically impossible, or `undefined` when it is possible (or its measure has no limits).
 * Example: `checkPhysicalLimits({ measure: 'humidity', value: 130 })` ->
 * `"humidity 130 %RH is outside 0..100 %RH: relative humidity is a percentage"`.
 * A non-finite value (NaN, Infinity) is always impossible.
 */
export function checkPhysicalLimits(reading: Pick<Reading, 'measure' | 'value'>): string | undefined {
  const { measure, value } = reading
  if (!Number.isFinite(value)) return `${measure} ${String(value)} is not a finite number`
  const limit = physicalLimitFor(measure)
  if (limit === undefined) return undefined
  const below = limit.min !== undefined && value < limit.min
  const above = limit.max !== undefined && value > limit.max
  if (!below && !above) return undefined
  const range =
    limit.min !== undefined && limit.max !== undefined
      ? `outside ${withUnit(limit.min, '')}..${withUnit(limit.max, limit.unit)}`
      : limit.min !== undefined
        ? `below ${withUnit(limit.min, limit.unit)}`
        : `above ${withUnit(limit.max ?? 0, limit.unit)}`
  return `${measure} ${limit.unit === '' ? value : `${value} ${limit.unit}`} is ${range}: ${limit.why}`
}
