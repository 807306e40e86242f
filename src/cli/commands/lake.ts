/**
 * `airlake lake build-silver [--day D] [--source S]`: promotes bronze NDJSON to silver Parquet partitions
 * (also run on a schedule by the server). Progress on stderr, a one-line summary on stdout.
 */
import type { Command } from 'commander'
import type { App } from '../../app.js'
import { type PromotionReport, promoteToSilver, type SilverProgress } from '../../pipeline/to-silver.js'

/**
 * Progress lines on stderr: redrawn in place on a terminal, otherwise one line per segment at most every
 * tenth of the work, so CI logs stay short.
 */
export function silverProgressPrinter(stream: NodeJS.WriteStream = process.stderr): {
  update(progress: SilverProgress): void
  end(): void
} {
  let lastTenth = -1
  let drawn = false
  return {
    update(progress) {
      const fraction = progress.segmentsTotal === 0 ? 1 : progress.segmentsDone / progress.segmentsTotal
      const line = `silver ${progress.source}: ${progress.segmentsDone}/${progress.segmentsTotal} segments, ${progress.rowsRead.toLocaleString('en-US')} rows read`
      if (stream.isTTY === true) {
        stream.write(`\r\x1b[2K${line}`)
        drawn = true
        return
      }
      const tenth = Math.floor(fraction * 10)
      if (tenth === lastTenth) return
      lastTenth = tenth
      stream.write(`${line}\n`)
    },
    end() {
      if (drawn) stream.write('\n')
      drawn = false
    },
  }
}

/** The one-line summary of a promotion. */
export function promotionSummary(report: PromotionReport): string {
  const rate = report.durationMs > 0 ? Math.round(report.rowsRead / (report.durationMs / 1000)) : 0
  const invalid = report.invalidLines > 0 ? `, ${report.invalidLines} unreadable lines skipped` : ''
  if (report.segments === 0) return 'Silver is up to date: no new bronze segments.'
  return (
    `Silver built: ${report.segments} segments, ${report.rowsRead.toLocaleString('en-US')} rows read -> ` +
    `${report.partitions.length} partitions, ${report.rowsWritten.toLocaleString('en-US')} rows, in ` +
    `${(report.durationMs / 1000).toFixed(1)} s (${rate.toLocaleString('en-US')} rows/s)${invalid}.`
  )
}

/** Adds `lake build-silver` to `program`. Exit codes: 0 done, 1 failed (lake, engine), 2 usage. */
export function lakeCommand(program: Command, open: () => Promise<App>): void {
  const lake = program.command('lake').description('the lakehouse: bronze (raw NDJSON) -> silver (Parquet)')
  lake
    .command('build-silver')
    .description(
      'promote new bronze segments to silver Parquet partitions silver/<source>/date=<day>/part-0.parquet ' +
        '(typed, one row per device, measure and time; the last received wins). Idempotent: run it any time.',
    )
    .option(
      '--day <YYYY-MM-DD>',
      'also rebuild this reading day from scratch from every bronze segment holding it',
    )
    .option('--source <name>', 'only this source (http, mqtt, vendor, openaq, file, …); all by default')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  airlake lake build-silver\n  airlake lake build-silver --day 2024-01-31 --source http',
    )
    .action(async (options: { day?: string; source?: string; json?: boolean }) => {
      const app = await open()
      const progress = silverProgressPrinter()
      const report = await promoteToSilver(app, {
        source: options.source,
        day: options.day,
        onProgress: options.json ? undefined : (event) => progress.update(event),
      })
      progress.end()
      if (options.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
        return
      }
      for (const problem of report.problems) process.stderr.write(`warning: ${problem}\n`)
      process.stdout.write(`${promotionSummary(report)}\n`)
    })
}
