/**
 * `airlake runs list | show ID | retry ID`: pipeline runs with their parameters, stages, metrics,
 * artifacts and logs.
 */
import type { Command } from 'commander'
import type { App } from '../../app.js'
import { AirlakeError } from '../../core/errors.js'
import type { RunStatus } from '../../core/ports/store.js'
import { retryTraining } from '../../pipeline/train.js'
import { printRunSummary, progressPrinter } from './train.js'
import { isoTime, printTable, trainingDeps } from './training-deps.js'

const STATUSES: RunStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled']

function seconds(from: number | undefined, to: number | undefined): string {
  return from === undefined || to === undefined ? '-' : `${((to - from) / 1000).toFixed(1)} s`
}

/** Adds `runs` and its subcommands to `program`. Exit codes: 0 done, 1 failed (unknown run, failed retry), 2 usage. */
export function runsCommand(program: Command, open: () => Promise<App>): void {
  const runs = program
    .command('runs')
    .description('pipeline runs: parameters, stages, metrics, artifacts, logs')
    .addHelpText(
      'after',
      '\nExamples:\n  airlake runs list --status failed\n  airlake runs show 20240131T120000-3fa9c1 --logs\n  airlake runs retry 20240131T120000-3fa9c1',
    )

  runs
    .command('list')
    .description('runs, newest first')
    .option('--kind <kind>', 'only runs of this kind (train, retrain, …)')
    .option('--status <status>', `only runs with this status (${STATUSES.join(', ')})`)
    .option('--limit <n>', 'at most this many', (t) => Number(t), 50)
    .option('--json', 'print a JSON array of run records')
    .action(async (options: { kind?: string; status?: string; limit: number; json?: boolean }) => {
      if (options.status !== undefined && !STATUSES.includes(options.status as RunStatus)) {
        throw new AirlakeError('PARAMETER_INVALID', `--status must be one of ${STATUSES.join(', ')}`)
      }
      if (!Number.isInteger(options.limit) || options.limit < 1)
        throw new AirlakeError('PARAMETER_INVALID', '--limit must be a whole number >= 1')
      const app = await open()
      const list = await app.store.listRuns({
        kind: options.kind,
        status: options.status as RunStatus | undefined,
        limit: options.limit,
      })
      if (options.json) {
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`)
        return
      }
      if (list.length === 0) {
        process.stdout.write('No runs yet: start one with `airlake train --device D --measure M`.\n')
        return
      }
      printTable([
        ['ID', 'KIND', 'STATUS', 'SERIES', 'CREATED', 'DURATION', 'ERROR'],
        ...list.map((r) => [
          r.id,
          r.kind,
          r.status,
          r.params.deviceId === undefined ? '-' : `${String(r.params.deviceId)}/${String(r.params.measure)}`,
          isoTime(r.createdAt),
          seconds(r.startedAt, r.endedAt),
          (r.error ?? '').slice(0, 60),
        ]),
      ])
    })

  runs
    .command('show')
    .description('one run: parameters, each stage with status, timing, outputs or error; metrics; artifacts')
    .argument('<id>', 'run id (see `airlake runs list`)')
    .option('--logs', 'also print the run log')
    .option('--json', 'print {"run","logs"} as JSON')
    .action(async (id: string, options: { logs?: boolean; json?: boolean }) => {
      const app = await open()
      const run = await app.store.getRun(id)
      if (!run) throw new AirlakeError('RUN_NOT_FOUND', `no run ${id}: list runs with \`airlake runs list\``)
      const logs = options.logs || options.json ? await app.store.listRunLogs(id) : []
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ run, logs }, null, 2)}\n`)
        return
      }
      process.stdout.write(
        `Run ${run.id} (${run.kind}): ${run.status}${run.error ? ` — ${run.error}` : ''}\n` +
          `created ${isoTime(run.createdAt)}, took ${seconds(run.startedAt, run.endedAt)}\nparams: ${JSON.stringify(run.params)}\n\n`,
      )
      printTable([
        ['STAGE', 'STATUS', 'DURATION', 'OUTPUTS / ERROR'],
        ...run.steps.map((s) => [
          s.name,
          s.status,
          seconds(s.startedAt, s.endedAt),
          s.error ?? JSON.stringify(s.outputs ?? {}).slice(0, 120),
        ]),
      ])
      process.stdout.write('\n')
      printRunSummary(app, run)
      for (const [name, key] of Object.entries(run.artifacts))
        if (name !== 'report') process.stdout.write(`${name}: ${key}\n`)
      for (const line of logs)
        process.stdout.write(`${isoTime(line.time)} ${line.level.padEnd(5)} ${line.message}\n`)
    })

  runs
    .command('retry')
    .description('resume a failed training run at its failed stage')
    .argument('<id>', 'run id')
    .option('--json', 'print the final run record as JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const app = await open()
      const progress = progressPrinter()
      const started = await retryTraining(trainingDeps(app), id, {
        onProgress: (event) => progress.update(event),
      })
      const run = await started.done
      progress.end()
      if (options.json) process.stdout.write(`${JSON.stringify(run, null, 2)}\n`)
      else printRunSummary(app, run)
      if (run.status !== 'succeeded')
        throw new AirlakeError('INTERNAL', `run ${run.id} failed again: ${run.error}`)
      process.stdout.write(`Run ${run.id} succeeded on retry.\n`)
    })
}
