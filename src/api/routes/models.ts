/**
 * The model registry: `GET /models` (every model with its aliases and versions, newest first),
 * `GET /models/:name` (one model) and `POST /models/:name/aliases` (point an alias such as `champion`
 * at a version: the dashboard's Promote button, `airlake models promote` over HTTP).
 */
import type { FastifyInstance } from 'fastify'
import { AirlakeError } from '../../core/errors.js'
import type { ModelRecord, ModelVersionRecord } from '../../core/ports/store.js'
import { ALIAS_PATTERN, checkModelName, promoteModel, type RegistryDeps } from '../../pipeline/registry.js'
import type { RouteModule } from '../deps.js'
import { commonErrorResponses, errorSchema } from '../schemas.js'

/** A model version as stored (times in epoch ms). */
export const modelVersionSchema = {
  type: 'object',
  required: ['model', 'version', 'algorithm', 'signature', 'metrics', 'artifactKey', 'createdAt'],
  properties: {
    model: { type: 'string', example: 'motorway-ch.nox_ppb.ridge' },
    version: { type: 'integer', minimum: 1 },
    algorithm: { type: 'string', example: 'ridge' },
    signature: {
      type: 'object',
      additionalProperties: true,
      description:
        'Forecasts: {task, measure, window L, horizon H, stepMs, seasonSteps}: (-1, L) -> (-1, H).',
    },
    metrics: {
      type: 'object',
      additionalProperties: { type: 'number' },
      description:
        'Test metrics exactly as in the run report: mae, rmse, smape, n_windows, and per step mae_h1…, rmse_h1…, smape_h1….',
    },
    params: { type: 'object', additionalProperties: true },
    snapshotId: {
      type: 'string',
      description: 'The gold snapshot the version was trained on (lake gold/<id>/).',
    },
    artifactKey: { type: 'string', description: 'Lake folder of the artifact.' },
    runId: { type: 'string' },
    createdAt: { type: 'number' },
    description: { type: 'string' },
  },
} as const

export const modelSchema = {
  type: 'object',
  required: ['name', 'task', 'createdAt', 'latestVersion', 'aliases', 'versions'],
  properties: {
    name: { type: 'string' },
    task: { type: 'string', enum: ['forecast', 'classification'] },
    createdAt: { type: 'number' },
    latestVersion: { type: 'integer' },
    aliases: {
      type: 'object',
      additionalProperties: { type: 'integer' },
      description: 'alias -> version, e.g. {"champion": 2}.',
    },
    versions: { type: 'array', items: modelVersionSchema, description: 'Newest first.' },
  },
} as const

const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 160 } },
} as const

/** `{name, …, versions}` of each model, versions newest first. */
function withVersions(models: readonly ModelRecord[], versions: readonly ModelVersionRecord[]) {
  return models.map((model) => ({ ...model, versions: versions.filter((v) => v.model === model.name) }))
}

/** The registry routes over the app's store, lake and bus. */
export function modelsRoutes(registry: RegistryDeps): RouteModule {
  return async (app: FastifyInstance) => {
    app.get(
      '/models',
      {
        schema: {
          summary:
            'Every model with its aliases and versions (algorithm, signature, metrics, snapshot, artifact)',
          tags: ['models'],
          response: {
            200: {
              type: 'object',
              required: ['models'],
              properties: { models: { type: 'array', items: modelSchema } },
            },
            ...commonErrorResponses,
          },
        },
      },
      async () => {
        const [models, versions] = await Promise.all([
          registry.store.listModels(),
          registry.store.listModelVersions(),
        ])
        return { models: withVersions(models, versions) }
      },
    )

    app.get(
      '/models/:name',
      {
        schema: {
          summary: 'One model with its aliases and versions',
          tags: ['models'],
          params: nameParams,
          response: { 200: modelSchema, 404: errorSchema, ...commonErrorResponses },
        },
      },
      async (request) => {
        const name = checkModelName((request.params as { name: string }).name)
        const model = await registry.store.getModel(name)
        if (!model) throw new AirlakeError('MODEL_NOT_FOUND', `no model ${name}: GET /models lists them`)
        return withVersions([model], await registry.store.listModelVersions(name))[0]
      },
    )

    app.post(
      '/models/:name/aliases',
      {
        schema: {
          summary: 'Point an alias (champion, challenger, …) at a version',
          description: 'Moves the alias when it is set; serving picks the change up at once.',
          tags: ['models'],
          params: nameParams,
          body: {
            type: 'object',
            required: ['alias', 'version'],
            additionalProperties: false,
            properties: {
              alias: { type: 'string', pattern: ALIAS_PATTERN.source, example: 'champion' },
              version: { type: 'integer', minimum: 1 },
            },
          },
          response: {
            200: {
              type: 'object',
              required: ['model', 'alias', 'version'],
              properties: {
                model: { type: 'string' },
                alias: { type: 'string' },
                version: { type: 'integer' },
                aliases: { type: 'object', additionalProperties: { type: 'integer' } },
              },
            },
            404: errorSchema,
            ...commonErrorResponses,
          },
        },
      },
      async (request) => {
        const name = checkModelName((request.params as { name: string }).name)
        const { alias, version } = request.body as { alias: string; version: number }
        await promoteModel(registry, { name, version, alias })
        const model = await registry.store.getModel(name)
        return { model: name, alias, version, aliases: model?.aliases ?? {} }
      },
    )
  }
}
