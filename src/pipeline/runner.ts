/**
 * A tiny DAG runner for pipeline runs, tracked like MLflow tracks experiments: every run records its
 * parameters, each stage's status, timing, outputs and error, its logs, metrics and artifact keys in the
 * store, and publishes `runs.updated` on every change of state.
 *
 * Stages run one at a time in dependency order (the machine is shared; stages are CPU-bound). When a
 * stage fails the run fails, the stages that depend on it are marked `skipped`, and `retryRun` later
 * resumes at the failed stage: the succeeded stages it needs are replayed from the recorded parameters
 * (their records are kept) and must reproduce the same `fingerprint` output, so a retry never mixes
 * results of different inputs.
 */
import { randomBytes } from 'node:crypto'
import { AirlakeError, isAirlakeError } from '../core/errors.js'
import type { Bus } from '../core/ports/bus.js'
import type { Clock } from '../core/ports/clock.js'
import type { Logger } from '../core/ports/logger.js'
import type { RunLogLine, RunRecord, RunStep, RunStore } from '../core/ports/store.js'

export interface RunnerDeps {
  store: RunStore
  bus: Bus
  clock: Clock
  logger: Logger
}

/** What a stage sees: the run's parameters, its upstream stages' values, and ways to report. */
export interface StageContext<P> {
  readonly runId: string
  readonly params: P
  /** Values returned by the stages this one depends on (and their ancestors), by stage name. */
  input<T>(stage: string): T
  /** Appends a line to the run's log (kept in the store). */
  log(level: RunLogLine['level'], message: string): Promise<void>
  /** Progress of this stage in [0, 1] with a short message. */
  progress(fraction: number, message: string): void
  /** Records an artifact's lake key on the run (report, snapshot, models). */
  artifact(name: string, key: string): void
  /** Adds metrics to the run. */
  metrics(values: Record<string, number>): void
  /** True when the stage runs again only to rebuild its value for a retry: skip side effects. */
  readonly replay: boolean
  readonly signal: AbortSignal
}

/** The result of a stage: a value for later stages and outputs to record. */
export interface StageResult {
  value?: unknown
  /** Shown in `runs show`; `fingerprint`, when given, must be reproduced by a replay. */
  outputs?: Record<string, unknown>
}

export interface Stage<P> {
  name: string
  dependsOn: readonly string[]
  run(context: StageContext<P>): Promise<StageResult>
}

/** A kind of run: its stages and what to release afterwards. */
export interface PipelineDefinition<P> {
  kind: string
  stages: ReadonlyArray<Stage<P>>
  /** Frees what stage values hold (native models), after success or failure. */
  release?(values: ReadonlyMap<string, unknown>): void
}

/** A progress event for terminals and the dashboard. */
export interface RunProgress {
  runId: string
  stage: string
  /** 1-based position of the stage and the number of stages. */
  index: number
  count: number
  fraction: number
  message: string
}

export interface RunOptions {
  onProgress?: ((event: RunProgress) => void) | undefined
  signal?: AbortSignal | undefined
}

/** A started run: its id at once, its final record when it ends (never rejects; see `status`). */
export interface StartedRun {
  runId: string
  done: Promise<RunRecord>
}

const PROGRESS_SAVE_INTERVAL_MS = 2_000

/** Stages in dependency order; throws INTERNAL for an unknown dependency or a cycle. */
export function orderStages<P>(stages: ReadonlyArray<Stage<P>>): Array<Stage<P>> {
  const byName = new Map(stages.map((s) => [s.name, s]))
  const ordered: Array<Stage<P>> = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (stage: Stage<P>) => {
    if (state.get(stage.name) === 'done') return
    if (state.get(stage.name) === 'visiting')
      throw new AirlakeError('INTERNAL', `pipeline stages form a cycle at ${stage.name}`)
    state.set(stage.name, 'visiting')
    for (const dep of stage.dependsOn) {
      const upstream = byName.get(dep)
      if (!upstream) throw new AirlakeError('INTERNAL', `stage ${stage.name} depends on unknown stage ${dep}`)
      visit(upstream)
    }
    state.set(stage.name, 'done')
    ordered.push(stage)
  }
  stages.forEach(visit)
  return ordered
}

/** A new run id: sortable by creation time, e.g. `20240131T120000-3fa9c1`. */
export function newRunId(now: number): string {
  return `${new Date(now).toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`
}

/** Runs that are executing in this process, by id (to refuse a second retry of the same run). */
const active = new Set<string>()

/**
 * Creates the run record (status `queued`) and executes it in the background. The returned `done`
 * resolves with the final record, `succeeded` or `failed` (with the failed stage's error).
 */
export async function startRun<P extends Record<string, unknown>>(
  deps: RunnerDeps,
  definition: PipelineDefinition<P>,
  params: P,
  options: RunOptions = {},
): Promise<StartedRun> {
  const now = deps.clock.now()
  orderStages(definition.stages)
  const run: RunRecord = {
    id: newRunId(now),
    kind: definition.kind,
    status: 'queued',
    params,
    steps: orderStages(definition.stages).map((s) => ({ name: s.name, status: 'queued' })),
    metrics: {},
    artifacts: {},
    createdAt: now,
  }
  await saveAndPublish(deps, run)
  active.add(run.id)
  const done = execute(deps, definition, run, options).finally(() => active.delete(run.id))
  return { runId: run.id, done }
}

/**
 * Resumes a failed run at its failed stage (and the stages after it). Throws RUN_NOT_FOUND for an
 * unknown id, CONFLICT when the run did not fail or is running here, PARAMETER_INVALID for a kind
 * this process cannot run.
 */
export async function retryRun(
  deps: RunnerDeps,
  definitions: Readonly<Record<string, PipelineDefinition<never>>>,
  runId: string,
  options: RunOptions = {},
): Promise<StartedRun> {
  const run = await deps.store.getRun(runId)
  if (!run) throw new AirlakeError('RUN_NOT_FOUND', `no run ${runId}: list runs with \`airlake runs list\``)
  if (active.has(runId)) throw new AirlakeError('CONFLICT', `run ${runId} is running; wait for it to end`)
  if (run.status !== 'failed') {
    throw new AirlakeError(
      'CONFLICT',
      `run ${runId} is ${run.status}; only a failed run can be retried (start a new run instead)`,
    )
  }
  const definition = definitions[run.kind] as PipelineDefinition<Record<string, unknown>> | undefined
  if (!definition)
    throw new AirlakeError('PARAMETER_INVALID', `runs of kind ${run.kind} cannot be retried here`)
  for (const step of run.steps) {
    if (step.status !== 'succeeded') {
      const attempts = Number(step.outputs?.attempts ?? 1)
      run.steps[run.steps.indexOf(step)] = {
        name: step.name,
        status: 'queued',
        outputs: { attempts: attempts + 1 },
      }
    }
  }
  run.status = 'queued'
  run.error = undefined
  run.endedAt = undefined
  await saveAndPublish(deps, run)
  active.add(runId)
  const done = execute(deps, definition, run, options).finally(() => active.delete(runId))
  return { runId, done }
}

async function saveAndPublish(deps: RunnerDeps, run: RunRecord): Promise<void> {
  await deps.store.saveRun(run)
  await deps.bus.publish('runs.updated', { runId: run.id, kind: run.kind, status: run.status })
}

async function execute<P extends Record<string, unknown>>(
  deps: RunnerDeps,
  definition: PipelineDefinition<P>,
  run: RunRecord,
  options: RunOptions,
): Promise<RunRecord> {
  const stages = orderStages(definition.stages)
  const values = new Map<string, unknown>()
  const logger = deps.logger.child({ runId: run.id, kind: run.kind })
  const controller = new AbortController()
  const onAbort = () => controller.abort(options.signal?.reason)
  options.signal?.addEventListener('abort', onAbort, { once: true })
  const log = async (level: RunLogLine['level'], message: string) => {
    logger[level](message)
    try {
      await deps.store.appendRunLog({ runId: run.id, time: deps.clock.now(), level, message })
    } catch (error) {
      // A lost log line must not fail the run; the logger above still has it.
      logger.warn('could not store a run log line', { error: (error as Error).message })
    }
  }
  // Which stages a pending stage needs, transitively: only those are replayed on a retry.
  const needed = new Set<string>()
  const markNeeded = (name: string) => {
    const stage = stages.find((s) => s.name === name)
    for (const dep of stage?.dependsOn ?? []) {
      if (!needed.has(dep)) {
        needed.add(dep)
        markNeeded(dep)
      }
    }
  }
  for (const step of run.steps) if (step.status !== 'succeeded') markNeeded(step.name)

  run.status = 'running'
  run.startedAt ??= deps.clock.now()
  await saveAndPublish(deps, run)
  await log('info', `run ${run.id} (${run.kind}) started with ${JSON.stringify(run.params)}`)
  let failed: { stage: string; error: unknown } | undefined
  try {
    for (const [index, stage] of stages.entries()) {
      const step = run.steps.find((s) => s.name === stage.name)
      if (!step) throw new AirlakeError('INTERNAL', `run ${run.id} has no step ${stage.name}`)
      const replay = step.status === 'succeeded'
      if (replay && !needed.has(stage.name)) continue
      if (failed) {
        run.steps[run.steps.indexOf(step)] = {
          ...step,
          status: 'skipped',
          error: `stage ${failed.stage} failed`,
        }
        continue
      }
      const recorded = step.outputs
      let lastSave = deps.clock.now()
      const context: StageContext<P> = {
        runId: run.id,
        params: run.params as P,
        input: <T>(name: string) => {
          if (!values.has(name))
            throw new AirlakeError('INTERNAL', `stage ${stage.name} read ${name}, which has not run`)
          return values.get(name) as T
        },
        log,
        progress: (fraction, message) => {
          options.onProgress?.({
            runId: run.id,
            stage: stage.name,
            index: index + 1,
            count: stages.length,
            fraction,
            message,
          })
          if (!replay && deps.clock.now() - lastSave >= PROGRESS_SAVE_INTERVAL_MS) {
            lastSave = deps.clock.now()
            step.outputs = { ...step.outputs, progress: Math.round(fraction * 1000) / 1000, message }
            void deps.store.saveRun(run).catch(() => {})
          }
        },
        artifact: (name, key) => {
          run.artifacts[name] = key
        },
        metrics: (metrics) => {
          Object.assign(run.metrics, metrics)
        },
        replay,
        signal: controller.signal,
      }
      if (replay) {
        await log('info', `replaying stage ${stage.name} to rebuild its result for the retry`)
      } else {
        step.status = 'running'
        step.startedAt = deps.clock.now()
        step.endedAt = undefined
        step.error = undefined
        await saveAndPublish(deps, run)
        await log('info', `stage ${stage.name} started`)
      }
      options.onProgress?.({
        runId: run.id,
        stage: stage.name,
        index: index + 1,
        count: stages.length,
        fraction: 0,
        message: replay ? 'replaying' : 'started',
      })
      try {
        controller.signal.throwIfAborted()
        const result = await stage.run(context)
        values.set(stage.name, result.value)
        if (replay) {
          const before = recorded?.fingerprint
          const after = result.outputs?.fingerprint
          if (before !== undefined && before !== after) {
            throw new AirlakeError(
              'CONFLICT',
              `stage ${stage.name} no longer gives the same result (${String(after)} instead of ${String(before)}): ` +
                'its input data changed since the run; start a new run instead of retrying',
            )
          }
          continue
        }
        const attempts = step.outputs?.attempts
        step.status = 'succeeded'
        step.endedAt = deps.clock.now()
        step.outputs = { ...(attempts === undefined ? {} : { attempts }), ...result.outputs }
        options.onProgress?.({
          runId: run.id,
          stage: stage.name,
          index: index + 1,
          count: stages.length,
          fraction: 1,
          message: 'done',
        })
        await saveAndPublish(deps, run)
        await log(
          'info',
          `stage ${stage.name} succeeded in ${((step.endedAt - (step.startedAt ?? step.endedAt)) / 1000).toFixed(1)} s`,
        )
      } catch (error) {
        const message = describeError(error)
        failed = { stage: stage.name, error }
        if (!replay) {
          step.status = 'failed'
          step.endedAt = deps.clock.now()
          step.error = message
        }
        await log('error', `stage ${stage.name} failed: ${message}`)
      }
    }
  } catch (error) {
    failed ??= { stage: 'runner', error }
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
    try {
      definition.release?.(values)
    } catch (error) {
      logger.warn('releasing stage results failed', { error: (error as Error).message })
    }
  }
  run.status = failed ? 'failed' : 'succeeded'
  run.error = failed ? `stage ${failed.stage} failed: ${describeError(failed.error)}` : undefined
  run.endedAt = deps.clock.now()
  await log(failed ? 'error' : 'info', failed ? run.error! : `run ${run.id} succeeded`)
  try {
    await saveAndPublish(deps, run)
  } catch (error) {
    logger.error('could not record the end of the run', { error: describeError(error) })
  }
  return run
}

/** The message to record for a failure: an AirlakeError's own message, anything else with its type. */
function describeError(error: unknown): string {
  if (isAirlakeError(error)) return `${error.message} [${error.code}]`
  if (error instanceof Error) return `${error.name}: ${error.message}`
  return String(error)
}

/** The step of `run` named `name`, or undefined. */
export function findStep(run: RunRecord, name: string): RunStep | undefined {
  return run.steps.find((s) => s.name === name)
}
