/**
 * `airlake`: one executable, `--help` on every command, `--json` on every listing, and exit codes
 * 0 (done), 1 (failed: the message says why and what to do), 2 (wrong usage).
 */
import { Command, CommanderError } from 'commander'
import { AirlakeError } from '../core/errors.js'
import { appOpener, type OpenApp } from './open.js'

/** A command module: adds its commands to `program`; `open` opens the app lazily. */
export type CommandModule = (program: Command, open: OpenApp) => void

const modules: Array<() => Promise<CommandModule>> = [
  async () => (await import('./commands/serve.js')).serveCommand,
  async () => (await import('./commands/keys.js')).keysCommand,
  async () => (await import('./commands/demo.js')).demoCommand,
  async () => (await import('./commands/bench.js')).benchCommand,
  async () => (await import('./commands/train.js')).trainCommand,
  async () => (await import('./commands/models.js')).modelsCommand,
  async () => (await import('./commands/runs.js')).runsCommand,
  async () => (await import('./commands/ingest.js')).ingestCommand,
  async () => (await import('./commands/poll.js')).pollCommand,
  async () => (await import('./commands/import.js')).importCommand,
  async () => (await import('./commands/lake.js')).lakeCommand,
  async () => (await import('./commands/export.js')).exportCommand,
  async () => (await import('./commands/quality.js')).qualityCommand,
]

export async function main(argv: string[]): Promise<number> {
  // `airlake runs list | head`: a reader that goes away early ends the command quietly, as in any Unix tool.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0)
    throw error
  })
  const program = new Command('airlake')
    .description('airlake: sensor and tabular data from ingestion to live forecasts')
    .addHelpText(
      'after',
      '\nSettings come from the environment: PORT, HOST, AIRLAKE_HOME, DATABASE_URL, LAKE_URL, BUS_URL,\n' +
        'MQTT_URL, MQTT_TOPIC, AIRLAKE_API_KEY, AIRLAKE_CONFIG, AIRLAKE_LOG_LEVEL (see README.md).\n' +
        'Start with `airlake demo` (what `npm start` runs), then open the printed address.',
    )
    .version(await version(), '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })

  const opener = appOpener()
  for (const load of modules) (await load())(program, opener.open)
  for (const command of program.commands) command.exitOverride()

  try {
    await program.parseAsync(argv, { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ||
        error.code.startsWith('commander.help') ||
        error.code === 'commander.version'
        ? 0
        : 2
    }
    process.stderr.write(`airlake: ${describe(error)}\n`)
    return 1
  } finally {
    await opener.close()
  }
}

function describe(error: unknown): string {
  if (error instanceof AirlakeError) return error.message
  if (error instanceof Error) return `${error.message}${process.env.AIRLAKE_DEBUG ? `\n${error.stack}` : ''}`
  return String(error)
}

async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises')
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  return pkg.version
}
