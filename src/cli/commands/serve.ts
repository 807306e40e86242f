/**
 * `airlake serve [--port 8080] [--host H] [--demo]`: the HTTP API, the dashboard, the live forecaster,
 * the scheduler and every configured source in one process, until Ctrl-C (SIGINT) or SIGTERM.
 */
import type { Command } from 'commander'
import { openApp } from '../../app.js'
import { loadConfig } from '../../config.js'
import { createLogger } from '../../logger.js'
import { startRuntime } from '../../runtime.js'
import { listenOverrides, untilStopped } from '../listen.js'
import { runDemoCommand } from './demo.js'

export interface ServeOptions {
  port?: string
  host?: string
  demo?: boolean
  speed?: string
  schedule?: boolean
}

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the API and dashboard, run the live forecaster, the scheduler and configured sources')
    .option('--port <port>', 'HTTP port (default PORT or 8080; 0 picks a free one)')
    .option('--host <host>', 'interface to listen on (default HOST or 0.0.0.0)')
    .option('--demo', 'also replay the demo fleet and train its models, as `airlake demo` does')
    .option('--speed <factor>', 'with --demo: replay speed (1 = real time)', '1')
    .option(
      '--no-schedule',
      'run no scheduled jobs here (when several servers share PostgreSQL and NATS, one schedules)',
    )
    .addHelpText(
      'after',
      '\nSettings (environment): PORT, HOST, AIRLAKE_HOME, DATABASE_URL, LAKE_URL, BUS_URL, MQTT_URL, MQTT_TOPIC,\n' +
        'AIRLAKE_API_KEY, AIRLAKE_CONFIG (sources and series to retrain), AIRLAKE_RETENTION_DAYS, AIRLAKE_RETRAIN_CRON.\n' +
        '\nExamples:\n  airlake serve\n  DATABASE_URL=postgres://localhost/airlake MQTT_URL=mqtt://localhost:1883 airlake serve --port 9000',
    )
    .action(async (options: ServeOptions) => {
      if (options.demo)
        return runDemoCommand({ port: options.port, host: options.host, speed: options.speed })
      const config = loadConfig(process.env, listenOverrides(options))
      const app = await openApp(config, { logger: createLogger(config.logLevel) })
      const runtime = await startRuntime(app, { schedule: options.schedule !== false }).catch(
        async (error: unknown) => {
          await app.close()
          throw error
        },
      )
      process.stdout.write(
        `airlake is serving on ${runtime.url} (store ${app.store.kind}, lake ${app.lake.location}, bus ${app.bus.kind})\n` +
          `  dashboard   ${runtime.url}/\n  API docs    ${runtime.url}/docs\n` +
          (config.apiKey ? '' : '  API keys    create one with `airlake keys create --name NAME`\n') +
          'Press Ctrl-C to stop.\n',
      )
      await untilStopped()
      process.stdout.write('stopping…\n')
      await runtime.stop()
    })
}
