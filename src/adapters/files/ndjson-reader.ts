/**
 * Streams an NDJSON file (one JSON document per line) line by line; a line that is not JSON becomes an
 * `invalid` row with the parser's reason, blank lines are skipped.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { wrapError } from '../../core/errors.js'
import type { FileRow, ReadOptions } from './file-row.js'

const PROGRESS_EVERY_ROWS = 5_000

/** Yields one `json` (or `invalid`) row per non-blank line of the file at `path`. */
export async function* readNdjson(path: string, options: ReadOptions = {}): AsyncGenerator<FileRow> {
  const bytesTotal = (await stat(path)).size
  const input = createReadStream(path, { encoding: 'utf8' })
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })
  let bytesRead = 0
  let line = 0
  try {
    for await (const text of lines) {
      line++
      bytesRead += Buffer.byteLength(text) + 1
      if (line % PROGRESS_EVERY_ROWS === 0) options.onProgress?.({ bytesRead, bytesTotal })
      const raw = line === 1 ? text.replace(/^\uFEFF/, '') : text
      if (raw.trim() === '') continue
      try {
        yield { kind: 'json', line, raw, value: JSON.parse(raw) as unknown }
      } catch (error) {
        yield {
          kind: 'invalid',
          line,
          raw,
          reason: `line ${line} is not JSON (${(error as Error).message}): write one JSON object per line`,
        }
      }
    }
  } catch (error) {
    throw wrapError(error, 'FILE_INVALID', `could not read ${path} as NDJSON`)
  } finally {
    lines.close()
    input.destroy()
  }
  options.onProgress?.({ bytesRead: bytesTotal, bytesTotal })
}
