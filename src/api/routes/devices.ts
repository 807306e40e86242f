/**
 * `GET /devices`: every device with its name, source, location and when it was first and last seen
 * (ISO 8601 UTC); the dashboard's device list. `GET /sensorsdata/sensors` keeps the seed's envelope of ids.
 */
import type { FastifyInstance } from 'fastify'
import type { ApiDeps } from '../deps.js'
import { commonErrorResponses } from '../schemas.js'

const deviceSchema = {
  type: 'object',
  required: ['id', 'source', 'firstSeen', 'lastSeen'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    source: {
      type: 'string',
      description: 'where its readings come from: http, mqtt, vendor, openaq, file:…',
    },
    location: { type: 'string' },
    firstSeen: { type: 'string', format: 'date-time' },
    lastSeen: { type: 'string', format: 'date-time' },
  },
} as const

export async function devicesRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get(
    '/devices',
    {
      schema: {
        summary: 'Devices',
        description:
          'Every device that sent readings, sorted by id, with its source and when it was first and last seen.',
        tags: ['readings'],
        response: {
          200: {
            type: 'object',
            required: ['devices'],
            properties: { devices: { type: 'array', items: deviceSchema } },
          },
          ...commonErrorResponses,
        },
      },
    },
    async () => {
      const devices = await deps.store.listDevices()
      return {
        devices: devices.map((device) => ({
          id: device.id,
          ...(device.name === undefined ? {} : { name: device.name }),
          source: device.source,
          ...(device.location === undefined ? {} : { location: device.location }),
          firstSeen: new Date(device.firstSeen).toISOString(),
          lastSeen: new Date(device.lastSeen).toISOString(),
        })),
      }
    },
  )
}
