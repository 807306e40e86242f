/**
 * `GET /predictions`: a device's forecasts in the seed's envelope, one column per `measure~horizon`
 * (`iaq~5` at time t is the IAQ for t predicted 5 minutes earlier). Empty until forecasts exist.
 */
import type { FastifyInstance } from 'fastify'
import type { ApiDeps } from '../deps.js'
import { ENVELOPE_CONTENT_TYPE, gridOf } from '../envelope.js'
import { commonErrorResponses, envelopeSchema, seriesQuerySchema } from '../schemas.js'
import { type SeriesQuery, seriesPage } from '../series-page.js'

export async function predictionsRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get(
    '/predictions',
    {
      schema: {
        summary: "A device's forecasts",
        description:
          'Newest predicted minute first, one column per forecast name (`iaq~1` … `iaq~15`), or only `measure` (e.g. `iaq~5`). Paged like GET /sensorsdata.',
        tags: ['predictions'],
        querystring: seriesQuerySchema,
        response: { 200: envelopeSchema, ...commonErrorResponses },
      },
    },
    async (request, reply) => {
      const envelope = await seriesPage('predictions', request.query as SeriesQuery, async (page) => {
        const rows = await deps.store.predictionsPage(page)
        const long = rows.map((row) => ({ time: row.time, measure: row.measureName, value: row.value }))
        return gridOf(long, page.measures)
      })
      // Sent as text, the same bytes the response schema would write, sooner (see seriesEnvelopeJson).
      return reply.type(ENVELOPE_CONTENT_TYPE).send(envelope)
    },
  )
}
