/**
 * `airlake poll vendor --url URL --token T [--once] [--interval S] [--json]`: polls the indoor-sensor
 * vendor's API (reference/indoor-sensors-api.md) for the latest reading of every device and stores new ones
 * through the same path as `PUT /sensorsdata` (source `vendor`). Every minute until Ctrl-C, or once.
 */
import type { Command } from 'commander'
import type { App } from '../../app.js'
import { AirlakeError } from '../../core/errors.js'
import { pollVendorForever, pollVendorOnce, type VendorPollReport } from '../../pipeline/poll-vendor.js'
import { sourceAdapters } from '../../sources.js'

/** One line per poll. */
export function pollSummary(report: VendorPollReport): string {
  const retried = report.attempts > 1 ? ` after ${report.attempts} attempts` : ''
  return (
    `vendor: ${report.fetched} readings fetched${retried}, ${report.skipped} already stored, ` +
    `${report.accepted} stored (${report.stored} rows), ${report.rejected} rejected.`
  )
}

interface PollOptions {
  url: string
  token?: string
  once?: boolean
  interval: string
  timeout: string
  source: string
  json?: boolean
}

/** Adds `poll vendor` to `program`. Exit codes: 0 done (or stopped), 1 failed (token, API down after retries), 2 usage. */
export function pollCommand(program: Command, open: () => Promise<App>): void {
  const poll = program.command('poll').description('poll an external API for new readings')
  poll
    .command('vendor')
    .description(
      "poll the indoor-sensor vendor's API (GET /api/sensor_readings?latest=true, Bearer token) and store " +
        'new readings as six rows each, like PUT /sensorsdata. Timeouts, 5xx and garbage are retried with ' +
        'backoff; a reading already stored is skipped, so nothing is stored twice.',
    )
    .requiredOption('--url <url>', 'the API base URL, e.g. https://vendor.example.com')
    .option('--token <token>', 'the Bearer token the vendor issued (or VENDOR_TOKEN)')
    .option('--once', 'poll once and exit (default: every --interval seconds until Ctrl-C)')
    .option('--interval <seconds>', 'seconds between polls', '60')
    .option('--timeout <seconds>', 'deadline of each request', '10')
    .option('--source <name>', 'source of the readings', 'vendor')
    .option('--json', 'print each poll report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  airlake poll vendor --url https://vendor.example.com --token "$VENDOR_TOKEN" --once\n  airlake poll vendor --url http://127.0.0.1:9000 --token t --interval 30',
    )
    .action(async (options: PollOptions) => {
      const token = options.token ?? process.env.VENDOR_TOKEN
      if (!token)
        throw new AirlakeError('PARAMETER_INVALID', 'give the vendor token with --token T (or VENDOR_TOKEN)')
      const intervalSeconds = positive(options.interval, '--interval')
      const timeoutSeconds = positive(options.timeout, '--timeout')
      const client = sourceAdapters.createVendorClient({
        url: options.url,
        token,
        timeoutMs: timeoutSeconds * 1000,
      })
      const app = await open()
      const print = (report: VendorPollReport) =>
        process.stdout.write(
          `${options.json ? JSON.stringify(report) : `${new Date().toISOString()} ${pollSummary(report)}`}\n`,
        )
      if (options.once) {
        print(await pollVendorOnce(app, { client, source: options.source }))
        return
      }
      const controller = new AbortController()
      const stop = () => controller.abort()
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      try {
        await pollVendorForever(app, {
          client,
          source: options.source,
          intervalMs: intervalSeconds * 1000,
          signal: controller.signal,
          onPoll: ({ report, error }) => {
            if (report) print(report)
            if (error) process.stderr.write(`${new Date().toISOString()} airlake: ${error.message}\n`)
          },
        })
      } finally {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
      }
    })
}

function positive(text: string, option: string): number {
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0)
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `${option} must be a number of seconds above 0, got ${JSON.stringify(text)}`,
    )
  return value
}
