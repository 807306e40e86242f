/** Time helpers. Every time inside airlake is a UTC epoch in milliseconds (`TimeMs`). */
import { AirlakeError } from './errors.js'

/** UTC epoch milliseconds. */
export type TimeMs = number
/** A UTC calendar day, `YYYY-MM-DD`. */
export type IsoDate = string

export const MINUTE_MS = 60_000
export const HOUR_MS = 3_600_000
export const DAY_MS = 86_400_000

/** Floors `time` to the start of its minute. */
export function truncateToMinute(time: TimeMs): TimeMs {
  return Math.floor(time / MINUTE_MS) * MINUTE_MS
}

/** Floors `time` onto a grid of `stepMs` (aligned to the epoch). */
export function floorToStep(time: TimeMs, stepMs: number): TimeMs {
  return Math.floor(time / stepMs) * stepMs
}

/** The UTC day of `time`. */
export function isoDate(time: TimeMs): IsoDate {
  return new Date(time).toISOString().slice(0, 10)
}

/** `time` as `YYYY-MM-DD HH:MM:SS.000000000`, the seed's record format. */
export function formatRecordTime(time: TimeMs): string {
  const iso = new Date(time).toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000000`
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/

/** Parses `YYYY-MM-DD` as the start of that UTC day; throws PARAMETER_INVALID otherwise. */
export function parseIsoDate(day: string, what = 'day'): TimeMs {
  const time = ISO_DATE.test(day) ? Date.parse(`${day}T00:00:00Z`) : Number.NaN
  if (Number.isNaN(time)) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `${what} must be a date like 2024-01-31, got ${JSON.stringify(day)}`,
    )
  }
  return time
}

const RFC1123 = /^[A-Za-z]{3}, \d{1,2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} (GMT|UTC|[+-]\d{4})$/
const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/
const UNIX_SECONDS = /^-?\d+(\.\d+)?$/
// Earliest and latest accepted instants: a guard against unit mistakes (ms sent as s, or s as ms).
const MIN_TIME = Date.UTC(1970, 0, 1)
const MAX_TIME = Date.UTC(2200, 0, 1)

/**
 * Parses a timestamp sent by a device or a file: RFC 1123 (`Tue, 07 Feb 2023 11:29:19 GMT`), ISO 8601
 * (a zone-less ISO time is UTC), or unix seconds (number or numeric string). Throws TIME_INVALID with
 * the accepted forms otherwise.
 */
export function parseTimestamp(value: unknown): TimeMs {
  let time = Number.NaN
  if (typeof value === 'number' && Number.isFinite(value)) {
    time = value * 1000
  } else if (typeof value === 'string') {
    const text = value.trim()
    if (UNIX_SECONDS.test(text)) time = Number(text) * 1000
    else if (RFC1123.test(text)) time = Date.parse(text)
    else if (ISO_8601.test(text)) {
      const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(text) && text.length > 10
      const normal = text.replace(' ', 'T')
      time = Date.parse(hasZone ? normal : text.length === 10 ? `${normal}T00:00:00Z` : `${normal}Z`)
    }
  }
  if (!Number.isFinite(time) || time < MIN_TIME || time >= MAX_TIME) {
    throw new AirlakeError(
      'TIME_INVALID',
      `cannot read the time ${JSON.stringify(value)}: send RFC 1123 ("Tue, 07 Feb 2023 11:29:19 GMT"), ` +
        'ISO 8601 ("2023-02-07T11:29:19Z") or unix seconds (1675769359), between 1970 and 2200',
    )
  }
  return time
}
