/** `airlake bench [ingest|query|predict|train|all] [--quick]`: runs bench/run.ts from the checkout. */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import { AirlakeError } from '../../core/errors.js'

export function benchCommand(program: Command): void {
  program
    .command('bench')
    .description(
      'run benchmarks; prints each figure beside its baseline and writes bench/results/latest.{json,md}',
    )
    .argument('[groups...]', 'all (default), ingest, query, predict, train, or a file name in bench/')
    .option('--quick', 'small sizes, for a quick look')
    .action(async (groups: string[], options: { quick?: boolean }) => {
      const runner = fileURLToPath(new URL('../../../bench/run.ts', import.meta.url))
      if (!existsSync(runner)) {
        throw new AirlakeError(
          'NOT_FOUND',
          'benchmarks run from a checkout of airlake (bench/ is not in this install)',
        )
      }
      const args = [
        '--import',
        'tsx',
        runner,
        ...(groups.length ? groups : ['all']),
        ...(options.quick ? ['--quick'] : []),
      ]
      const code = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, args, { stdio: 'inherit' })
        child.on('exit', (status) => resolve(status ?? 1))
      })
      process.exitCode = code
    })
}
