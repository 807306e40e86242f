/**
 * Reads .xlsx and legacy .xls workbooks with SheetJS CE (`@e965/xlsx`, the 0.20.3 release with the fixes
 * for the advisories of the old npm `xlsx`). Workbooks do not stream: the whole file is parsed in memory,
 * so files above `maxWorkbookBytes` (200 MB by default) are refused with advice to export CSV.
 * Date cells come back as UTC instants; other cells keep their raw values (numbers, strings, booleans).
 */
import { readFile, stat } from 'node:fs/promises'
import * as XLSX from '@e965/xlsx'
import { AirlakeError, wrapError } from '../../core/errors.js'
import { DEFAULT_MAX_WORKBOOK_BYTES, type FileRow, type ReadOptions } from './file-row.js'

const PROGRESS_EVERY_ROWS = 5_000

/** Yields the header row, then every non-blank row, of one sheet (the first unless `options.sheet`). */
export async function* readSheet(path: string, options: ReadOptions = {}): AsyncGenerator<FileRow> {
  const bytesTotal = (await stat(path)).size
  const limit = options.maxWorkbookBytes ?? DEFAULT_MAX_WORKBOOK_BYTES
  if (bytesTotal > limit) {
    throw new AirlakeError(
      'FILE_INVALID',
      `${path} is ${megabytes(bytesTotal)}, above the ${megabytes(limit)} workbook limit: workbooks are read whole in memory, so export the sheet as CSV (which streams) and import that`,
    )
  }
  let workbook: XLSX.WorkBook
  try {
    workbook = XLSX.read(await readFile(path), {
      type: 'buffer',
      dense: true,
      cellDates: true,
      cellNF: false,
      cellHTML: false,
    })
  } catch (error) {
    throw wrapError(error, 'FILE_INVALID', `could not read ${path} as a workbook (is it a real .xlsx/.xls?)`)
  }
  const sheetName = options.sheet ?? workbook.SheetNames[0]
  const sheet = sheetName === undefined ? undefined : workbook.Sheets[sheetName]
  if (sheetName === undefined || sheet === undefined) {
    throw new AirlakeError(
      'FILE_INVALID',
      `${path} has no sheet ${JSON.stringify(options.sheet ?? '')}: its sheets are ${workbook.SheetNames.map((n) => JSON.stringify(n)).join(', ') || 'none'}`,
    )
  }
  // Blank rows are kept here (and skipped below) so that each row's index gives its sheet row number.
  const rows = XLSX.utils.sheet_to_json<unknown[]>(sheet, {
    header: 1,
    raw: true,
    UTC: true,
    defval: null,
    blankrows: true,
  })
  const firstRow = sheet['!ref'] ? XLSX.utils.decode_range(sheet['!ref']).s.r + 1 : 1
  const start = rows.findIndex((row) => !isBlank(row))
  if (start < 0)
    throw new AirlakeError('FILE_INVALID', `sheet ${JSON.stringify(sheetName)} of ${path} is empty`)

  const header = (rows[start] ?? []).map((cell) =>
    cell === null || cell === undefined ? '' : cell instanceof Date ? cell.toISOString() : String(cell),
  )
  yield { kind: 'header', line: firstRow + start, raw: JSON.stringify(header), cells: header }
  for (let i = start + 1; i < rows.length; i++) {
    const row = rows[i] ?? []
    if (!isBlank(row)) {
      const cells = Array.from(row, (cell) => (cell === undefined ? null : cell))
      const object: Record<string, unknown> = {}
      cells.forEach((cell, c) => {
        object[header[c] || `column ${c + 1}`] = cell
      })
      yield { kind: 'cells', line: firstRow + i, raw: JSON.stringify(object), cells }
    }
    if (i % PROGRESS_EVERY_ROWS === 0)
      options.onProgress?.({ bytesRead: Math.round((bytesTotal * i) / rows.length), bytesTotal })
  }
  options.onProgress?.({ bytesRead: bytesTotal, bytesTotal })
}

function isBlank(row: readonly unknown[] | undefined): boolean {
  return row === undefined || row.every((cell) => cell === null || cell === undefined || cell === '')
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`
}
