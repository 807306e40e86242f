/**
 * Model selection (DESIGN.md section 6): `GET /selection` shows each UCB1 bandit (arms with pulls, mean
 * reward and index, the current choice, the pin, the history); `POST /selection/pin` and
 * `POST /selection/unpin` override the bandit by hand. Also puts the live forecaster's counters in
 * `/metrics` (`airlake_forecaster_*`).
 *
 * A bandit is named by its selector: `<device>/<measure>` when the device has models of its own,
 * `<measure>` when shared models serve it. Pin and unpin take the selector, or the measure (and device)
 * from which it is found the way the live forecaster finds it.
 */
import type { FastifyInstance } from 'fastify'
import { AirlakeError } from '../../core/errors.js'
import { MEASURE_PATTERN } from '../../core/readings.js'
import { type Forecaster, type ForecastMetrics, selectorOf } from '../../pipeline/forecast.js'
import type { Selector, SelectorView } from '../../pipeline/select.js'
import type { ModelServer } from '../../pipeline/serving.js'
import type { RouteModule } from '../deps.js'
import { commonErrorResponses, errorSchema } from '../schemas.js'

export interface SelectionWiring {
  selector: Selector
  serving: ModelServer
  forecaster: Forecaster
}

const SELECTOR_PATTERN = '^[A-Za-z0-9_.:~/-]{1,200}$'

const armSchema = {
  type: 'object',
  properties: {
    arm: { type: 'string', description: '`<model>@<version>`.' },
    pulls: { type: 'integer', description: 'Actuals this arm was scored on.' },
    rewardSum: { type: 'number' },
    meanReward: { type: 'number', description: 'Mean of 1 / (1 + |error| / scale), in [0, 1].' },
    ucb: { type: ['number', 'null'], description: 'UCB1 index mean + sqrt(2 ln N / n); null while untried.' },
    updatedAt: { type: 'string', description: 'Last reward, ISO 8601.' },
  },
} as const

const viewSchema = {
  type: 'object',
  properties: {
    selector: { type: 'string' },
    choice: { type: ['string', 'null'], description: 'The arm whose forecasts are written now.' },
    pinned: { type: ['string', 'null'], description: 'The arm pinned by hand, if any.' },
    arms: { type: 'array', items: armSchema, description: 'Best UCB1 index first.' },
    history: {
      type: 'array',
      description: 'Choices, pins and unpins, newest first.',
      items: {
        type: 'object',
        properties: {
          time: { type: 'string' },
          kind: { type: 'string', enum: ['choice', 'pin', 'unpin'] },
          arm: { type: 'string' },
          details: { type: 'object', additionalProperties: true },
        },
      },
    },
  },
} as const

const selectorFields = {
  selector: {
    type: 'string',
    pattern: SELECTOR_PATTERN,
    description: 'The bandit, as GET /selection names it.',
  },
  measure: {
    type: 'string',
    pattern: MEASURE_PATTERN.source,
    description: 'The measure forecast (when `selector` is absent).',
  },
  device: {
    type: 'string',
    pattern: '^[A-Za-z0-9_.:-]{1,64}$',
    description: 'The device (when `selector` is absent).',
  },
} as const

const pinBodySchema = {
  type: 'object',
  required: ['model'],
  additionalProperties: false,
  description:
    'Which bandit (`selector`, or `measure` with an optional `device`) and which model version to serve.',
  properties: {
    ...selectorFields,
    model: {
      type: 'string',
      description: '`name`, `name@alias` or `name@version`.',
      example: 'dev1.iaq.ridge',
    },
    version: { type: 'integer', minimum: 1, description: 'The version, when `model` is a bare name.' },
  },
  example: { device: 'dev1', measure: 'iaq', model: 'dev1.iaq.ridge', version: 2 },
} as const

const unpinBodySchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Which bandit to give back to UCB1.',
  properties: selectorFields,
  example: { device: 'dev1', measure: 'iaq' },
} as const

interface SelectorFields {
  selector?: string
  measure?: string
  device?: string
}

/** GET /selection, POST /selection/pin, POST /selection/unpin, and the forecaster's counters in /metrics. */
export function selectionRoutes(wiring: SelectionWiring): RouteModule {
  const { selector, serving, forecaster } = wiring
  return async (app: FastifyInstance) => {
    registerForecasterMetrics(app, () => forecaster.metrics())

    /** The selector a request names: given, or found from measure and device as the forecaster does. */
    const selectorFor = async (fields: SelectorFields): Promise<string> => {
      if (fields.selector !== undefined) return fields.selector
      if (fields.measure === undefined) {
        throw new AirlakeError(
          'PARAMETER_INVALID',
          'say which bandit: give "selector" (see GET /selection), or "measure" and optionally "device"',
        )
      }
      if (fields.device === undefined) return fields.measure
      return selectorOf(
        fields.device,
        fields.measure,
        await serving.candidates(fields.device, fields.measure),
      )
    }
    const viewOf = async (name: string): Promise<ReturnType<typeof presentView>> => {
      const [view] = await selector.describe({ selector: name })
      return presentView(
        view ?? { selector: name, choice: undefined, pinned: undefined, arms: [], history: [] },
      )
    }

    app.get(
      '/selection',
      {
        schema: {
          summary: 'The model-selection bandits',
          description:
            'Per selector: every arm (model version) with pulls, mean reward and UCB1 index, the current choice, the pin and the newest history. Rewards come from live actuals scored against every candidate forecast in shadow.',
          tags: ['selection'],
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              selector: selectorFields.selector,
              history: {
                type: 'integer',
                minimum: 0,
                maximum: 1000,
                default: 50,
                description: 'History events per selector.',
              },
            },
          },
          response: {
            200: { type: 'object', properties: { selectors: { type: 'array', items: viewSchema } } },
            ...commonErrorResponses,
          },
        },
      },
      async (request) => {
        const query = request.query as { selector?: string; history?: number }
        const views = await selector.describe({ selector: query.selector, historyLimit: query.history ?? 50 })
        return { selectors: views.map(presentView) }
      },
    )

    app.post(
      '/selection/pin',
      {
        schema: {
          summary: 'Serve one model version, overriding UCB1',
          description:
            'Pins a version of a model that forecasts the measure; its forecasts are written until unpinned, while every candidate keeps being scored in shadow. Answers the bandit as GET /selection shows it.',
          tags: ['selection'],
          body: pinBodySchema,
          response: { 200: viewSchema, ...commonErrorResponses, 404: errorSchema },
        },
      },
      async (request) => {
        const body = request.body as SelectorFields & { model: string; version?: number }
        if (body.version !== undefined && body.model.includes('@')) {
          throw new AirlakeError(
            'PARAMETER_INVALID',
            `give the version either in "model" (${body.model}) or in "version", not both`,
          )
        }
        const name = await selectorFor(body)
        const served = await serving.resolve(
          body.version === undefined ? body.model : `${body.model}@${body.version}`,
        )
        // A default selector is `<device>/<measure>` or `<measure>`; a configured one may be named otherwise.
        const measure = body.measure ?? name.split('/').at(-1) ?? name
        const known = body.measure !== undefined || serving.servedMeasures().has(measure)
        if (known && served.signature.measure !== measure) {
          throw new AirlakeError(
            'PARAMETER_INVALID',
            `${served.arm} forecasts ${served.signature.measure}, not ${measure}: pin a model of ${measure}`,
          )
        }
        await selector.pin(name, served.arm)
        return viewOf(name)
      },
    )

    app.post(
      '/selection/unpin',
      {
        schema: {
          summary: 'Give the choice back to UCB1',
          tags: ['selection'],
          body: unpinBodySchema,
          response: { 200: viewSchema, ...commonErrorResponses },
        },
      },
      async (request) => {
        const name = await selectorFor(request.body as SelectorFields)
        if ((await selector.pinned(name)) !== undefined) await selector.pin(name, undefined)
        return viewOf(name)
      },
    )
  }
}

/** A view as JSON: times as ISO 8601, an untried arm's infinite index as null. */
function presentView(view: SelectorView) {
  return {
    selector: view.selector,
    choice: view.choice ?? null,
    pinned: view.pinned ?? null,
    arms: view.arms.map((arm) => ({
      arm: arm.arm,
      pulls: arm.pulls,
      rewardSum: arm.rewardSum,
      meanReward: arm.meanReward,
      ucb: Number.isFinite(arm.ucb) ? arm.ucb : null,
      updatedAt: new Date(arm.updatedAt).toISOString(),
    })),
    history: view.history.map((event) => ({
      time: new Date(event.time).toISOString(),
      kind: event.kind,
      arm: event.arm,
      details: event.details ?? {},
    })),
  }
}

const FORECASTER_COUNTERS: Record<keyof ForecastMetrics, string> = {
  readings: 'Readings of measures with a serving model received by the live forecaster.',
  jobs: 'Forecast jobs run (one per device and measure per batch).',
  coalesced: 'Readings merged into an already queued forecast of the same series.',
  forecasts: 'Forecasts written to predictions (H rows each).',
  predictionRows: 'Prediction rows written.',
  shadowRows: 'Candidate forecast rows kept in shadow for scoring.',
  scored: 'Actuals scored against shadow forecasts.',
  skipped: 'Forecasts skipped because the window had too long a gap.',
  errors: 'Forecast jobs or candidate forecasts that failed (see the log).',
  storeReads: 'Series read from the store by the live forecaster.',
}

/** The forecaster's monotonic counters as `airlake_forecaster_<name>_total`. */
function registerForecasterMetrics(app: FastifyInstance, read: () => ForecastMetrics): void {
  for (const [key, help] of Object.entries(FORECASTER_COUNTERS) as Array<[keyof ForecastMetrics, string]>) {
    const name = `airlake_forecaster_${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_total`
    app.metrics.gauge(name, `${help} (counter)`, () => read()[key])
  }
}
