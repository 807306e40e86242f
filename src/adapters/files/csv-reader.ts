/**
 * Streams a CSV file row by row with csv-parse: memory stays flat whatever the file size, and each row
 * keeps its exact text. A record csv-parse cannot read (an unclosed quote) becomes an `invalid` row
 * instead of ending the import.
 */
import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { type CsvError, Parser } from 'csv-parse'
import { AirlakeError, wrapError } from '../../core/errors.js'
import type { FileRow, ReadOptions } from './file-row.js'

const PROGRESS_EVERY_ROWS = 5_000
const DELIMITERS = [',', ';', '\t', '|'] as const

/** Yields the header row, then every record, of the CSV file at `path`. */
export async function* readCsv(path: string, options: ReadOptions = {}): AsyncGenerator<FileRow> {
  const bytesTotal = (await stat(path)).size
  const delimiter = options.delimiter ?? (await guessDelimiter(path))
  const skipped: FileRow[] = []
  const parser = new LineParser({
    bom: true,
    delimiter,
    raw: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_skip: (error: CsvError | undefined, raw: string | undefined) => {
      const row: FileRow = {
        kind: 'invalid',
        line: Number(error?.lines ?? 0),
        raw: trimLineBreak(raw ?? ''),
        reason: `the CSV record cannot be read (${error?.message ?? 'malformed'}): check its quotes and delimiters`,
      }
      // One broken record can raise several errors; keep one rejection per line, with the longest text.
      if (skipped.at(-1)?.line === row.line) skipped[skipped.length - 1] = row
      else skipped.push(row)
      return undefined
    },
  })
  const input = createReadStream(path)
  let bytesRead = 0
  input.on('data', (chunk) => {
    bytesRead += chunk.length
  })
  input.on('error', (error) => parser.destroy(error))
  input.pipe(parser)

  let rows = 0
  let header = true
  try {
    for await (const item of parser as AsyncIterable<ParsedRecord>) {
      // csv-parse runs ahead of this loop, so skipped records wait here until their line comes up.
      while (skipped.length > 0 && (skipped[0]?.line ?? 0) < item.line) yield skipped.shift()!
      const raw = trimLineBreak(item.raw)
      if (header) {
        header = false
        yield { kind: 'header', line: item.line, raw, cells: item.record }
      } else {
        yield { kind: 'cells', line: item.line, raw, cells: item.record }
      }
      if (++rows % PROGRESS_EVERY_ROWS === 0) options.onProgress?.({ bytesRead, bytesTotal })
    }
  } catch (error) {
    throw wrapError(error, 'FILE_INVALID', `could not read ${path} as CSV`)
  } finally {
    input.destroy()
  }
  while (skipped.length > 0) yield skipped.shift()!
  if (header)
    throw new AirlakeError('FILE_INVALID', `${path} is empty: a CSV file needs a header row and data rows`)
  options.onProgress?.({ bytesRead: bytesTotal, bytesTotal })
}

interface ParsedRecord {
  record: string[]
  raw: string
  /** The physical line the record ends on. */
  line: number
}

/**
 * csv-parse that tags each record with the line it ends on. Its `info` option gives the same number but
 * builds a whole info object per record, which doubles the parse time of a large file.
 */
class LineParser extends Parser {
  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk !== null && typeof chunk === 'object') (chunk as ParsedRecord).line = this.info.lines
    return super.push(chunk, encoding)
  }
}

function trimLineBreak(text: string): string {
  // Skipped empty lines leave their line breaks in front of the next record's raw text.
  return text.replace(/^[\r\n]+/, '').replace(/(\r\n|\n|\r)$/, '')
}

/** The delimiter that splits the first line into the most fields, counting only outside quotes. */
async function guessDelimiter(path: string): Promise<string> {
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(64 * 1024)
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
    const text = buffer.subarray(0, bytesRead).toString('utf8')
    const counts = new Map<string, number>(DELIMITERS.map((d) => [d, 0]))
    let quoted = false
    for (const char of text) {
      if (char === '"') quoted = !quoted
      else if (!quoted && (char === '\n' || char === '\r')) break
      else if (!quoted && counts.has(char)) counts.set(char, (counts.get(char) ?? 0) + 1)
    }
    let best = ','
    for (const [delimiter, count] of counts) if (count > (counts.get(best) ?? 0)) best = delimiter
    return best
  } finally {
    await handle.close()
  }
}
