/**
 * Splits request bodies into JSON items while keeping each item's exact text, because bronze and
 * `rejected` store payloads exactly as received. Pure: no I/O.
 */
import { AirlakeError } from '../core/errors.js'

export type JsonItem = { raw: string; body: unknown } | { raw: string; error: AirlakeError }

/** Parses one JSON document; broken JSON is an AirlakeError `BAD_REQUEST` saying where it broke. */
export function parseJsonDocument(
  text: string,
): { ok: true; value: unknown } | { ok: false; error: AirlakeError } {
  if (text.trim() === '') {
    return { ok: false, error: new AirlakeError('BAD_REQUEST', 'the body is empty: send a JSON document') }
  }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (error) {
    return {
      ok: false,
      error: new AirlakeError(
        'BAD_REQUEST',
        `the body is not valid JSON (${(error as Error).message}): send one JSON document, e.g. {"devid":"…","ts":"…","readings":[…]}`,
      ),
    }
  }
}

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d])

/**
 * The exact text of each element of the JSON array `text` (valid JSON whose top level is an array), in
 * order; `undefined` when the top level is not an array.
 */
export function splitJsonArray(text: string): string[] | undefined {
  let i = 0
  const n = text.length
  while (i < n && WHITESPACE.has(text.charCodeAt(i))) i++
  if (text.charCodeAt(i) !== 0x5b /* [ */) return undefined
  i++
  const items: string[] = []
  let depth = 0
  let start = -1
  let inString = false
  for (; i < n; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c /* \ */) i++
      else if (c === 0x22 /* " */) inString = false
      continue
    }
    if (c === 0x22) {
      inString = true
      if (start === -1) start = i
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (start === -1) start = i
      depth++
    } else if (c === 0x7d /* } */ || (c === 0x5d /* ] */ && depth > 0)) {
      depth--
    } else if ((c === 0x2c /* , */ || c === 0x5d) && depth === 0) {
      if (start !== -1) items.push(trimEnd(text, start, i))
      start = -1
      if (c === 0x5d) break
    } else if (start === -1 && !WHITESPACE.has(c)) {
      start = i
    }
  }
  return items
}

function trimEnd(text: string, start: number, end: number): string {
  let last = end
  while (last > start && WHITESPACE.has(text.charCodeAt(last - 1))) last--
  return text.slice(start, last)
}

/**
 * Items of a batch body: a JSON array (each element an item), NDJSON (each non-blank line an item; a
 * broken line is an item with its error, the others still count), or a single JSON object. Throws
 * BAD_REQUEST when the body as a whole cannot be read (broken JSON that is not NDJSON, empty body, a
 * top level that is neither an array nor an object).
 */
export function batchItems(text: string, options: { ndjson: boolean }): JsonItem[] {
  if (options.ndjson) return ndjsonItems(text)
  const document = parseJsonDocument(text)
  if (!document.ok) {
    // A body of several lines of JSON objects sent as application/json: read it as NDJSON.
    if (/^\s*\{/.test(text) && text.trim().includes('\n')) {
      const lines = ndjsonItems(text)
      if (lines.length > 1 && lines.every((item) => 'body' in item)) return lines
    }
    throw document.error
  }
  const value = document.value
  if (Array.isArray(value)) {
    const raws = splitJsonArray(text)
    return value.map((body, i) => ({
      raw: raws?.length === value.length ? raws[i]! : JSON.stringify(body),
      body,
    }))
  }
  if (typeof value === 'object' && value !== null) return [{ raw: text, body: value }]
  throw new AirlakeError(
    'BAD_REQUEST',
    'send a JSON array of readings (vendor objects or {"time","device","measure","value"} rows), or NDJSON with Content-Type application/x-ndjson',
  )
}

function ndjsonItems(text: string): JsonItem[] {
  const items: JsonItem[] = []
  let start = 0
  let line = 0
  while (start <= text.length) {
    let end = text.indexOf('\n', start)
    if (end === -1) end = text.length
    line++
    let raw = text.slice(start, end)
    if (raw.endsWith('\r')) raw = raw.slice(0, -1)
    if (raw.trim() !== '') {
      try {
        items.push({ raw, body: JSON.parse(raw) as unknown })
      } catch (error) {
        items.push({
          raw,
          error: new AirlakeError(
            'BAD_REQUEST',
            `line ${line} is not valid JSON (${(error as Error).message}): send one JSON object per line`,
          ),
        })
      }
    }
    start = end + 1
  }
  return items
}
