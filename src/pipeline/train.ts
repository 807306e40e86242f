/**
 * The training run (seeds 000 and 002): time series -> dataset creator -> feature generator -> matrix
 * generator -> model trainer -> model evaluator, then registration, as one tracked run of the DAG runner.
 *
 * Every requested algorithm is fitted on the training windows with the run's seed, scored beside the
 * persistence and seasonal-naive baselines on exactly the same test windows, and registered as a new
 * version of `<device>.<measure>.<algorithm>` with the metrics the report shows. The first version of a
 * model becomes its `champion`; later versions become its `challenger` until promoted.
 */
import { AirlakeError } from '../core/errors.js'
import {
  FORECAST_ALGORITHMS,
  type ForecastModel,
  type ForecastSignature,
  type ForecastTrainer,
} from '../core/model.js'
import type { Bus } from '../core/ports/bus.js'
import type { Clock } from '../core/ports/clock.js'
import type { Lake } from '../core/ports/lake.js'
import type { Logger } from '../core/ports/logger.js'
import type { ReadingStore, RegistryStore, RunStore } from '../core/ports/store.js'
import { DAY_MS, type TimeMs } from '../core/time.js'
import { createDataset, type Dataset } from './dataset.js'
import { type Evaluation, evaluateModels, forecastAll, forecastMetrics, metricsRecord } from './evaluate.js'
import { type FeatureTable, generateFeatures } from './feature-generator.js'
import { type GoldSnapshot, writeGoldSnapshot } from './matrix.js'
import { assertQualityGate, qualityGate } from './quality.js'
import { modelName, registerModelVersion } from './registry.js'
import { type ReportInput, renderReport } from './report.js'
import { type PipelineDefinition, type RunOptions, retryRun, type StartedRun, startRun } from './runner.js'
import { type PreparedSeries, prepareSeries } from './time-series.js'

export interface TrainingDeps {
  store: ReadingStore & RegistryStore & RunStore
  lake: Lake
  bus: Bus
  clock: Clock
  logger: Logger
  /** Trainers by algorithm (`persistence`, `seasonal-naive`, `ridge`, `xgboost`, `mlp`, `lstm`, …), injected by the app. */
  trainers: Readonly<Record<string, ForecastTrainer>>
}

/** What a user asks for (`airlake train`, `POST /runs`); everything but device and measure has a default. */
export interface TrainRequest {
  deviceId: string
  measure: string
  /** L, input steps (default 60). */
  window?: number
  /** H, output steps (default 15). */
  horizon?: number
  /** Grid step in ms (default 60,000). */
  stepMs?: number
  /** Algorithms to train and register (default: every algorithm this process has a trainer for). */
  models?: readonly string[]
  /** Data range, inclusive (default: everything up to now). */
  from?: TimeMs
  to?: TimeMs
  /** Fraction of the series before the test part (default 0.75). */
  split?: number
  /** Fraction of the training part held out for early stopping (default 0.1). */
  validation?: number
  /** Rolling-origin folds scored on the training part (default 0). */
  folds?: number
  /** Longest gap, in steps, filled by interpolation (default 4). */
  maxGapSteps?: number
  /** Season in steps for seasonal features and seasonal naive (default: one day, when it fits in the window). */
  seasonSteps?: number
  seed?: number
  /** Register the trained versions (default true). */
  register?: boolean
  /** Hyper-parameters per algorithm. */
  modelParams?: Record<string, Record<string, unknown>>
  /** Train even when the stored quality reports of the period hold blocking failures (default false). */
  ignoreQuality?: boolean
}

/** The parameters a training run records: the request with every default resolved. */
export interface TrainParams extends Record<string, unknown> {
  deviceId: string
  measure: string
  window: number
  horizon: number
  stepMs: number
  models: string[]
  from: TimeMs
  to: TimeMs
  split: number
  validation: number
  folds: number
  maxGapSteps: number
  seasonSteps: number | null
  seed: number
  register: boolean
  modelParams: Record<string, Record<string, unknown>>
}

/** The baselines every run scores beside the requested models. */
export const BASELINES = ['persistence', 'seasonal-naive'] as const

const DEFAULTS = {
  window: 60,
  horizon: 15,
  stepMs: 60_000,
  split: 0.75,
  validation: 0.1,
  folds: 0,
  maxGapSteps: 4,
  seed: 42,
}

/** Resolves defaults and checks the request; throws PARAMETER_INVALID naming the bad option. */
export function resolveTrainParams(
  request: TrainRequest,
  trainers: Readonly<Record<string, ForecastTrainer>>,
  now: TimeMs,
): TrainParams {
  const int = (value: number | undefined, fallback: number, name: string, min: number, max: number) => {
    const v = value ?? fallback
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `${name} must be a whole number from ${min} to ${max}, got ${value}`,
      )
    }
    return v
  }
  const window = int(request.window, DEFAULTS.window, '--window', 1, 100_000)
  const horizon = int(request.horizon, DEFAULTS.horizon, '--horizon', 1, 10_000)
  const stepMs = request.stepMs ?? DEFAULTS.stepMs
  if (!Number.isInteger(stepMs) || stepMs < 1)
    throw new AirlakeError('PARAMETER_INVALID', `--step must be a positive duration, got ${stepMs} ms`)
  const known = Object.keys(trainers)
  const models = [...new Set(request.models ?? FORECAST_ALGORITHMS.filter((a) => a in trainers))]
  if (models.length === 0)
    throw new AirlakeError('PARAMETER_INVALID', `--models is empty: choose from ${known.join(', ')}`)
  for (const model of models) {
    if (!(model in trainers)) {
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `unknown model ${JSON.stringify(model)} in --models: choose from ${known.join(', ')}`,
      )
    }
  }
  const from = request.from ?? 0
  const to = request.to ?? now
  if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) {
    throw new AirlakeError('PARAMETER_INVALID', '--from must be earlier than --to')
  }
  const split = request.split ?? DEFAULTS.split
  if (!(split > 0 && split < 1))
    throw new AirlakeError('PARAMETER_INVALID', `--split must be between 0 and 1 (e.g. 0.75), got ${split}`)
  const validation = request.validation ?? DEFAULTS.validation
  if (!(validation >= 0 && validation < 0.5)) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `the validation fraction must be in [0, 0.5), got ${validation}`,
    )
  }
  const day = Math.round(DAY_MS / stepMs)
  const seasonSteps = request.seasonSteps ?? (day >= 2 && day <= window ? day : null)
  if (seasonSteps !== null && (!Number.isInteger(seasonSteps) || seasonSteps < 1)) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      `--season must be a whole number of steps >= 1, got ${seasonSteps}`,
    )
  }
  return {
    deviceId: request.deviceId,
    measure: request.measure,
    window,
    horizon,
    stepMs,
    models,
    from,
    to,
    split,
    validation,
    folds: int(request.folds, DEFAULTS.folds, '--folds', 0, 20),
    maxGapSteps: int(request.maxGapSteps, DEFAULTS.maxGapSteps, '--max-gap', 0, 1_000_000),
    seasonSteps,
    seed: int(request.seed, DEFAULTS.seed, '--seed', 0, 2 ** 31 - 1),
    register: request.register ?? true,
    modelParams: request.modelParams ?? {},
  }
}

/** The signature every model of a run shares. */
export function signatureOf(params: TrainParams): ForecastSignature {
  return {
    task: 'forecast',
    measure: params.measure,
    window: params.window,
    horizon: params.horizon,
    stepMs: params.stepMs,
    seasonSteps: params.seasonSteps ?? undefined,
  }
}

/** What the evaluator stage hands on: the scores, and the report it wrote (rewritten once versions exist). */
interface Evaluated {
  evaluation: Evaluation
  reportInput: ReportInput
  reportKey: string
}

/** What the trainer stage hands on: fitted models by algorithm, and why others were skipped. */
interface TrainedModels {
  models: Map<string, ForecastModel>
  skipped: Record<string, string>
  crossValidation: Record<string, number>
}

/** The training pipeline for runs of `kind` (`train` on demand, `retrain` on the schedule). */
export function trainingPipeline(
  deps: TrainingDeps,
  kind: 'train' | 'retrain' = 'train',
): PipelineDefinition<TrainParams> {
  return {
    kind,
    stages: [
      {
        name: 'time-series',
        dependsOn: [],
        async run(ctx) {
          const p = ctx.params
          const prepared = await prepareSeries(deps.store, {
            deviceId: p.deviceId,
            measure: p.measure,
            from: p.from,
            to: p.to,
            stepMs: p.stepMs,
            maxGapSteps: p.maxGapSteps,
          })
          const { target, report } = prepared
          await ctx.log(
            'info',
            `${prepared.readings} readings on ${target.values.length} grid points: ${report.interpolated} interpolated, ` +
              `${report.missing} missing in ${report.longGaps.length} gaps longer than ${p.maxGapSteps} steps`,
          )
          return {
            value: prepared,
            outputs: {
              readings: prepared.readings,
              gridPoints: target.values.length,
              fromMs: target.startMs,
              toMs: target.startMs + (target.values.length - 1) * target.stepMs,
              observed: report.observed,
              interpolated: report.interpolated,
              missing: report.missing,
              longGaps: report.longGaps.length,
              otherMeasures: Object.keys(prepared.others),
            },
          }
        },
      },
      {
        name: 'dataset',
        dependsOn: ['time-series'],
        async run(ctx) {
          const p = ctx.params
          const prepared = ctx.input<PreparedSeries>('time-series')
          const dataset = createDataset(prepared.target, {
            window: p.window,
            horizon: p.horizon,
            split: p.split,
            validation: p.validation,
            folds: p.folds,
          })
          const dropped = dataset.dropped.train + dataset.dropped.validation + dataset.dropped.test
          if (dropped > 0)
            await ctx.log(
              'warn',
              `${dropped} windows dropped because they cross a gap longer than ${p.maxGapSteps} steps`,
            )
          return {
            value: dataset,
            outputs: {
              train: dataset.train.n,
              validation: dataset.validation.n,
              test: dataset.test.n,
              folds: dataset.folds.length,
              dropped: dataset.dropped,
              droppedTotal: dropped,
              testStart: new Date(dataset.testStartMs).toISOString(),
              normalisation: dataset.normalisation,
            },
          }
        },
      },
      {
        name: 'features',
        dependsOn: ['time-series', 'dataset'],
        async run(ctx) {
          const prepared = ctx.input<PreparedSeries>('time-series')
          const dataset = ctx.input<Dataset>('dataset')
          const table = generateFeatures(dataset, signatureOf(ctx.params), prepared.others)
          return {
            value: table,
            outputs: {
              features: table.names.length,
              transform: table.spec.transform,
              center: table.spec.center,
              scale: table.spec.scale,
            },
          }
        },
      },
      {
        name: 'matrix',
        dependsOn: ['time-series', 'dataset', 'features'],
        async run(ctx) {
          const p = ctx.params
          const prepared = ctx.input<PreparedSeries>('time-series')
          const snapshot = await writeGoldSnapshot(deps.lake, {
            deviceId: p.deviceId,
            measure: p.measure,
            stepMs: p.stepMs,
            window: p.window,
            horizon: p.horizon,
            fromMs: prepared.target.startMs,
            toMs: prepared.target.startMs + (prepared.target.values.length - 1) * p.stepMs,
            split: p.split,
            dataset: ctx.input<Dataset>('dataset'),
            features: ctx.input<FeatureTable>('features'),
            gaps: prepared.report,
            now: deps.clock.now(),
          })
          ctx.artifact('snapshot', snapshot.manifestKey)
          ctx.artifact('matrix', snapshot.matrixKey)
          await ctx.log(
            'info',
            `gold snapshot ${snapshot.snapshotId}${snapshot.reused ? ' (identical one already in the lake)' : ''}`,
          )
          return {
            value: snapshot,
            outputs: {
              snapshotId: snapshot.snapshotId,
              bytes: snapshot.manifest.bytes,
              reused: snapshot.reused,
              fingerprint: snapshot.snapshotId,
            },
          }
        },
      },
      {
        name: 'train',
        dependsOn: ['dataset', 'matrix'],
        async run(ctx) {
          const p = ctx.params
          const dataset = ctx.input<Dataset>('dataset')
          const signature = signatureOf(p)
          const algorithms = [
            ...p.models,
            ...BASELINES.filter((b) => !p.models.includes(b) && b in deps.trainers),
          ]
          const trained: TrainedModels = { models: new Map(), skipped: {}, crossValidation: {} }
          const seconds: Record<string, number> = {}
          const share = 1 / algorithms.length
          for (const [i, algorithm] of algorithms.entries()) {
            const trainer = deps.trainers[algorithm]!
            const availability = trainer.available()
            if (!availability.ok) {
              trained.skipped[algorithm] = availability.reason
              await ctx.log('warn', `${algorithm} skipped: ${availability.reason}`)
              continue
            }
            ctx.progress(i * share, `fitting ${algorithm}`)
            const started = Date.now()
            try {
              const model = await trainer.fit(dataset.train, {
                signature,
                seed: p.seed,
                validation: dataset.validation.n > 0 ? dataset.validation : undefined,
                params: p.modelParams[algorithm],
                onProgress: (fraction, message) =>
                  ctx.progress((i + Math.min(1, Math.max(0, fraction))) * share, `${algorithm}: ${message}`),
                signal: ctx.signal,
              })
              trained.models.set(algorithm, model)
              for (const fold of dataset.folds) {
                const foldModel = await trainer.fit(fold.train, {
                  signature,
                  seed: p.seed,
                  params: p.modelParams[algorithm],
                  signal: ctx.signal,
                })
                try {
                  const mae = forecastMetrics(
                    fold.test.targets,
                    await forecastAll(foldModel, fold.test),
                    p.horizon,
                  ).mae
                  trained.crossValidation[algorithm] =
                    (trained.crossValidation[algorithm] ?? 0) + mae / dataset.folds.length
                } finally {
                  foldModel.dispose()
                }
              }
            } catch (error) {
              for (const model of trained.models.values()) model.dispose()
              throw new AirlakeError(
                error instanceof AirlakeError ? error.code : 'INTERNAL',
                `training ${algorithm} failed: ${error instanceof Error ? error.message : String(error)}`,
                { cause: error },
              )
            }
            seconds[algorithm] = Math.round((Date.now() - started) / 100) / 10
            await ctx.log(
              'info',
              `${algorithm} fitted on ${dataset.train.n} windows in ${seconds[algorithm]} s`,
            )
          }
          const candidates = p.models.filter((m) => trained.models.has(m))
          if (candidates.length === 0) {
            throw new AirlakeError(
              'DEPENDENCY_MISSING',
              `no requested model could be trained here: ${Object.entries(trained.skipped)
                .map(([a, r]) => `${a}: ${r}`)
                .join('; ')}`,
            )
          }
          return {
            value: trained,
            outputs: {
              trained: [...trained.models.keys()],
              skipped: trained.skipped,
              seconds,
              crossValidationMae: trained.crossValidation,
            },
          }
        },
      },
      {
        name: 'evaluate',
        dependsOn: ['dataset', 'matrix', 'train'],
        async run(ctx) {
          const p = ctx.params
          const dataset = ctx.input<Dataset>('dataset')
          const snapshot = ctx.input<GoldSnapshot>('matrix')
          const trained = ctx.input<TrainedModels>('train')
          const entries = [...trained.models.entries()]
          const evaluation = await evaluateModels(
            entries.map(([algorithm, model]) => ({
              algorithm,
              model,
              role: (BASELINES as readonly string[]).includes(algorithm)
                ? ('baseline' as const)
                : ('candidate' as const),
            })),
            dataset.test,
            {
              onModel: (algorithm) =>
                ctx.progress(
                  entries.findIndex(([a]) => a === algorithm) / entries.length,
                  `scoring ${algorithm}`,
                ),
            },
          )
          const metrics: Record<string, number> = {}
          for (const m of evaluation.models) {
            metrics[`${m.algorithm}.mae`] = m.metrics.mae
            metrics[`${m.algorithm}.rmse`] = m.metrics.rmse
            metrics[`${m.algorithm}.smape`] = m.metrics.smape
          }
          ctx.metrics(metrics)
          const reportInput: ReportInput = {
            runId: ctx.runId,
            deviceId: p.deviceId,
            measure: p.measure,
            window: p.window,
            horizon: p.horizon,
            stepMs: p.stepMs,
            snapshotId: snapshot.snapshotId,
            createdAt: deps.clock.now(),
            counts: {
              train: dataset.train.n,
              validation: dataset.validation.n,
              test: dataset.test.n,
              dropped: dataset.dropped.train + dataset.dropped.validation + dataset.dropped.test,
            },
            evaluation,
          }
          const reportKey = `runs/${ctx.runId}/report.html`
          await deps.lake.put(reportKey, renderReport(reportInput), { overwrite: true })
          ctx.artifact('report', reportKey)
          const summary = evaluation.models
            .map((m) => `${m.algorithm} MAE ${m.metrics.mae.toPrecision(4)}`)
            .join(', ')
          await ctx.log('info', `test windows ${evaluation.windows}: ${summary}`)
          return {
            value: { evaluation, reportInput, reportKey } satisfies Evaluated,
            outputs: {
              windows: evaluation.windows,
              mae: Object.fromEntries(evaluation.models.map((m) => [m.algorithm, m.metrics.mae])),
            },
          }
        },
      },
      {
        name: 'register',
        dependsOn: ['dataset', 'matrix', 'train', 'evaluate'],
        async run(ctx) {
          const p = ctx.params
          if (!p.register) return { outputs: { registered: {} } }
          const snapshot = ctx.input<GoldSnapshot>('matrix')
          const trained = ctx.input<TrainedModels>('train')
          const { evaluation, reportInput, reportKey } = ctx.input<Evaluated>('evaluate')
          const dataset = ctx.input<Dataset>('dataset')
          const registered: Record<string, string> = {}
          for (const algorithm of p.models) {
            const model = trained.models.get(algorithm)
            const scored = evaluation.models.find((m) => m.algorithm === algorithm)
            if (!model || !scored) continue
            const name = modelName(p.deviceId, p.measure, algorithm)
            const metrics = metricsRecord(scored.metrics)
            const cv = trained.crossValidation[algorithm]
            if (cv !== undefined) metrics.cv_mae = cv
            const record = await registerModelVersion(deps, {
              name,
              task: 'forecast',
              artifact: await model.save(),
              metrics,
              params: {
                deviceId: p.deviceId,
                measure: p.measure,
                seed: p.seed,
                split: p.split,
                trainWindows: dataset.train.n,
                testWindows: evaluation.windows,
                ...p.modelParams[algorithm],
              },
              snapshotId: snapshot.snapshotId,
              runId: ctx.runId,
              description: `${algorithm} for ${p.measure} of ${p.deviceId}, run ${ctx.runId}`,
            })
            const aliases = (await deps.store.getModel(name))?.aliases ?? {}
            const alias = aliases.champion === undefined ? 'champion' : 'challenger'
            await deps.store.setAlias(name, alias, record.version)
            await deps.bus.publish('models.changed', { model: name, version: record.version, alias })
            registered[algorithm] = `${name}@${record.version}`
            ctx.artifact(`model.${algorithm}`, record.artifactKey)
            await ctx.log('info', `registered ${name} version ${record.version} as ${alias}`)
          }
          // The report names the versions now that they exist; its metrics are those just registered.
          await deps.lake.put(reportKey, renderReport({ ...reportInput, versions: registered }), {
            overwrite: true,
          })
          return { outputs: { registered } }
        },
      },
    ],
    release(values) {
      const trained = values.get('train') as TrainedModels | undefined
      for (const model of trained?.models.values() ?? []) model.dispose()
    },
  }
}

// One training of a series at a time in this process: two would race for the same version numbers.
const running = new Set<string>()

/**
 * Starts a training run in the background and returns its id at once; `done` resolves with the final
 * run record. Throws PARAMETER_INVALID for a bad request and CONFLICT when the series is being trained.
 */
export async function startTraining(
  deps: TrainingDeps,
  request: TrainRequest,
  options: RunOptions & { kind?: 'train' | 'retrain' } = {},
): Promise<StartedRun> {
  const params = resolveTrainParams(request, deps.trainers, deps.clock.now())
  if (!request.ignoreQuality) {
    // A series whose data failed a blocking check (a flat-lined or stale sensor) is not trained on.
    const gate = await qualityGate(deps, {
      deviceId: params.deviceId,
      measure: params.measure,
      from: params.from,
      to: params.to,
    })
    assertQualityGate(gate)
  }
  const key = `${params.deviceId}\u0000${params.measure}`
  if (running.has(key)) {
    throw new AirlakeError(
      'CONFLICT',
      `${params.measure} of ${params.deviceId} is being trained already; wait for that run to end`,
    )
  }
  running.add(key)
  try {
    const started = await startRun(deps, trainingPipeline(deps, options.kind ?? 'train'), params, options)
    return { runId: started.runId, done: started.done.finally(() => running.delete(key)) }
  } catch (error) {
    running.delete(key)
    throw error
  }
}

/** Resumes a failed training run at its failed stage (see `retryRun`). */
export async function retryTraining(
  deps: TrainingDeps,
  runId: string,
  options: RunOptions = {},
): Promise<StartedRun> {
  return retryRun(
    deps,
    { train: trainingPipeline(deps, 'train'), retrain: trainingPipeline(deps, 'retrain') } as Record<
      string,
      PipelineDefinition<never>
    >,
    runId,
    options,
  )
}
