/**
 * What the file readers yield: one row of a CSV, a sheet or an NDJSON file, with the exact text it came
 * from (kept in bronze or `rejected`), so the ingest step never has to know which format it reads.
 */
import { extname } from 'node:path'
import { AirlakeError } from '../../core/errors.js'

/** Formats `readRecords` reads. `xls` is the legacy binary (BIFF) workbook. */
export type FileFormat = 'csv' | 'ndjson' | 'xlsx' | 'xls'

export const FILE_FORMATS: readonly FileFormat[] = ['csv', 'ndjson', 'xlsx', 'xls']

/**
 * One row of a file. A table (CSV, sheet) yields its `header` row first, then `cells` rows; NDJSON yields
 * `json` rows; a row that cannot be read at all (broken quoting, broken JSON) is `invalid` with the reason.
 * `line` is 1-based: the physical line of a CSV/NDJSON file (the last line of a multi-line CSV record),
 * the row number of a sheet.
 */
export type FileRow =
  | { kind: 'header'; line: number; raw: string; cells: string[] }
  | { kind: 'cells'; line: number; raw: string; cells: unknown[] }
  | { kind: 'json'; line: number; raw: string; value: unknown }
  | { kind: 'invalid'; line: number; raw: string; reason: string }

/** Bytes of the file consumed so far (sheets, parsed whole, report rows done as a share of the file size). */
export interface ReadProgress {
  bytesRead: number
  bytesTotal: number
}

export interface ReadOptions {
  /** The format; taken from the extension (then the first bytes) when absent. */
  format?: FileFormat | undefined
  /** The file's name as the user knows it (an upload's filename), for the format and messages; `path` when absent. */
  name?: string | undefined
  /** The sheet of a workbook to read; the first one when absent. */
  sheet?: string | undefined
  /** CSV field delimiter; guessed from the header line (`,` `;` tab `|`) when absent. */
  delimiter?: string | undefined
  /**
   * Largest workbook (xlsx/xls) accepted, bytes; default 200 MB. Workbooks are parsed whole in memory
   * (the format does not stream), so bigger ones are refused with advice to export CSV.
   */
  maxWorkbookBytes?: number | undefined
  /** Called as the file is consumed, at most every few thousand rows. */
  onProgress?: ((progress: ReadProgress) => void) | undefined
}

export const DEFAULT_MAX_WORKBOOK_BYTES = 200 * 1024 * 1024

const EXTENSIONS: Record<string, FileFormat> = {
  '.csv': 'csv',
  '.tsv': 'csv',
  '.txt': 'csv',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
  '.xlsx': 'xlsx',
  '.xlsm': 'xlsx',
  '.xls': 'xls',
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04]
const OLE2_MAGIC = [0xd0, 0xcf, 0x11, 0xe0]

function startsWith(head: Uint8Array, magic: readonly number[]): boolean {
  return magic.every((byte, i) => head[i] === byte)
}

/**
 * The format of a file from its name and first bytes. The bytes win over a misleading name for
 * workbooks (a `.xls` that is really an xlsx reads fine); a workbook name on a file that is not one, or
 * an unknown name on a non-workbook, is FILE_INVALID with the formats accepted.
 */
export function detectFormat(name: string, head: Uint8Array): FileFormat {
  const byName = EXTENSIONS[extname(name).toLowerCase()]
  if (startsWith(head, ZIP_MAGIC)) {
    if (byName === undefined || byName === 'xlsx' || byName === 'xls') return 'xlsx'
  }
  if (startsWith(head, OLE2_MAGIC)) {
    if (byName === undefined || byName === 'xlsx' || byName === 'xls') return 'xls'
  }
  if (byName === 'xlsx' || byName === 'xls') {
    throw new AirlakeError(
      'FILE_INVALID',
      `${name} is named like an Excel workbook but is not one (no ${byName} signature): save it again from the spreadsheet, or export CSV`,
    )
  }
  if (byName !== undefined) return byName
  const text = Buffer.from(head)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart()
  if (text.startsWith('{')) return 'ndjson'
  throw new AirlakeError(
    'FILE_INVALID',
    `cannot tell the format of ${name}: name it .csv, .ndjson, .xlsx or .xls (the formats airlake reads)`,
  )
}
