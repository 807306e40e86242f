/**
 * Operations routes, open without a key: `GET /healthz` (the process answers), `GET /readyz` (the store
 * answers too) and `GET /metrics` (Prometheus text).
 */
import type { FastifyInstance } from 'fastify'
import { wrapError } from '../../core/errors.js'
import type { ApiDeps } from '../deps.js'
import { errorSchema } from '../schemas.js'

const open = { security: [] as never[], tags: ['operations'] }

export async function healthRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const startedAt = Date.now()

  app.get(
    '/healthz',
    {
      config: { loadShedding: false },
      schema: {
        ...open,
        summary: 'Liveness',
        response: {
          200: {
            type: 'object',
            properties: { status: { type: 'string', enum: ['ok'] }, uptimeSeconds: { type: 'number' } },
          },
        },
      },
    },
    async () => ({ status: 'ok', uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) }),
  )

  app.get(
    '/readyz',
    {
      config: { loadShedding: false },
      schema: {
        ...open,
        summary: 'Readiness: the store answers',
        response: {
          200: {
            type: 'object',
            properties: {
              status: { type: 'string', enum: ['ready'] },
              store: { type: 'string' },
              bus: { type: 'string' },
            },
          },
          503: errorSchema,
        },
      },
    },
    async () => {
      try {
        await deps.store.ping()
      } catch (error) {
        throw wrapError(error, 'STORE_UNAVAILABLE', `the ${deps.store.kind} store does not answer`)
      }
      return { status: 'ready', store: deps.store.kind, bus: deps.bus.kind }
    },
  )

  app.get(
    '/metrics',
    {
      config: { loadShedding: false },
      schema: {
        ...open,
        summary: 'Prometheus metrics',
        description: 'Requests, latencies, in-flight requests, shed requests, readings stored and rejected.',
        produces: ['text/plain'],
      },
    },
    async (_request, reply) =>
      reply.type('text/plain; version=0.0.4; charset=utf-8').send(app.metrics.render()),
  )
}
