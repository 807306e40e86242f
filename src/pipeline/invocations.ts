/**
 * Reads a scoring request in MLflow's serving formats (DESIGN.md section 4) into a WindowBatch, checking
 * every value against the model's signature so a bad request is a 400 that says what was expected.
 *
 * Accepted bodies (each window oldest value first, L values, on the signature's grid):
 * - `{"instances": [[L numbers], …]}`
 * - `{"inputs": [[L numbers], …]}`
 * - `{"dataframe_split": {"columns": [L names], "data": [[L numbers], …]}}`; an extra column named
 *   `time` (ISO 8601 text or epoch ms) gives each window's last time, for models with calendar features.
 * Answers are `{"predictions": [[H numbers], …]}`, one row per window.
 */
import { AirlakeError } from '../core/errors.js'
import type { ForecastSignature, WindowBatch } from '../core/model.js'

/** The body keys that carry input, in MLflow's names. */
export const INVOCATION_FORMATS = ['instances', 'inputs', 'dataframe_split'] as const

/** Human words for a signature: "window of iaq on a 1-minute grid". */
export function describeSignature(signature: ForecastSignature): string {
  return `window of ${signature.measure} on a ${describeStep(signature.stepMs)} grid`
}

/** `60000` -> "1-minute", `3600000` -> "1-hour", `5000` -> "5-second". */
export function describeStep(stepMs: number): string {
  const units: Array<[number, string]> = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1_000, 'second'],
  ]
  for (const [size, name] of units)
    if (stepMs >= size && stepMs % size === 0) return `${stepMs / size}-${name}`
  return `${stepMs}-ms`
}

function mismatch(message: string, signature: ForecastSignature): AirlakeError {
  return new AirlakeError('SIGNATURE_MISMATCH', message, {
    details: {
      expected: {
        window: signature.window,
        horizon: signature.horizon,
        measure: signature.measure,
        stepMs: signature.stepMs,
      },
    },
  })
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Parses a scoring body against `signature`. Throws BAD_REQUEST when the body has none of the accepted
 * keys (naming them), SIGNATURE_MISMATCH when a window has the wrong length or a value is not a finite
 * number (naming where, and what was expected). Nothing is partially accepted.
 */
export function parseInvocation(body: unknown, signature: ForecastSignature): WindowBatch {
  const example = `{"instances": [[${signature.window} numbers]]}`
  if (!isObject(body)) {
    throw new AirlakeError(
      'BAD_REQUEST',
      `send a JSON object such as ${example} (one row per window, oldest value first)`,
    )
  }
  const present = INVOCATION_FORMATS.filter((key) => body[key] !== undefined)
  if (present.length !== 1) {
    throw new AirlakeError(
      'BAD_REQUEST',
      present.length === 0
        ? `the body needs one of ${INVOCATION_FORMATS.map((k) => `"${k}"`).join(', ')}, e.g. ${example}`
        : `the body has ${present.map((k) => `"${k}"`).join(' and ')}: send only one of them`,
    )
  }
  const format = present[0]!
  if (format === 'dataframe_split') return parseDataframeSplit(body.dataframe_split, signature)
  return windowsFromRows(body[format], format, signature)
}

function windowsFromRows(rows: unknown, field: string, signature: ForecastSignature): WindowBatch {
  const { window } = signature
  if (!Array.isArray(rows) || rows.length === 0) {
    throw mismatch(
      `"${field}" must be a non-empty list of windows, each a list of ${window} numbers (${describeSignature(signature)})`,
      signature,
    )
  }
  const values = new Float64Array(rows.length * window)
  rows.forEach((row, i) => {
    if (!Array.isArray(row)) {
      throw mismatch(
        `expected ${window} values per instance (${describeSignature(signature)}), got ${JSON.stringify(row)?.slice(0, 40)} at ${field}[${i}]` +
          (typeof row === 'number' ? `: wrap one window in a list, [[…]]` : ''),
        signature,
      )
    }
    if (row.length !== window) {
      throw mismatch(
        `expected ${window} values per instance (${describeSignature(signature)}), got ${row.length} at ${field}[${i}]`,
        signature,
      )
    }
    for (let j = 0; j < window; j++)
      values[i * window + j] = finite(row[j], `${field}[${i}][${j}]`, signature)
  })
  return { n: rows.length, windows: values }
}

function parseDataframeSplit(frame: unknown, signature: ForecastSignature): WindowBatch {
  const { window } = signature
  const shape = `{"columns": [${window} names], "data": [[${window} numbers], …]}`
  if (!isObject(frame) || !Array.isArray(frame.columns) || !Array.isArray(frame.data)) {
    throw new AirlakeError('BAD_REQUEST', `"dataframe_split" must be ${shape}`)
  }
  const columns = frame.columns.map(String)
  const timeColumn = columns.indexOf('time')
  const valueColumns = columns.map((_, i) => i).filter((i) => i !== timeColumn)
  if (valueColumns.length !== window) {
    throw mismatch(
      `expected ${window} value columns (${describeSignature(signature)}), plus an optional "time" column; got ${valueColumns.length}`,
      signature,
    )
  }
  const rows = frame.data
  if (rows.length === 0)
    throw mismatch(`"dataframe_split.data" must hold at least one row of ${window} numbers`, signature)
  const values = new Float64Array(rows.length * window)
  const times = timeColumn >= 0 ? new Float64Array(rows.length) : undefined
  rows.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== columns.length) {
      throw mismatch(
        `expected ${columns.length} values per row of "dataframe_split.data" (one per column), got ${Array.isArray(row) ? row.length : JSON.stringify(row)} at data[${i}]`,
        signature,
      )
    }
    valueColumns.forEach((column, j) => {
      values[i * window + j] = finite(row[column], `dataframe_split.data[${i}][${column}]`, signature)
    })
    if (times !== undefined) times[i] = windowTime(row[timeColumn], i)
  })
  return { n: rows.length, windows: values, times }
}

function finite(value: unknown, where: string, signature: ForecastSignature): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw mismatch(
      `${where} must be a finite number (${describeSignature(signature)}), got ${JSON.stringify(value) ?? 'nothing'}`,
      signature,
    )
  }
  return value
}

function windowTime(value: unknown, row: number): number {
  const time = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN
  if (!Number.isFinite(time)) {
    throw new AirlakeError(
      'SIGNATURE_MISMATCH',
      `dataframe_split.data[${row}] "time" must be ISO 8601 text or epoch ms, got ${JSON.stringify(value)}`,
    )
  }
  return time
}

/** The answer body: `{"predictions": [[H numbers], …]}` from a row-major n × H array. */
export function formatPredictions(
  forecasts: Float64Array,
  n: number,
  horizon: number,
): { predictions: number[][] } {
  const predictions: number[][] = new Array(n)
  for (let i = 0; i < n; i++) predictions[i] = Array.from(forecasts.subarray(i * horizon, (i + 1) * horizon))
  return { predictions }
}
