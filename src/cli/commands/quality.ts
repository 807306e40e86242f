/**
 * `airlake quality [--day D] [--source S] [--json] [--all]`: runs the dataset checks on silver for a day
 * (after promoting new bronze), stores the report and prints it as a table, failing checks highlighted.
 * Exit code 1 when a blocking check fails (the series cannot be trained on), so scripts can gate on it.
 */
import type { Command } from 'commander'
import type { App } from '../../app.js'
import { type QualityReport, runQualityChecks, type SeriesQuality } from '../../pipeline/quality.js'

const RED = '\x1b[31m'
const YELLOW = '\x1b[33m'
const BOLD = '\x1b[1m'
const RESET = '\x1b[0m'

/** Pads the cells of `rows` into aligned columns. */
function columns(rows: readonly string[][]): string[] {
  const widths: number[] = []
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length)
    })
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  )
}

/**
 * The report as text: a header line, one table row per series with a finding (every series with `all`),
 * then the findings, failing ones marked `FAIL` (red on a terminal, blocking ones bold). Pure, for tests.
 */
export function formatQualityReport(
  report: QualityReport,
  options: { all?: boolean; color?: boolean } = {},
): string {
  const paint = (text: string, code: string) => (options.color ? `${code}${text}${RESET}` : text)
  const { summary } = report
  const lines = [
    `Quality of ${report.source ?? 'all sources'} on ${report.day}: ${summary.series} series, ${report.rows.toLocaleString('en-US')} rows, ` +
      `${summary.pass} pass, ${summary.warn} warn, ${summary.fail} fail -> ${report.status.toUpperCase()}`,
  ]
  const shown = report.series.filter((s) => options.all === true || s.status !== 'pass')
  if (shown.length > 0) {
    const header = [
      'device',
      'measure',
      'rows',
      'missing',
      'max gap',
      'flat',
      'dup',
      'stale',
      'impossible',
      'status',
    ]
    const cells = (s: SeriesQuality) => [
      s.deviceId,
      s.measure,
      String(s.rows),
      `${(s.values.missingRate * 100).toFixed(1)}%`,
      String(s.values.maxGapSteps),
      String(s.values.flatlineSteps),
      String(s.values.duplicateTimes),
      String(s.values.staleSteps),
      String(s.values.impossibleValues),
      s.status.toUpperCase(),
    ]
    const table = columns([header, ...shown.map(cells)])
    lines.push('', table[0] ?? '')
    shown.forEach((s, i) => {
      const line = table[i + 1] ?? ''
      lines.push(s.status === 'fail' ? paint(line, RED) : s.status === 'warn' ? paint(line, YELLOW) : line)
    })
  }
  if (report.findings.length > 0) {
    lines.push('', 'Findings:')
    for (const f of report.findings) {
      const mark = f.severity === 'fail' ? (f.blocking ? 'FAIL (blocks training)' : 'FAIL') : 'warn'
      const line = `  ${mark.padEnd(22)} ${f.deviceId}/${f.measure} ${f.check}: ${f.message}`
      lines.push(f.severity === 'fail' ? paint(line, f.blocking ? BOLD + RED : RED) : paint(line, YELLOW))
    }
  }
  const blocking = report.findings.filter((f) => f.blocking).length
  lines.push(
    '',
    blocking > 0
      ? `${blocking} blocking failures: training on those series is refused until the data is fixed.`
      : 'No blocking failures.',
  )
  return `${lines.join('\n')}\n`
}

/** Adds `quality` to `program`. Exit codes: 0 no blocking failure, 1 a blocking check failed (or the run failed), 2 usage. */
export function qualityCommand(program: Command, open: () => Promise<App>): void {
  program
    .command('quality')
    .description(
      'run the data quality checks on silver for one UTC day (missing rate, gaps, flat-lined sensors, ' +
        'duplicate times, freshness, impossible values; thresholds per measure), store the report ' +
        '(lake quality/<day>.json, served by GET /quality) and print it. Exit code 1 when a blocking ' +
        'check fails: training on that series is refused.',
    )
    .option('--day <YYYY-MM-DD>', 'the UTC day to check (default: today, up to now)')
    .option('--source <name>', 'only this source; all sources by default')
    .option('--all', 'list passing series too')
    .option('--no-refresh', 'check silver as it is, without promoting new bronze first')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExamples:\n  airlake quality\n  airlake quality --day 2024-01-31 --json')
    .action(
      async (options: { day?: string; source?: string; all?: boolean; refresh: boolean; json?: boolean }) => {
        const app = await open()
        const { promotion: _promotion, ...report } = await runQualityChecks(app, {
          ...(options.day === undefined ? {} : { day: options.day }),
          ...(options.source === undefined ? {} : { source: options.source }),
          refresh: options.refresh,
        })
        if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
        else
          process.stdout.write(
            formatQualityReport(report, { all: options.all === true, color: process.stdout.isTTY === true }),
          )
        if (report.findings.some((f) => f.blocking)) process.exitCode = 1
      },
    )
}
