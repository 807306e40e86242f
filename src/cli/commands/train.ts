/**
 * `airlake train --device D --measure M [...]`: one training run (time series -> dataset -> features ->
 * gold matrix -> training -> evaluation -> registry) with progress while it runs and a summary at the end.
 */
import type { Command } from 'commander'
import type { App } from '../../app.js'
import { AirlakeError } from '../../core/errors.js'
import type { RunRecord } from '../../core/ports/store.js'
import { parseTimestamp } from '../../core/time.js'
import type { RunProgress } from '../../pipeline/runner.js'
import { parseStep } from '../../pipeline/time-series.js'
import { startTraining, type TrainRequest } from '../../pipeline/train.js'
import { metric, printTable, trainingDeps } from './training-deps.js'

function number(name: string): (text: string) => number {
  return (text) => {
    const value = Number(text)
    if (text.trim() === '' || !Number.isFinite(value))
      throw new AirlakeError('PARAMETER_INVALID', `${name} must be a number, got ${JSON.stringify(text)}`)
    return value
  }
}

/**
 * Progress on stderr: a redrawn bar on a terminal, otherwise one plain line per stage and per tenth of a
 * stage, so logs of CI jobs stay short.
 */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): {
  update(event: RunProgress): void
  end(): void
} {
  const tty = stream.isTTY === true
  let lastKey = ''
  let drawn = false
  return {
    update(event) {
      const percent = Math.round(Math.min(1, Math.max(0, event.fraction)) * 100)
      const label = `[${event.index}/${event.count}] ${event.stage}`
      if (tty) {
        const width = 24
        const filled = Math.round((percent / 100) * width)
        const line = `${label} ${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${String(percent).padStart(3)}% ${event.message}`
        // A terminal of unknown size reports 0 columns.
        stream.write(`\r\x1b[2K${line.slice(0, (stream.columns || 100) - 1)}`)
        drawn = true
        if (event.fraction >= 1 && event.message === 'done') {
          stream.write('\n')
          drawn = false
        }
        return
      }
      const key = `${event.stage}:${Math.floor(percent / 10)}`
      if (key === lastKey) return
      lastKey = key
      stream.write(`${label} ${percent}% ${event.message}\n`)
    },
    end() {
      if (drawn) stream.write('\n')
      drawn = false
    },
  }
}

/**
 * The end-of-run table: every model beside the baselines (test MAE, RMSE, sMAPE and MAE as a multiple
 * of persistence's and seasonal naive's, on the same windows), the versions registered, the gold
 * snapshot and where the report is.
 */
export function printRunSummary(app: App, run: RunRecord): void {
  const evaluate = run.steps.find((s) => s.name === 'evaluate')
  const register = run.steps.find((s) => s.name === 'register')
  const matrix = run.steps.find((s) => s.name === 'matrix')
  const registered = (register?.outputs?.registered ?? {}) as Record<string, string>
  const maes = (evaluate?.outputs?.mae ?? {}) as Record<string, number>
  const algorithms = Object.keys(maes)
  const requested = Array.isArray(run.params.models) ? (run.params.models as string[]) : []
  const ratio = (a: string, baseline: string) => {
    const base = run.metrics[`${baseline}.mae`]
    const mae = run.metrics[`${a}.mae`]
    return base === undefined || mae === undefined || base === 0 ? '-' : `${(mae / base).toFixed(2)}x`
  }
  if (algorithms.length > 0) {
    printTable([
      ['MODEL', 'MAE', 'RMSE', 'sMAPE %', 'vs PERSISTENCE', 'vs SEASONAL', 'REGISTERED'],
      ...algorithms.map((a) => [
        a,
        metric(run.metrics[`${a}.mae`]),
        metric(run.metrics[`${a}.rmse`]),
        metric(run.metrics[`${a}.smape`]),
        ratio(a, 'persistence'),
        ratio(a, 'seasonal-naive'),
        registered[a] ?? (requested.includes(a) ? '(not registered)' : '(baseline)'),
      ]),
    ])
    process.stdout.write(
      `Test windows: ${String(evaluate?.outputs?.windows ?? '-')}, the same for every model (MAE ratios below 1 beat the baseline).\n`,
    )
  }
  const snapshot = matrix?.outputs?.snapshotId
  if (typeof snapshot === 'string') process.stdout.write(`Gold snapshot: ${snapshot}\n`)
  const report = run.artifacts.report
  if (report)
    process.stdout.write(`Report: ${app.lake.localPath(report) ?? `${app.lake.location}/${report}`}\n`)
}

/** Adds `train` to `program`. Exit codes: 0 run succeeded, 1 run failed (the failed stage says why), 2 usage. */
export function trainCommand(program: Command, open: () => Promise<App>): void {
  program
    .command('train')
    .description('train, evaluate and register forecasting models for one series')
    .requiredOption('--device <id>', 'device id')
    .requiredOption('--measure <name>', 'measure to forecast, e.g. iaq or nox_ppb')
    .option('--window <L>', 'input steps per window', number('--window'), 60)
    .option('--horizon <H>', 'output steps per window', number('--horizon'), 15)
    .option('--step <duration>', 'grid step: 5s, 1m, 1h, …', '1m')
    .option(
      '--models <list>',
      'comma-separated kinds: persistence, seasonal-naive, ridge, xgboost, mlp, lstm, ensemble (default: the first six that run here)',
    )
    .option('--from <time>', 'first reading used (ISO 8601; default: the oldest)')
    .option('--to <time>', 'last reading used (ISO 8601; default: now)')
    .option('--split <fraction>', 'share of the series before the test part', number('--split'), 0.75)
    .option('--folds <k>', 'rolling-origin folds scored on the training part', number('--folds'), 0)
    .option(
      '--max-gap <steps>',
      'longest gap filled by interpolation; longer gaps drop the windows across them',
      number('--max-gap'),
      4,
    )
    .option(
      '--season <steps>',
      'season length in steps (default: a day, when it fits in the window)',
      number('--season'),
    )
    .option('--seed <n>', 'seed of every random choice: same seed, same metrics', number('--seed'), 42)
    .option('--no-register', 'evaluate only; register no versions')
    .option('--ignore-quality', 'train even if stored quality reports of the period hold blocking failures')
    .option('--json', 'print the final run record as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  airlake train --device 7BB92D02D696C5C5 --measure iaq\n' +
        '  airlake train --device motorway-ch --measure nox_ppb --step 1h --window 168 --horizon 24 --split 0.8\n' +
        '  airlake train --device D --measure iaq --models ridge,xgboost --from 2024-01-01 --to 2024-01-08',
    )
    .action(async (options: Record<string, unknown>) => {
      const app = await open()
      const deps = trainingDeps(app)
      const request: TrainRequest = {
        deviceId: String(options.device),
        measure: String(options.measure),
        window: options.window as number,
        horizon: options.horizon as number,
        stepMs: parseStep(String(options.step)),
        models:
          typeof options.models === 'string'
            ? options.models
                .split(',')
                .map((m) => m.trim())
                .filter(Boolean)
            : undefined,
        from: typeof options.from === 'string' ? parseTimestamp(options.from) : undefined,
        to: typeof options.to === 'string' ? parseTimestamp(options.to) : undefined,
        split: options.split as number,
        folds: options.folds as number,
        maxGapSteps: options.maxGap as number,
        seasonSteps: options.season as number | undefined,
        seed: options.seed as number,
        register: options.register !== false,
        ignoreQuality: options.ignoreQuality === true,
      }
      const progress = progressPrinter()
      const started = await startTraining(deps, request, { onProgress: (event) => progress.update(event) })
      process.stderr.write(`Run ${started.runId} started\n`)
      const run = await started.done
      progress.end()
      if (options.json) process.stdout.write(`${JSON.stringify(run, null, 2)}\n`)
      else printRunSummary(app, run)
      if (run.status !== 'succeeded') {
        throw new AirlakeError(
          'INTERNAL',
          `run ${run.id} failed: ${run.error}; see \`airlake runs show ${run.id}\`, fix the cause and \`airlake runs retry ${run.id}\``,
        )
      }
      // With --json, stdout holds only the JSON document.
      ;(options.json ? process.stderr : process.stdout).write(`${runSummaryLine(run)}\n`)
    })
}

/** One line: time taken, the best candidate's MAE against seasonal naive's, versions registered. */
export function runSummaryLine(run: RunRecord): string {
  const registered = (run.steps.find((s) => s.name === 'register')?.outputs?.registered ?? {}) as Record<
    string,
    string
  >
  const candidates = Array.isArray(run.params.models) ? (run.params.models as string[]) : []
  const best = candidates
    .filter((a) => run.metrics[`${a}.mae`] !== undefined && a !== 'persistence' && a !== 'seasonal-naive')
    .sort((a, b) => run.metrics[`${a}.mae`]! - run.metrics[`${b}.mae`]!)[0]
  const seconds = ((run.endedAt ?? 0) - (run.startedAt ?? 0)) / 1000
  const seasonal = run.metrics['seasonal-naive.mae']
  const bestText =
    best === undefined
      ? ''
      : ` best ${best} MAE ${metric(run.metrics[`${best}.mae`])}${seasonal ? ` (${(run.metrics[`${best}.mae`]! / seasonal).toFixed(2)}x seasonal naive)` : ''};`
  return `Run ${run.id} ${run.status} in ${seconds.toFixed(1)} s:${bestText} ${Object.keys(registered).length} model versions registered.`
}
