/**
 * `GET /exports?day=D | from=D&to=D | days=N [&source=S] [&format=csv|parquet]`: downloads stored readings
 * as `airlake export` writes them (promoting new bronze first, keeping the file in the lake under the seed's
 * names), streamed from the lake object with a `content-disposition` file name. Route factory: the
 * composition root passes the lake and the engine.
 */
import type { FastifyInstance } from 'fastify'
import { AirlakeError } from '../../core/errors.js'
import type { ExportFormat } from '../../core/ports/columnar.js'
import { type ExportRange, exportReadings } from '../../pipeline/export.js'
import type { SilverDeps } from '../../pipeline/to-silver.js'
import type { RouteModule } from '../deps.js'
import { commonErrorResponses } from '../schemas.js'

const DAY_PATTERN = '^\\d{4}-\\d{2}-\\d{2}$'

const exportQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    source: {
      type: 'string',
      pattern: '^[a-z0-9][a-z0-9-]{0,31}$',
      description: 'Only this source (default: all).',
    },
    day: { type: 'string', pattern: DAY_PATTERN, description: 'One UTC day.' },
    from: {
      type: 'string',
      pattern: DAY_PATTERN,
      description: 'First day of a range (inclusive), with `to`.',
    },
    to: {
      type: 'string',
      pattern: DAY_PATTERN,
      description: 'Last day of a range (inclusive), with `from`.',
    },
    days: { type: 'integer', minimum: 1, description: 'The last N UTC days, today included.' },
    format: { type: 'string', enum: ['csv', 'parquet'], default: 'csv' },
  },
} as const

interface ExportQueryString {
  source?: string
  day?: string
  from?: string
  to?: string
  days?: number
  format: ExportFormat
}

/** The range a query names; throws PARAMETER_INVALID unless exactly one of day, from&to, days is given. */
function rangeOf(query: ExportQueryString): ExportRange {
  const given = [
    query.day !== undefined,
    query.from !== undefined || query.to !== undefined,
    query.days !== undefined,
  ]
  if (given.filter(Boolean).length !== 1) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      'name the days to export with one of: day=D, from=D&to=D, or days=N',
    )
  }
  if (query.day !== undefined) return { day: query.day }
  if (query.days !== undefined) return { days: query.days }
  if (query.from === undefined || query.to === undefined) {
    throw new AirlakeError(
      'PARAMETER_INVALID',
      'a range needs both from=D and to=D (inclusive days, e.g. from=2024-01-01&to=2024-01-31)',
    )
  }
  return { from: query.from, to: query.to }
}

/** The download's file name: `<source>-<days>.<format>`, e.g. `http-20240101-20240131.csv`. */
function fileName(source: string | undefined, range: ExportRange, format: ExportFormat): string {
  const compact = (day: string) => day.replaceAll('-', '')
  const days =
    'day' in range
      ? compact(range.day)
      : 'days' in range
        ? `last-${range.days}-days`
        : `${compact(range.from)}-${compact(range.to)}`
  return `${source ?? 'all'}-${days}.${format}`
}

/** The `GET /exports` route module over `deps`. */
export function exportsRoutes(deps: SilverDeps): RouteModule {
  return async (app: FastifyInstance) => {
    app.get(
      '/exports',
      {
        schema: {
          summary: 'Download stored readings',
          description:
            'CSV (time ISO 8601 UTC, device_id, measure, value, source; one row per device, measure and time, ordered by time) or Parquet of a day, a range of days or the last N days. Also kept in the lake: silver/<source>/<day>/raw.csv, silver/<source>/export/<yyyymmdd>.<yyyymmdd>/raw.csv, silver/<source>/latest/<N>-days/raw.csv (source `_all` without `source`).',
          tags: ['exports'],
          querystring: exportQuerySchema,
          response: {
            200: {
              description: 'The file, streamed.',
              content: {
                'text/csv': { schema: { type: 'string' } },
                'application/vnd.apache.parquet': { schema: { type: 'string', format: 'binary' } },
              },
            },
            ...commonErrorResponses,
          },
        },
      },
      async (request, reply) => {
        const query = request.query as ExportQueryString
        const range = rangeOf(query)
        const report = await exportReadings(deps, { source: query.source, range, format: query.format })
        const stream = await deps.lake.getStream(report.key)
        if (stream === undefined) {
          throw new AirlakeError(
            'LAKE_UNAVAILABLE',
            `the export ${report.key} vanished from the lake while being sent: retry`,
          )
        }
        return reply
          .header(
            'content-type',
            query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/vnd.apache.parquet',
          )
          .header(
            'content-disposition',
            `attachment; filename="${fileName(query.source, range, query.format)}"`,
          )
          .header('x-airlake-rows', String(report.rows))
          .header('x-airlake-lake-key', report.key)
          .send(stream)
      },
    )
  }
}
