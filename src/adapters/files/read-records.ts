/**
 * The one entry point of the file readers: picks the reader by format (extension, then first bytes) and
 * yields `FileRow`s. CSV and NDJSON stream (memory does not grow with the file); workbooks are parsed
 * whole and capped in size (see sheet-reader.ts).
 */
import { open } from 'node:fs/promises'
import { AirlakeError, wrapError } from '../../core/errors.js'
import { readCsv } from './csv-reader.js'
import { detectFormat, type FileFormat, type FileRow, type ReadOptions } from './file-row.js'
import { readNdjson } from './ndjson-reader.js'
import { readSheet } from './sheet-reader.js'

/**
 * The rows of the file at `path` (see `FileRow`). Throws FILE_INVALID for a missing, unreadable or
 * unrecognised file before yielding anything; rows that cannot be read arrive as `invalid` rows.
 *
 * @example
 * for await (const row of readRecords('readings.csv', { onProgress: ({ bytesRead }) => bar.update(bytesRead) })) { … }
 */
export async function* readRecords(path: string, options: ReadOptions = {}): AsyncGenerator<FileRow> {
  const format = options.format ?? (await sniffFormat(path, options.name))
  const readers: Record<FileFormat, (path: string, options: ReadOptions) => AsyncGenerator<FileRow>> = {
    csv: readCsv,
    ndjson: readNdjson,
    xlsx: readSheet,
    xls: readSheet,
  }
  yield* readers[format](path, options)
}

/** The format of the file at `path` from its name and first bytes. */
export async function sniffFormat(path: string, name: string = path): Promise<FileFormat> {
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(path, 'r')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new AirlakeError('FILE_INVALID', `there is no file ${path}: check the path`)
    throw wrapError(error, 'FILE_INVALID', `could not open ${path}`)
  }
  try {
    const head = Buffer.alloc(512)
    const { bytesRead } = await handle.read(head, 0, head.length, 0)
    if (bytesRead === 0)
      throw new AirlakeError('FILE_INVALID', `${path} is empty: there is nothing to import`)
    return detectFormat(name, head.subarray(0, bytesRead))
  } finally {
    await handle.close()
  }
}
