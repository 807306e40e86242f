/**
 * Runs the `airlake` command from the sources, as its own process without a terminal, the way a user
 * runs it: on one AIRLAKE_HOME, with none of this process's store, lake, bus, MQTT, key or config
 * settings leaking in.
 */
import { spawn } from 'node:child_process'

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

const CLI = new URL('../../src/cli/main.ts', import.meta.url).href
const SETTINGS = ['DATABASE_URL', 'LAKE_URL', 'BUS_URL', 'MQTT_URL', 'AIRLAKE_API_KEY', 'AIRLAKE_CONFIG']

/** `airlake ARGS` on `home`; `unset` names more variables to leave out (e.g. AIRLAKE_LOG_LEVEL). */
export function runAirlake(
  home: string,
  args: readonly string[],
  unset: readonly string[] = [],
): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, AIRLAKE_HOME: home }
  for (const name of [...SETTINGS, ...unset]) delete env[name]
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `import(${JSON.stringify(CLI)}).then(async ({ main }) => { process.exitCode = await main(process.argv.slice(1)) })`,
      ...args,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })))
}
