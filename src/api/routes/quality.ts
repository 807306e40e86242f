/**
 * `GET /quality`: the data quality report of a UTC day (the newest stored one when no day is given), as
 * `airlake quality` stores it. A day without a stored report is checked on the spot (and stored; a day without data gives an empty report);
 * `refresh=true` checks again. Route factory: the composition root passes the lake, engine and store.
 */
import type { FastifyInstance } from 'fastify'
import { isoDate } from '../../core/time.js'
import {
  loadQualityReport,
  type QualityDeps,
  type QualityReport,
  runQualityChecks,
} from '../../pipeline/quality.js'
import type { RouteModule } from '../deps.js'
import { commonErrorResponses } from '../schemas.js'

const thresholdSchema = {
  type: 'object',
  properties: { warn: { type: 'number' }, fail: { type: 'number' } },
} as const

/** The report's shape, for /openapi.json (and the serialiser: every field listed is sent). */
export const qualityReportSchema = {
  type: 'object',
  description: 'Dataset checks per (device, measure) series of one UTC day, run on silver.',
  properties: {
    day: { type: 'string', format: 'date' },
    source: { type: 'string', description: 'Absent when the report covers every source.' },
    generatedAt: { type: 'integer', description: 'When the checks ran (epoch ms).' },
    from: { type: 'integer', description: 'Start of the checked period (epoch ms, inclusive).' },
    to: { type: 'integer', description: 'End of the checked period (epoch ms, exclusive; now for today).' },
    partitions: { type: 'integer' },
    rows: { type: 'integer' },
    status: { type: 'string', enum: ['pass', 'warn', 'fail'] },
    summary: {
      type: 'object',
      properties: {
        series: { type: 'integer' },
        pass: { type: 'integer' },
        warn: { type: 'integer' },
        fail: { type: 'integer' },
      },
    },
    series: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          deviceId: { type: 'string' },
          measure: { type: 'string' },
          rows: { type: 'integer' },
          stepMs: { type: 'number' },
          firstTime: { type: 'integer' },
          lastTime: { type: 'integer' },
          status: { type: 'string', enum: ['pass', 'warn', 'fail'] },
          values: { type: 'object', additionalProperties: { type: 'number' } },
        },
      },
    },
    findings: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          check: { type: 'string' },
          deviceId: { type: 'string' },
          measure: { type: 'string' },
          severity: { type: 'string', enum: ['warn', 'fail'] },
          value: { type: 'number' },
          threshold: { type: 'number' },
          blocking: { type: 'boolean', description: 'A failure that refuses training on the series.' },
          message: { type: 'string' },
        },
      },
    },
    rules: {
      type: 'object',
      description: 'The thresholds used: defaults and per-measure overrides.',
      properties: {
        default: {
          type: 'object',
          properties: {
            stepMs: { type: 'number' },
            checks: { type: 'object', additionalProperties: thresholdSchema },
            blocking: { type: 'array', items: { type: 'string' } },
          },
        },
        measures: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const

const qualityQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    day: {
      type: 'string',
      pattern: '^\\d{4}-\\d{2}-\\d{2}$',
      description: 'UTC day (default: the newest report, else today).',
    },
    source: {
      type: 'string',
      pattern: '^[a-z0-9][a-z0-9-]{0,31}$',
      description: 'Only this source (default: all).',
    },
    refresh: {
      type: 'boolean',
      default: false,
      description: 'Run the checks again instead of serving the stored report.',
    },
  },
} as const

/** The `GET /quality` route module over `deps`. */
export function qualityRoutes(deps: QualityDeps): RouteModule {
  return async (app: FastifyInstance) => {
    app.get(
      '/quality',
      {
        schema: {
          summary: 'Data quality report',
          description:
            'The checks of one UTC day (missing rate, gaps, flat-lined sensors, duplicate times, freshness, impossible values) per series, with findings; blocking failures refuse training. The stored report is served; a day without one is checked now.',
          tags: ['quality'],
          querystring: qualityQuerySchema,
          response: { 200: qualityReportSchema, ...commonErrorResponses },
        },
      },
      async (request): Promise<QualityReport> => {
        const query = request.query as { day?: string; source?: string; refresh?: boolean }
        const target = {
          ...(query.day === undefined ? {} : { day: query.day }),
          ...(query.source === undefined ? {} : { source: query.source }),
        }
        if (query.refresh !== true) {
          const stored = await loadQualityReport(deps, target)
          if (stored !== undefined) return stored
        }
        const { promotion: _promotion, ...report } = await runQualityChecks(deps, {
          day: query.day ?? isoDate(deps.clock.now()),
          ...(query.source === undefined ? {} : { source: query.source }),
        })
        return report
      },
    )
  }
}
