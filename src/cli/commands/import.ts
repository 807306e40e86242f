/**
 * `airlake import openaq --location ID [--from ISO] [--to ISO] [--base-url URL] [--api-key K] [--json]`:
 * imports a location's hourly PM2.5 from OpenAQ v3 (reference/openaq-v3.md) through every page, waiting out
 * rate limits, each hour stored at its start. Re-running resumes after the last hour stored.
 */
import type { Command } from 'commander'
import type { App } from '../../app.js'
import { AirlakeError } from '../../core/errors.js'
import { parseTimestamp } from '../../core/time.js'
import { importOpenaq, type OpenaqImportReport } from '../../pipeline/import-openaq.js'
import { sourceAdapters } from '../../sources.js'
import { count, progressReporter } from '../progress.js'

/** The summary printed after an import. */
export function openaqSummary(report: OpenaqImportReport): string {
  const window = `${new Date(report.from).toISOString()} .. ${new Date(report.to).toISOString()}`
  if (report.from >= report.to) {
    return `OpenAQ location ${report.locationId} (${report.locationName}) is up to date: the last hour stored is ${report.lastHour === undefined ? 'none' : new Date(report.lastHour).toISOString()}.`
  }
  const lines = [
    `OpenAQ location ${report.locationId} (${report.locationName}), PM2.5 sensor ${report.sensorId} -> device ${report.deviceId}: ` +
      `${count(report.hours)} hours in ${report.pages} pages (${window}${report.resumed ? ', resumed after the last hour stored' : ''}), ` +
      `${count(report.stored)} stored, ${count(report.rejected)} rejected.`,
  ]
  if (report.firstRejections.length > 0) {
    lines.push('First rejections (all are kept in `rejected`):')
    for (const rejection of report.firstRejections) lines.push(`  ${rejection.time}: ${rejection.reason}`)
  }
  return lines.join('\n')
}

interface OpenaqOptions {
  location: string
  from?: string
  to?: string
  baseUrl?: string
  apiKey?: string
  source: string
  json?: boolean
}

/** Adds `import openaq` to `program`. Exit codes: 0 done, 1 failed (no such location, key refused, OpenAQ down), 2 usage. */
export function importCommand(program: Command, open: () => Promise<App>): void {
  const command = program.command('import').description('import history from an external data set')
  command
    .command('openaq')
    .description(
      "import an OpenAQ v3 location's hourly PM2.5 (device openaq-<ID>, measure pm25), through every page, " +
        'honouring 429 and the rate-limit headers. Each hour is stored at its start; a re-run resumes after ' +
        'the last hour stored. Without --from, the last 30 days (or from where the last run stopped).',
    )
    .requiredOption(
      '--location <id>',
      'the OpenAQ location id (the number in its explore.openaq.org address)',
    )
    .option('--from <iso>', 'first hour (inclusive), ISO 8601 or a day')
    .option('--to <iso>', 'end (exclusive); the start of the current hour by default')
    .option('--base-url <url>', 'the API base URL', 'https://api.openaq.org/v3')
    .option('--api-key <key>', 'your OpenAQ API key (or OPENAQ_API_KEY)')
    .option('--source <name>', 'source of the readings', 'openaq')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  airlake import openaq --location 2178 --from 2024-01-01 --api-key "$OPENAQ_API_KEY"\n  airlake import openaq --location 2178   # again later: only the new hours',
    )
    .action(async (options: OpenaqOptions) => {
      const locationId = Number(options.location)
      if (!Number.isInteger(locationId) || locationId <= 0) {
        throw new AirlakeError(
          'PARAMETER_INVALID',
          `--location must be a whole number (an OpenAQ location id), got ${JSON.stringify(options.location)}`,
        )
      }
      const from = time(options.from, '--from')
      const to = time(options.to, '--to')
      const apiKey = options.apiKey ?? process.env.OPENAQ_API_KEY
      const api = sourceAdapters.createOpenaqClient({
        baseUrl: options.baseUrl,
        ...(apiKey ? { apiKey } : {}),
      })
      const app = await open()
      const progress = progressReporter(`openaq ${locationId}`)
      let report: OpenaqImportReport
      try {
        report = await importOpenaq(app, {
          api,
          locationId,
          from,
          to,
          source: options.source,
          onProgress: (p) =>
            progress.update({
              done: p.page,
              total: p.pages,
              detail: `page ${p.page}${p.pages === undefined ? '' : `/${p.pages}`}, ${count(p.hours)} hours, ${count(p.stored)} stored, ${count(p.rejected)} rejected`,
            }),
        })
      } finally {
        progress.end()
      }
      process.stdout.write(`${options.json ? JSON.stringify(report, null, 2) : openaqSummary(report)}\n`)
    })
}

function time(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined
  try {
    return parseTimestamp(text)
  } catch (error) {
    throw new AirlakeError('PARAMETER_INVALID', `${option}: ${(error as Error).message}`)
  }
}
