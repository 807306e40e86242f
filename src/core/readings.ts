/**
 * Turns what devices and files send into `Reading`s, or says precisely what is wrong.
 * Pure: no I/O. Every ingestion path (HTTP, MQTT, pollers, files) goes through these functions.
 */
import { AirlakeError } from './errors.js'
import { parseTimestamp, type TimeMs, truncateToMinute } from './time.js'
import { type Reading, VENDOR_MEASURES } from './types.js'

/** Device ids: 1–64 characters of `[A-Za-z0-9_.:-]`. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/
/** Measure names: a letter, then letters, digits, `_`, `.`; 1–64 characters. */
export const MEASURE_PATTERN = /^[A-Za-z][A-Za-z0-9_.]{0,63}$/

export function checkDeviceId(value: unknown, field = 'devid'): string {
  if (typeof value === 'number' && Number.isInteger(value)) value = String(value)
  if (typeof value !== 'string' || !DEVICE_ID_PATTERN.test(value)) {
    throw new AirlakeError(
      'READING_INVALID',
      `${field} must be 1–64 characters of letters, digits, "_", ".", ":" or "-", got ${JSON.stringify(value)}`,
    )
  }
  return value
}

export function checkMeasure(value: unknown, field = 'measure'): string {
  if (typeof value !== 'string' || !MEASURE_PATTERN.test(value)) {
    throw new AirlakeError(
      'READING_INVALID',
      `${field} must start with a letter and hold only letters, digits, "_" or "." (at most 64), got ${JSON.stringify(value)}`,
    )
  }
  return value
}

/** A finite number, or a numeric string; throws READING_INVALID naming the field otherwise. */
export function checkNumber(value: unknown, field: string): number {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  if (typeof number !== 'number' || !Number.isFinite(number)) {
    throw new AirlakeError(
      'READING_INVALID',
      `${field} must be a finite number, got ${JSON.stringify(value)}`,
    )
  }
  return number
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The vendor's reading object (reference/indoor-sensors-api.md). */
export interface VendorReading {
  devid: string
  ts: string | number
  readings: number[]
  id?: number | string
}

/**
 * Reads one vendor reading `{"devid","ts","readings":[7],"id"?}` into six rows (temperature, humidity,
 * pressure, iaq, co2, voc; `readings[0]`, a flag, is ignored), time truncated to the minute.
 */
export function readingsFromVendor(body: unknown, source: string): Reading[] {
  if (!isObject(body)) {
    throw new AirlakeError('READING_INVALID', 'send a JSON object {"devid","ts","readings":[7 numbers]}')
  }
  for (const field of ['devid', 'ts', 'readings'] as const) {
    if (body[field] === undefined || body[field] === null) {
      throw new AirlakeError(
        'READING_INVALID',
        `the field "${field}" is missing: send {"devid","ts","readings":[7 numbers]}`,
      )
    }
  }
  const deviceId = checkDeviceId(body.devid)
  const time = truncateToMinute(parseTimestamp(body.ts))
  const values = body.readings
  if (!Array.isArray(values) || values.length !== 7) {
    throw new AirlakeError(
      'READING_INVALID',
      `readings must be a list of 7 numbers [flag, temperature, humidity, pressure, iaq, co2, voc], got ${
        Array.isArray(values) ? `${values.length} values` : JSON.stringify(values)
      }`,
    )
  }
  return VENDOR_MEASURES.map((measure, i) => ({
    time,
    deviceId,
    measure,
    value: checkNumber(values[i + 1], `readings[${i + 1}] (${measure})`),
    source,
  }))
}

/** Reads one long row `{"time","device","measure","value"}` (also `device_id`/`devid`, `ts`/`timestamp`). */
export function readingFromLongRow(
  body: unknown,
  source: string,
  options: { truncate?: boolean } = {},
): Reading {
  if (!isObject(body)) {
    throw new AirlakeError('READING_INVALID', 'send a JSON object {"time","device","measure","value"}')
  }
  const timeValue = body.time ?? body.ts ?? body.timestamp
  const deviceValue = body.device ?? body.device_id ?? body.deviceId ?? body.devid
  for (const [field, value] of [
    ['time', timeValue],
    ['device', deviceValue],
    ['measure', body.measure],
    ['value', body.value],
  ] as const) {
    if (value === undefined || value === null) {
      throw new AirlakeError(
        'READING_INVALID',
        `the field "${field}" is missing: send {"time","device","measure","value"}`,
      )
    }
  }
  const time = parseTimestamp(timeValue)
  return {
    time: options.truncate === false ? time : truncateToMinute(time),
    deviceId: checkDeviceId(deviceValue, 'device'),
    measure: checkMeasure(body.measure),
    value: checkNumber(body.value, 'value'),
    source,
  }
}

/** Whether `body` looks like a vendor reading (has `readings`), as opposed to a long row. */
export function isVendorShaped(body: unknown): boolean {
  return isObject(body) && 'readings' in body
}

/** Reads either shape: vendor readings give six rows, long rows one. */
export function readingsFromPayload(body: unknown, source: string): Reading[] {
  return isVendorShaped(body) ? readingsFromVendor(body, source) : [readingFromLongRow(body, source)]
}

/** Where a value can be plotted on the minute grid: the reading's time as an ISO string (for logs). */
export function describeReading(reading: Pick<Reading, 'deviceId' | 'measure' | 'time'>): string {
  return `${reading.deviceId}/${reading.measure}@${new Date(reading.time as TimeMs).toISOString()}`
}
