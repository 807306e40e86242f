/**
 * `airlake demo [--port] [--speed]`: what `npm start` runs. Starts the server on the embedded default,
 * replays the shipped real series as live devices, trains the first models in the background and
 * forecasts every reading, until Ctrl-C. A restart resumes where it stopped.
 */
import type { Command } from 'commander'
import { loadConfig } from '../../config.js'
import { AirlakeError } from '../../core/errors.js'
import { startDemo } from '../../demo/demo.js'
import { listenOverrides, untilStopped } from '../listen.js'

export interface DemoCommandOptions {
  port?: string | undefined
  host?: string | undefined
  speed?: string | undefined
  train?: boolean | undefined
}

export function demoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'run the whole loop on real data: server, dashboard, replayed devices, training, live forecasts',
    )
    .option('--port <port>', 'HTTP port (default PORT or 8080)')
    .option('--host <host>', 'interface to listen on (default HOST or 0.0.0.0)')
    .option('--speed <factor>', 'replay speed: 1 = real time, 10 = ten data minutes per minute', '1')
    .option('--no-train', 'do not train models in the background')
    .addHelpText(
      'after',
      '\nThe devices replay data/wsn_humidity_temperature_5s_2010.csv (8 indoor motes: temperature, humidity and an\n' +
        'IAQ-like index derived from them) and data/nox_motorway_ch_hourly.csv (NOx next to a motorway); see data/README.md.\n' +
        'State lives in AIRLAKE_HOME (default ./.airlake); delete that folder to start again from scratch.',
    )
    .action((options: DemoCommandOptions) => runDemoCommand(options))
}

/** Runs the demo in the foreground, printing its progress, until SIGINT or SIGTERM. */
export async function runDemoCommand(options: DemoCommandOptions): Promise<void> {
  const speed = Number(options.speed ?? '1')
  if (!Number.isFinite(speed) || speed <= 0 || speed > 3600) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `--speed ${options.speed}: use a number above 0 and at most 3600, e.g. --speed 10`,
    )
  }
  const config = loadConfig(process.env, listenOverrides(options))
  const line = (text: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)}  ${text}\n`)
  process.stdout.write(`starting the airlake demo in ${config.home} …\n`)
  const demo = await startDemo(config, { speed, train: options.train !== false, onLine: line })
  const { url } = demo.runtime
  const browserUrl = url.replace('://127.0.0.1:', '://localhost:')
  process.stdout.write(
    [
      '',
      `  airlake is running: open ${browserUrl}/`,
      `  API key     ${demo.apiKey}${demo.keyFile ? `   (kept in ${demo.keyFile})` : ''}`,
      `  API docs    ${browserUrl}/docs`,
      `  try         curl -H 'x-api-key: ${demo.apiKey}' '${browserUrl}/sensorsdata?device=wsn-single-hop-1&limit=3'`,
      `  store       ${demo.app.store.kind}, lake ${demo.app.lake.location}, speed ${speed}x`,
      '  Models train in the background (fast kinds first); forecasts follow every reading once one is ready.',
      '  Press Ctrl-C to stop; `npm start` again resumes.',
      '',
    ].join('\n'),
  )
  await untilStopped()
  process.stdout.write('stopping…\n')
  await demo.stop()
}
