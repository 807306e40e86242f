/**
 * `airlake ingest FILE [--source S] [--device D] [mapping options] [--json]`: imports a CSV, NDJSON, XLSX
 * or XLS file, wide or long (DESIGN.md section 5), streaming it through the one ingestion path in batches.
 * A progress bar on stderr (plain lines when not a terminal), then a summary on stdout: rows stored and
 * rejected, with the first reasons.
 */
import { basename } from 'node:path'
import type { Command } from 'commander'
import type { App } from '../../app.js'
import { AirlakeError, isAirlakeError } from '../../core/errors.js'
import {
  type FileIngestReport,
  type FileMapping,
  ingestFile,
  TIME_FORMATS,
  type TimeFormat,
} from '../../pipeline/ingest-file.js'
import type { SourceFileFormat } from '../../pipeline/source-adapters.js'
import { sourceAdapters } from '../../sources.js'
import { count, megabytes, progressReporter } from '../progress.js'

interface IngestOptions {
  source?: string
  device?: string
  format?: string
  sheet?: string
  time?: string
  timeColumn?: string
  timeFormat?: string
  start?: string
  deviceColumn?: string
  measures?: string
  measureColumns?: string
  batchRows?: string
  json?: boolean
}

const FORMATS: readonly SourceFileFormat[] = ['csv', 'ndjson', 'xlsx', 'xls']

/** The mapping the options name; throws PARAMETER_INVALID for a bad value. */
export function mappingFromOptions(options: IngestOptions): FileMapping {
  if (options.time !== undefined && options.timeColumn !== undefined) {
    throw new AirlakeError('PARAMETER_INVALID', 'give the time once: --time or --time-column')
  }
  if (options.measures !== undefined && options.measureColumns !== undefined) {
    throw new AirlakeError('PARAMETER_INVALID', 'give the measures once: --measures or --measure-columns')
  }
  if (options.timeFormat !== undefined && !TIME_FORMATS.includes(options.timeFormat as TimeFormat)) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `--time-format must be one of ${TIME_FORMATS.join(', ')}, got ${JSON.stringify(options.timeFormat)}`,
    )
  }
  return {
    time: options.time ?? options.timeColumn,
    timeFormat: options.timeFormat as TimeFormat | undefined,
    start: options.start,
    deviceColumns: columns(options.deviceColumn),
    measures: columns(options.measures ?? options.measureColumns),
    sheet: options.sheet,
  }
}

function columns(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined
  const list = text
    .split(',')
    .map((column) => column.trim())
    .filter(Boolean)
  if (list.length === 0)
    throw new AirlakeError('PARAMETER_INVALID', 'name at least one column, e.g. --measures co2,temperature')
  return list
}

/** The summary printed after an import: one line, then the first rejections, then what was stored. */
export function ingestSummary(report: FileIngestReport, seconds: number): string {
  const rate = seconds > 0 ? Math.round(report.rows / seconds) : report.rows
  const lines = [
    `${report.file} (${report.shape}): ${count(report.rows)} rows -> ${count(report.rowsStored)} stored ` +
      `(${count(report.readingsStored)} readings), ${count(report.rowsRejected)} rejected` +
      // Impossible values of stored rows are rejected one by one, so entries can outnumber rejected rows.
      `${report.rejections > 0 ? ` (${count(report.rejections)} ${report.rejections === 1 ? 'entry' : 'entries'} kept in \`rejected\`)` : ''}` +
      `, in ${seconds.toFixed(1)} s (${count(rate)} rows/s).`,
  ]
  if (report.firstRejections.length > 0) {
    lines.push('First rejections (all are kept in `rejected`):')
    for (const rejection of report.firstRejections) {
      lines.push(`  line ${rejection.line}: ${rejection.code} ${rejection.reason.replace(/^line \d+: /, '')}`)
    }
  }
  if (report.readingsStored > 0 && report.from !== undefined && report.to !== undefined) {
    lines.push(
      `Stored ${report.devices.length === 1 ? `device ${report.devices[0]}` : `${report.devices.length} devices`}, measures ` +
        `${report.measures.join(', ')}, from ${new Date(report.from).toISOString()} to ${new Date(report.to).toISOString()}.`,
    )
  }
  return lines.join('\n')
}

/** Adds `ingest` to `program`. Exit codes: 0 done, 1 failed (unreadable file, nothing stored, storage), 2 usage. */
export function ingestCommand(program: Command, open: () => Promise<App>): void {
  program
    .command('ingest')
    .description(
      'import a .csv, .ndjson, .xlsx or .xls file of readings, wide (a time column, a device column, one ' +
        'column per measure) or long (time, device, measure, value). CSV and NDJSON stream, so any size ' +
        'imports in flat memory. Rows that fail are kept in `rejected` with their line and reason.',
    )
    .argument('<file>', 'the file to import')
    .option(
      '--source <name>',
      'source of the readings (bronze folder): lowercase letters, digits, "-"',
      'file',
    )
    .option('--device <id>', 'device id of every row, for a file without a device column')
    .option('--format <format>', `the format when the name does not say it: ${FORMATS.join(', ')}`)
    .option('--sheet <name>', 'the sheet of a workbook; the first by default')
    .option(
      '--time <column|expr>',
      'the time column, or DATE_COL+OFFSET_COL:UNIT, or OFFSET_COL:UNIT with --start (UNIT ms, s, min, h, d)',
    )
    .option('--time-column <column|expr>', 'the same as --time')
    .option('--time-format <format>', `how times are written: ${TIME_FORMATS.join(', ')}`)
    .option('--start <iso>', 'origin of OFFSET_COL:UNIT times, e.g. 2024-01-01T00:00:00Z')
    .option(
      '--device-column <columns>',
      'column(s) whose values, joined by "-", make the device id, e.g. site,mote',
    )
    .option('--measures <columns>', 'only these columns are measures (wide files), e.g. co2,temperature')
    .option('--measure-columns <columns>', 'the same as --measures')
    .option('--batch-rows <n>', 'rows per batch through the ingestion path', '10000')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  airlake ingest readings.csv\n' +
        '  airlake ingest office.xlsx --sheet Readings --device office-1\n' +
        '  airlake ingest legacy.xls --time date+hour:h --device-column site,mote --measures nox,co\n' +
        '  airlake ingest export.ndjson --source import --json',
    )
    .action(async (file: string, options: IngestOptions) => {
      const mapping = mappingFromOptions(options)
      const batchRows = Number(options.batchRows ?? 10_000)
      if (!Number.isInteger(batchRows) || batchRows < 1 || batchRows > 1_000_000) {
        throw new AirlakeError(
          'PARAMETER_INVALID',
          `--batch-rows must be a whole number from 1 to 1000000, got ${JSON.stringify(options.batchRows)}`,
        )
      }
      if (options.format !== undefined && !FORMATS.includes(options.format as SourceFileFormat)) {
        throw new AirlakeError(
          'PARAMETER_INVALID',
          `--format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(options.format)}`,
        )
      }
      const app = await open().catch((error: unknown) => {
        if (!isAirlakeError(error, 'CONFLICT')) throw error
        throw new AirlakeError(
          'CONFLICT',
          `${error.message}; to import through the running server: curl -H "x-api-key: $KEY" --data-binary @${file} "http://127.0.0.1:8080/sensorsdata/upload?filename=${encodeURIComponent(basename(file))}"`,
          { cause: error },
        )
      })
      const progress = progressReporter(basename(file))
      const started = performance.now()
      let report: FileIngestReport
      try {
        report = await ingestFile(
          { ...app, readRecords: sourceAdapters.readRecords },
          {
            path: file,
            source: options.source,
            device: options.device,
            format: options.format as SourceFileFormat | undefined,
            mapping,
            batchRows,
            onProgress: (p) =>
              progress.update({
                done: p.bytesRead,
                total: p.bytesTotal,
                detail: `${megabytes(p.bytesRead)}, ${count(p.rows)} rows, ${count(p.stored)} stored, ${count(p.rejected)} rejected`,
              }),
          },
        )
      } finally {
        progress.end()
      }
      const seconds = (performance.now() - started) / 1000
      if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
      else process.stdout.write(`${ingestSummary(report, seconds)}\n`)
      if (report.rows > 0 && report.rowsStored === 0) {
        process.stderr.write(
          `airlake: no row of ${file} could be stored: see the reasons above (or \`airlake ingest --help\` for the mapping options)\n`,
        )
        process.exitCode = 1
      }
    })
}
