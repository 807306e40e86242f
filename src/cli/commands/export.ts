/**
 * `airlake export [--source S] (--day D | --from D --to D | --days N) [--out FILE] [--format csv|parquet]`:
 * the stored readings as CSV (or Parquet), kept in the lake under the seed's names and written to `--out`
 * (`-` for standard output).
 */
import { createReadStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import type { Command } from 'commander'
import type { App } from '../../app.js'
import { AirlakeError } from '../../core/errors.js'
import { type ExportRange, exportReadings } from '../../pipeline/export.js'

/** The range the options name; throws PARAMETER_INVALID unless exactly one of --day, --from/--to, --days is given. */
export function exportRangeFrom(options: {
  day?: string
  from?: string
  to?: string
  days?: string | number
}): ExportRange {
  const given = [
    options.day !== undefined,
    options.from !== undefined || options.to !== undefined,
    options.days !== undefined,
  ]
  if (given.filter(Boolean).length !== 1) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      'name the days to export with one of: --day D, --from D --to D, or --days N',
    )
  }
  if (options.day !== undefined) return { day: options.day }
  if (options.days !== undefined) {
    const days = Number(options.days)
    if (!Number.isInteger(days))
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `--days must be a whole number, got ${JSON.stringify(options.days)}`,
      )
    return { days }
  }
  if (options.from === undefined || options.to === undefined) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      'a range needs both --from D and --to D (inclusive days, e.g. --from 2024-01-01 --to 2024-01-31)',
    )
  }
  return { from: options.from, to: options.to }
}

/** Adds `export` to `program`. Exit codes: 0 done, 1 failed (bad range, lake), 2 usage. */
export function exportCommand(program: Command, open: () => Promise<App>): void {
  program
    .command('export')
    .description(
      'export stored readings (from silver, after promoting new bronze) as CSV with columns ' +
        'time (ISO 8601 UTC), device_id, measure, value, source; kept in the lake as ' +
        'silver/<source>/<day>/raw.csv, silver/<source>/export/<yyyymmdd>.<yyyymmdd>/raw.csv or ' +
        'silver/<source>/latest/<N>-days/raw.csv (source "_all" when --source is not given)',
    )
    .option('--source <name>', 'only this source; all sources by default')
    .option('--day <YYYY-MM-DD>', 'one UTC day')
    .option('--from <YYYY-MM-DD>', 'first day of a range (inclusive)')
    .option('--to <YYYY-MM-DD>', 'last day of a range (inclusive)')
    .option('--days <N>', 'the last N UTC days, today included')
    .option('--out <file>', 'also write the export to this file ("-" for standard output)')
    .option('--format <format>', 'csv or parquet', 'csv')
    .option('--no-refresh', 'export silver as it is, without promoting new bronze first')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  airlake export --day 2024-01-31 --out jan31.csv\n  airlake export --source http --from 2024-01-01 --to 2024-01-31\n  airlake export --days 7 --format parquet --out week.parquet',
    )
    .action(
      async (options: {
        source?: string
        day?: string
        from?: string
        to?: string
        days?: string
        out?: string
        format: string
        refresh: boolean
        json?: boolean
      }) => {
        const range = exportRangeFrom(options)
        if (options.format !== 'csv' && options.format !== 'parquet') {
          throw new AirlakeError(
            'PARAMETER_INVALID',
            `--format must be csv or parquet, got ${JSON.stringify(options.format)}`,
          )
        }
        const app = await open()
        const toStdout = options.out === '-'
        const report = await exportReadings(app, {
          source: options.source,
          range,
          format: options.format,
          out: toStdout ? undefined : options.out,
          refresh: options.refresh,
        })
        const summaryStream = toStdout ? process.stderr : process.stdout
        if (toStdout) {
          const local = app.lake.localPath(report.key)
          const stream = local === undefined ? await app.lake.getStream(report.key) : createReadStream(local)
          if (stream) await pipeline(stream, process.stdout, { end: false })
        }
        if (options.json) {
          summaryStream.write(`${JSON.stringify({ ...report, promotion: undefined }, null, 2)}\n`)
          return
        }
        const where = [`lake ${report.key}`, ...(report.out ? [report.out] : [])].join(' and ')
        summaryStream.write(
          `Exported ${report.rows.toLocaleString('en-US')} rows (${new Date(report.from).toISOString().slice(0, 10)} to ` +
            `${new Date(report.to - 1).toISOString().slice(0, 10)}, ${report.partitions} silver partitions, ` +
            `${report.bytes.toLocaleString('en-US')} bytes) to ${where}.\n`,
        )
      },
    )
}
