/**
 * Training time per model on the issue's NOx task (hourly NOx, window 168 h, horizon 24 h, chronological
 * 80/20 with the last 10 % of the training part for early stopping), each beside ridge's time in the same
 * run, with the test MAE alongside; then XGBoost through airlake's FFI binding beside the same library's
 * own command-line program (Debian package `xgboost`) on the same matrix and parameters; then the neural
 * models on the demo's shape (~10,000 windows of 60 -> 15), whose target is under a minute each.
 */
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadXgboost } from '../src/adapters/xgboost/xgboost-library.js'
import { fitFeatureSpec, residualTargets, windowFeatures } from '../src/core/features.js'
import type { ForecastSignature, ForecastTrainer, TrainingBatch } from '../src/core/model.js'
import { silentLogger } from '../src/core/ports/logger.js'
import { HOUR_MS } from '../src/core/time.js'
import { meanAbsoluteError, rowsOf, seasonalSeries, windowsOf } from '../src/models/testing.js'
import { createDataset } from '../src/pipeline/dataset.js'
import { loadNoxSeries } from '../src/pipeline/datasets.js'
import { interpolateGaps } from '../src/pipeline/time-series.js'
import { forecastTrainers } from '../src/trainers.js'
import { type BenchOptions, type BenchResult, median } from './types.js'

const NOX: ForecastSignature = {
  task: 'forecast',
  measure: 'nox_ppb',
  window: 168,
  horizon: 24,
  stepMs: HOUR_MS,
  seasonSteps: 24,
}
const MODELS = ['persistence', 'seasonal-naive', 'ridge', 'xgboost', 'mlp', 'lstm'] as const
/** Quick runs cap the neural models' epochs so the whole bench stays within ~30 s. */
const QUICK_PARAMS: Record<string, Record<string, unknown>> = {
  mlp: { epochs: 4 },
  lstm: { epochs: 1, samplesPerEpoch: 512 },
  xgboost: { rounds: 20 },
}

function noxDataset(quick: boolean) {
  const { series } = interpolateGaps(loadNoxSeries(), 4)
  const dataset = createDataset(series, { window: 168, horizon: 24, split: 0.8, validation: 0.1, folds: 0 })
  const train = quick
    ? rowsOf(dataset.train, dataset.train.n - 1500, dataset.train.n, 168, 24)
    : dataset.train
  return { train, validation: dataset.validation, test: dataset.test }
}

async function timeFit(
  trainer: ForecastTrainer,
  data: { train: TrainingBatch; validation: TrainingBatch },
  signature: ForecastSignature,
  params: Record<string, unknown> | undefined,
  repeats: number,
): Promise<{
  seconds: number
  cpuSeconds: number
  runs: number
  model: Awaited<ReturnType<ForecastTrainer['fit']>>
}> {
  const times: number[] = []
  const cpuTimes: number[] = []
  let model: Awaited<ReturnType<ForecastTrainer['fit']>> | undefined
  for (let r = 0; r < repeats; r++) {
    model?.dispose()
    const started = performance.now()
    const cpu = process.cpuUsage()
    model = await trainer.fit(data.train, { signature, seed: 42, validation: data.validation, params })
    times.push((performance.now() - started) / 1000)
    const used = process.cpuUsage(cpu)
    cpuTimes.push((used.user + used.system) / 1e6)
    // Slow fits are timed once: three would take minutes and vary less than the machine's load.
    if (times[0]! > 10) break
  }
  return { seconds: median(times), cpuSeconds: median(cpuTimes), runs: times.length, model: model! }
}

async function modelTimes(quick: boolean): Promise<BenchResult[]> {
  const trainers = await forecastTrainers(silentLogger)
  const data = noxDataset(quick)
  const fits: Record<
    string,
    { seconds: number; cpuSeconds: number; runs: number; mae: number } | { skipped: string }
  > = {}
  for (const name of MODELS) {
    const trainer = trainers[name]!
    const availability = trainer.available()
    if (!availability.ok) {
      fits[name] = { skipped: availability.reason }
      continue
    }
    const { seconds, cpuSeconds, runs, model } = await timeFit(
      trainer,
      data,
      NOX,
      quick ? QUICK_PARAMS[name] : undefined,
      quick ? 1 : 3,
    )
    fits[name] = {
      seconds,
      cpuSeconds,
      runs,
      mae: meanAbsoluteError(data.test.targets, await model.predict(data.test)),
    }
    model.dispose()
  }
  const ridge = fits.ridge
  const baseline = ridge && 'seconds' in ridge ? { name: 'ridge fit', figure: ridge.seconds } : undefined
  const maeOf = (name: string) => {
    const fit = fits[name]
    return fit && 'mae' in fit ? fit.mae.toFixed(1) : 'n/a'
  }
  return MODELS.map((name) => {
    const fit = fits[name]!
    const label = `${name} fit, NOx 168 h -> 24 h (${data.train.n} windows)`
    if ('skipped' in fit)
      return { name: label, figure: Number.NaN, unit: 's', notes: `skipped: ${fit.skipped}` }
    return {
      name: label,
      figure: fit.seconds,
      unit: 's',
      baseline,
      ratio: baseline ? fit.seconds / baseline.figure : undefined,
      notes:
        `median of ${fit.runs} fit(s), ${fit.cpuSeconds.toFixed(1)} s of CPU (all threads)${quick && QUICK_PARAMS[name] ? ` with quick params ${JSON.stringify(QUICK_PARAMS[name])}` : ''}; ` +
        `ratio = time / ridge's time (lower is faster); test MAE ${fit.mae.toFixed(1)} ppb ` +
        `(persistence ${maeOf('persistence')}, seasonal-naive ${maeOf('seasonal-naive')})`,
    }
  })
}

function hasXgboostCli(): boolean {
  try {
    execFileSync('xgboost', ['--help'], { stdio: 'ignore' })
    return true
  } catch (error) {
    // The CLI prints its usage and exits non-zero; only a missing binary is ENOENT.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT'
  }
}

/** The same single-output boosting (step-1 residuals of the NOx features) through the FFI binding and the CLI. */
async function xgboostBesideCli(quick: boolean): Promise<BenchResult> {
  const { train } = noxDataset(quick)
  const spec = fitFeatureSpec(train, NOX)
  const m = windowFeatures(train, spec)
  const residuals = residualTargets(train, train.targets, spec)
  const label = Float32Array.from({ length: m.n }, (_, i) => residuals[i * NOX.horizon]!)
  const x = Float32Array.from(m.x)
  const rounds = quick ? 30 : 300
  const params = {
    objective: 'reg:squarederror',
    tree_method: 'hist',
    eta: 0.05,
    max_depth: 5,
    min_child_weight: 5,
    subsample: 0.8,
    colsample_bytree: 0.8,
    lambda: 1,
    max_bin: 64,
    seed: 42,
    nthread: 2,
    verbosity: 0,
  }
  const name = `xgboost binding, ${rounds} rounds on ${m.n} × ${m.d} (NOx features, step-1 target)`
  let library: ReturnType<typeof loadXgboost>
  try {
    library = loadXgboost()
  } catch (error) {
    return {
      name,
      figure: Number.NaN,
      unit: 's',
      notes: `skipped: ${error instanceof Error ? error.message : String(error)}`,
    }
  }
  const ffi = (): number => {
    const started = performance.now()
    const dmat = library.dmatrix(x, m.n, m.d, { values: label, columns: 1 })
    const booster = library.booster([dmat], params)
    for (let r = 0; r < rounds; r++) library.updateOneIter(booster, r, dmat)
    const seconds = (performance.now() - started) / 1000
    library.freeBooster(booster)
    library.freeDMatrix(dmat)
    return seconds
  }
  const repeats = quick ? 1 : 3
  const ffiSeconds = median(Array.from({ length: repeats }, ffi))
  if (!hasXgboostCli()) {
    return {
      name,
      figure: ffiSeconds,
      unit: 's',
      notes:
        'the xgboost command-line program is not installed (apt-get install xgboost) and python3 has no xgboost module: no CLI baseline here',
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'airlake-bench-xgb-'))
  try {
    const rows: string[] = []
    for (let i = 0; i < m.n; i++) rows.push([label[i], ...x.subarray(i * m.d, (i + 1) * m.d)].join(','))
    await writeFile(join(dir, 'train.csv'), `${rows.join('\n')}\n`)
    const conf = Object.entries({
      ...params,
      task: 'train',
      data: `${join(dir, 'train.csv')}?format=csv&label_column=0`,
      model_out: join(dir, 'model.bin'),
    })
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n')
    await writeFile(join(dir, 'train.conf'), `${conf}\n`)
    const cli = (n: number): number => {
      const started = performance.now()
      // The same OpenMP wait policy as the binding (set when libxgboost was loaded), for a like-for-like run.
      const env = { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' }
      execFileSync('xgboost', [join(dir, 'train.conf'), `num_round=${n}`], { stdio: 'ignore', cwd: dir, env })
      return (performance.now() - started) / 1000
    }
    const cliSeconds = median(Array.from({ length: repeats }, () => cli(rounds)))
    const loadSeconds = median(Array.from({ length: repeats }, () => cli(1)))
    return {
      name,
      figure: ffiSeconds,
      unit: 's',
      baseline: { name: 'xgboost CLI (same library, same params)', figure: cliSeconds },
      ratio: cliSeconds / ffiSeconds,
      notes:
        `ratio = CLI time / binding time (above 1: the binding is faster); the CLI's time includes start-up and CSV parsing ` +
        `(${loadSeconds.toFixed(2)} s for 1 round); median of ${repeats}`,
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** MLP and LSTM on the demo's shape: windows of 60 -> 15 on a minute grid, 90 % train, 10 % early stopping. */
async function neuralOnDemoShape(quick: boolean): Promise<BenchResult[]> {
  const trainers = await forecastTrainers(silentLogger)
  const signature: ForecastSignature = {
    task: 'forecast',
    measure: 'iaq',
    window: 60,
    horizon: 15,
    stepMs: 60_000,
  }
  const n = quick ? 1_000 : 10_000
  const all = windowsOf(seasonalSeries(n + 74 + 15, 11), signature)
  const cut = Math.floor(n * 0.9)
  const data = { train: rowsOf(all, 0, cut, 60, 15), validation: rowsOf(all, cut + 15, all.n, 60, 15) }
  const ridge = await timeFit(trainers.ridge!, data, signature, undefined, 1)
  ridge.model.dispose()
  const results: BenchResult[] = []
  for (const name of ['mlp', 'lstm'] as const) {
    const params = quick ? QUICK_PARAMS[name] : undefined
    const { seconds, cpuSeconds, model } = await timeFit(trainers[name]!, data, signature, params, 1)
    const artifact = await model.save()
    model.dispose()
    results.push({
      name: `${name} fit, 60 -> 15 on ${n.toLocaleString('en-US')} windows (demo shape)`,
      figure: seconds,
      unit: 's',
      baseline: { name: 'ridge fit', figure: ridge.seconds },
      ratio: seconds / ridge.seconds,
      target: quick ? undefined : '< 60 s',
      met: quick ? undefined : seconds < 60,
      notes: `${cpuSeconds.toFixed(1)} s of CPU; ran ${artifact.params.epochsRun} epochs (best ${artifact.params.bestEpoch}) on the ${artifact.params.backend} backend${quick ? ', quick params' : ''}`,
    })
  }
  return results
}

export async function run({ quick = false }: BenchOptions): Promise<BenchResult[]> {
  return [...(await modelTimes(quick)), await xgboostBesideCli(quick), ...(await neuralOnDemoShape(quick))]
}
