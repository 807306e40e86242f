/**
 * Pipeline runs: `GET /runs` (newest first), `GET /runs/:id` (the record and its log), `GET /runs/:id/logs`,
 * `GET /runs/:id/report` (the evaluation report, self-contained HTML), `POST /runs` (start a training run
 * in this server; the dashboard's Train form) and `POST /runs/:id/retry` (resume a failed run at its
 * failed stage). Runs proceed in the background; `GET /events` (topic `runs`) tells when they change.
 */
import type { FastifyInstance } from 'fastify'
import { AirlakeError } from '../../core/errors.js'
import { parseTimestamp } from '../../core/time.js'
import { parseStep } from '../../pipeline/time-series.js'
import { retryTraining, startTraining, type TrainingDeps, type TrainRequest } from '../../pipeline/train.js'
import type { RouteModule } from '../deps.js'
import { commonErrorResponses, errorSchema } from '../schemas.js'

const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const

/** A run record as stored (times in epoch ms). */
export const runSchema = {
  type: 'object',
  required: ['id', 'kind', 'status', 'params', 'steps', 'metrics', 'artifacts', 'createdAt'],
  properties: {
    id: { type: 'string', example: '20240131T120000-3fa9c1' },
    kind: { type: 'string', description: '`train` (on demand) or `retrain` (scheduled).' },
    status: { type: 'string', enum: [...RUN_STATUSES] },
    params: {
      type: 'object',
      additionalProperties: true,
      description: 'The parameters with every default resolved.',
    },
    steps: {
      type: 'array',
      description: 'The stages in order: time-series, dataset, features, matrix, train, evaluate, register.',
      items: {
        type: 'object',
        required: ['name', 'status'],
        properties: {
          name: { type: 'string' },
          status: { type: 'string', enum: [...RUN_STATUSES, 'skipped'] },
          startedAt: { type: 'number' },
          endedAt: { type: 'number' },
          error: { type: 'string', description: 'Why the stage failed.' },
          outputs: {
            type: 'object',
            additionalProperties: true,
            description: 'Counts, ids, timings (e.g. windows dropped across gaps, snapshotId).',
          },
        },
      },
    },
    metrics: {
      type: 'object',
      additionalProperties: { type: 'number' },
      description: '`<algorithm>.mae`, `.rmse`, `.smape` on the test windows.',
    },
    artifacts: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description: 'Lake keys: report, snapshot, matrix, model.<algorithm>.',
    },
    createdAt: { type: 'number' },
    startedAt: { type: 'number' },
    endedAt: { type: 'number' },
    error: { type: 'string' },
  },
} as const

const logLineSchema = {
  type: 'object',
  required: ['seq', 'time', 'level', 'message'],
  properties: {
    seq: { type: 'integer' },
    time: { type: 'number' },
    level: { type: 'string', enum: ['debug', 'info', 'warn', 'error'] },
    message: { type: 'string' },
  },
} as const

/** Body of `POST /runs`: the options of `airlake train`. */
export const trainRequestSchema = {
  type: 'object',
  required: ['device', 'measure'],
  additionalProperties: false,
  properties: {
    kind: { type: 'string', enum: ['train'], description: 'Only training runs can be started here.' },
    device: { type: 'string', minLength: 1, maxLength: 64 },
    measure: { type: 'string', minLength: 1, maxLength: 64, example: 'iaq' },
    window: { type: 'integer', minimum: 1, maximum: 100000, description: 'L, input steps (default 60).' },
    horizon: { type: 'integer', minimum: 1, maximum: 10000, description: 'H, output steps (default 15).' },
    step: {
      type: 'string',
      pattern: '^\\d+(ms|s|m|min|h|d)$',
      description: 'Grid step (default 1m).',
      example: '1m',
    },
    models: {
      type: 'array',
      items: { type: 'string' },
      description:
        'Algorithms to train and register (default: every kind available here); persistence and seasonal naive are always scored beside them.',
    },
    from: { type: 'string', description: 'First reading used, ISO 8601 (default: the oldest).' },
    to: { type: 'string', description: 'Last reading used, ISO 8601 (default: now).' },
    split: {
      type: 'number',
      exclusiveMinimum: 0,
      exclusiveMaximum: 1,
      description: 'Share before the test part (default 0.75).',
    },
    folds: {
      type: 'integer',
      minimum: 0,
      maximum: 20,
      description: 'Rolling-origin folds on the training part (default 0).',
    },
    maxGap: {
      type: 'integer',
      minimum: 0,
      description: 'Longest gap in steps filled by interpolation (default 4).',
    },
    season: {
      type: 'integer',
      minimum: 1,
      description: 'Season length in steps (default: a day, when it fits the window).',
    },
    seed: { type: 'integer', minimum: 0, description: 'Seed of every random choice (default 42).' },
    register: { type: 'boolean', description: 'Register the trained versions (default true).' },
  },
} as const

const startedSchema = {
  type: 'object',
  required: ['id', 'status'],
  properties: {
    id: { type: 'string' },
    status: {
      type: 'string',
      description: 'The run runs in the background: follow it with GET /runs/{id} or GET /events.',
    },
  },
} as const

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$' } },
} as const

interface TrainBody {
  device: string
  measure: string
  window?: number
  horizon?: number
  step?: string
  models?: string[]
  from?: string
  to?: string
  split?: number
  folds?: number
  maxGap?: number
  season?: number
  seed?: number
  register?: boolean
}

/** The request `POST /runs` makes of its body. */
export function trainRequestFromBody(body: TrainBody): TrainRequest {
  return {
    deviceId: body.device,
    measure: body.measure,
    window: body.window,
    horizon: body.horizon,
    stepMs: body.step === undefined ? undefined : parseStep(body.step),
    models: body.models,
    from: body.from === undefined ? undefined : parseTimestamp(body.from),
    to: body.to === undefined ? undefined : parseTimestamp(body.to),
    split: body.split,
    folds: body.folds,
    maxGapSteps: body.maxGap,
    seasonSteps: body.season,
    seed: body.seed,
    register: body.register,
  }
}

/** The runs routes, running training with `training` (the app's store, lake, bus and trainers). */
export function runsRoutes(training: TrainingDeps): RouteModule {
  return async (app: FastifyInstance) => {
    const getRun = async (id: string) => {
      const run = await training.store.getRun(id)
      if (!run) throw new AirlakeError('RUN_NOT_FOUND', `no run ${id}: GET /runs lists them`)
      return run
    }
    const background = (done: Promise<unknown>) => {
      done.catch((error: unknown) =>
        training.logger.error('a training run ended with an error', { error: String(error) }),
      )
    }

    app.get(
      '/runs',
      {
        schema: {
          summary: 'Pipeline runs, newest first',
          tags: ['runs'],
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              kind: { type: 'string', maxLength: 64 },
              status: { type: 'string', enum: [...RUN_STATUSES] },
              limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
            },
          },
          response: {
            200: {
              type: 'object',
              required: ['runs'],
              properties: { runs: { type: 'array', items: runSchema } },
            },
            ...commonErrorResponses,
          },
        },
      },
      async (request) => {
        const query = request.query as {
          kind?: string
          status?: (typeof RUN_STATUSES)[number]
          limit: number
        }
        return { runs: await training.store.listRuns(query) }
      },
    )

    app.get(
      '/runs/:id',
      {
        schema: {
          summary:
            'One run: parameters, stages with status, timing, outputs or error; metrics; artifacts; its log',
          tags: ['runs'],
          params: idParams,
          response: {
            200: {
              type: 'object',
              required: ['run', 'logs'],
              properties: {
                run: runSchema,
                logs: { type: 'array', items: logLineSchema },
                report: { type: 'string', description: 'Path of the report, when there is one.' },
              },
            },
            404: errorSchema,
            ...commonErrorResponses,
          },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string }
        const run = await getRun(id)
        const logs = await training.store.listRunLogs(id)
        return {
          run,
          logs,
          ...(run.artifacts.report ? { report: `/runs/${encodeURIComponent(id)}/report` } : {}),
        }
      },
    )

    app.get(
      '/runs/:id/logs',
      {
        schema: {
          summary: "A run's log, oldest first",
          tags: ['runs'],
          params: idParams,
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              after: { type: 'integer', minimum: 0, description: 'Only lines after this seq (tailing).' },
            },
          },
          response: {
            200: {
              type: 'object',
              required: ['logs'],
              properties: { logs: { type: 'array', items: logLineSchema } },
            },
            404: errorSchema,
            ...commonErrorResponses,
          },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string }
        await getRun(id)
        return { logs: await training.store.listRunLogs(id, (request.query as { after?: number }).after) }
      },
    )

    app.get(
      '/runs/:id/report',
      {
        schema: {
          summary:
            "A training run's evaluation report (self-contained HTML: metrics, error by horizon, example forecast)",
          tags: ['runs'],
          params: idParams,
          produces: ['text/html'],
          response: { 200: { type: 'string' }, 404: errorSchema, ...commonErrorResponses },
        },
      },
      async (request, reply) => {
        const { id } = request.params as { id: string }
        const run = await getRun(id)
        const key = run.artifacts.report
        const bytes = key ? await training.lake.get(key) : undefined
        if (!bytes)
          throw new AirlakeError(
            'NOT_FOUND',
            `run ${id} has no report (yet): it is written by the evaluate stage (status ${run.status})`,
          )
        return reply.type('text/html; charset=utf-8').send(Buffer.from(bytes))
      },
    )

    app.post(
      '/runs',
      {
        schema: {
          summary:
            'Start a training run (time series -> dataset -> features -> matrix -> train -> evaluate -> register)',
          description:
            'Answers 202 at once with the run id; the run proceeds in the background. 409 when the series is being trained already.',
          tags: ['runs'],
          body: trainRequestSchema,
          response: { 202: startedSchema, 409: errorSchema, ...commonErrorResponses },
        },
      },
      async (request, reply) => {
        const started = await startTraining(training, trainRequestFromBody(request.body as TrainBody))
        background(started.done)
        return reply.code(202).send({ id: started.runId, status: 'queued' })
      },
    )

    app.post(
      '/runs/:id/retry',
      {
        schema: {
          summary: 'Resume a failed run at its failed stage',
          tags: ['runs'],
          params: idParams,
          response: { 202: startedSchema, 404: errorSchema, 409: errorSchema, ...commonErrorResponses },
        },
      },
      async (request, reply) => {
        const { id } = request.params as { id: string }
        const started = await retryTraining(training, id)
        background(started.done)
        return reply.code(202).send({ id: started.runId, status: 'queued' })
      },
    )
  }
}
