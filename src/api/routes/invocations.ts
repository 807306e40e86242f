/**
 * `POST /invocations`: scoring compatible with MLflow's model server (DESIGN.md section 4). The body is
 * `{"instances": [[L numbers], …]}`, `{"inputs": …}` or `{"dataframe_split": {"columns", "data"}}`; the
 * answer `{"predictions": [[H numbers], …]}`, one row per window. The model is the serving alias unless
 * `?model=<name>@<alias|version>` says otherwise; the version that answered is in `x-model-version`.
 *
 * The body is checked against the model's own signature (not a route schema: L depends on the model), so
 * a wrong shape is a 400 SIGNATURE_MISMATCH that says what was expected.
 */
import type { FastifyInstance } from 'fastify'
import type { ModelServer } from '../../pipeline/serving.js'
import type { RouteModule } from '../deps.js'
import { commonErrorResponses, errorSchema } from '../schemas.js'

const windowRows = {
  type: 'array',
  description: 'Windows, each L values of the measure on the model grid, oldest first.',
  items: { type: 'array', items: { type: 'number' } },
} as const

/** Documentation of the body; `parseInvocation` validates it against the model's signature. */
const invocationBodySchema = {
  'x-document-only': true,
  type: 'object',
  description: 'Exactly one of `instances`, `inputs` or `dataframe_split`.',
  properties: {
    instances: windowRows,
    inputs: windowRows,
    dataframe_split: {
      type: 'object',
      required: ['columns', 'data'],
      description:
        'L value columns (any names) plus an optional `time` column (ISO 8601 or epoch ms) giving each window its last time.',
      properties: {
        columns: { type: 'array', items: { type: 'string' } },
        data: { type: 'array', items: { type: 'array', items: { type: ['number', 'string'] } } },
      },
    },
  },
  example: { instances: [[120.5, 121, 122.3]] },
} as const

const predictionsSchema = {
  type: 'object',
  required: ['predictions'],
  properties: {
    predictions: {
      type: 'array',
      description: 'One row of H forecasts per window, nearest step first.',
      items: { type: 'array', items: { type: 'number' } },
    },
  },
} as const

/** The `POST /invocations` route, scoring with `serving`. */
export function invocationsRoutes(serving: ModelServer): RouteModule {
  return async (app: FastifyInstance) => {
    const calls = app.metrics.counter('airlake_invocations_total', 'Scoring calls answered with forecasts.', [
      'model',
    ])
    const windows = app.metrics.counter(
      'airlake_invocation_windows_total',
      'Windows forecast through POST /invocations.',
      ['model'],
    )
    app.post(
      '/invocations',
      {
        schema: {
          summary: 'Forecast windows with a registered model',
          description:
            'MLflow-compatible scoring. Each window is L past values (the model signature: 60 one-minute values for the IAQ task); the answer has H forecasts per window (15). A body that does not fit the signature gets 400 SIGNATURE_MISMATCH saying what was expected. The version that answered is in the header `x-model-version`.',
          tags: ['serving'],
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              model: {
                type: 'string',
                pattern: '^[A-Za-z0-9_.:~-]{1,160}(@[A-Za-z0-9_-]{1,32})?$',
                description:
                  '`name`, `name@alias` or `name@version`; default: the model holding the `champion` alias.',
                example: 'dev1.iaq.ridge@champion',
              },
            },
          },
          body: invocationBodySchema,
          response: { 200: predictionsSchema, ...commonErrorResponses, 404: errorSchema, 413: errorSchema },
        },
      },
      async (request, reply) => {
        const { model } = request.query as { model?: string }
        const answer = await serving.invoke(model, request.body)
        calls.inc({ model: answer.served.arm })
        windows.inc({ model: answer.served.arm }, answer.predictions.length)
        reply.header('x-model-version', answer.served.arm)
        return { predictions: answer.predictions }
      },
    )
  }
}
