/**
 * `GET /events`: server-sent events of what happens, for the dashboard's live feed: `readings` (the
 * newest values per device of each stored batch), `predictions`, `runs`, `devices`, `models` and
 * `selection`, straight from the bus. A comment line every `heartbeatMs` keeps proxies from closing the
 * stream; `retry:` tells browsers to reconnect after 3 s. A client that cannot keep up is disconnected
 * (and reconnects) rather than buffered without bound.
 */
import type { FastifyInstance } from 'fastify'
import { AirlakeError } from '../../core/errors.js'
import type { BusTopic, BusTopics } from '../../core/ports/bus.js'
import type { ApiDeps, RouteModule } from '../deps.js'
import { commonErrorResponses } from '../schemas.js'

export interface EventsOptions {
  /** Interval of the keep-alive comment (ms). */
  heartbeatMs?: number
  /** Streams open at once before new ones get 429. */
  maxClients?: number
}

/** Event names clients can ask for with `?topics=`, and the bus topic behind each. */
const TOPICS = {
  readings: 'readings.stored',
  predictions: 'predictions.written',
  runs: 'runs.updated',
  devices: 'devices.new',
  models: 'models.changed',
  selection: 'selection.updated',
} as const satisfies Record<string, BusTopic>
type EventName = keyof typeof TOPICS
const EVENT_NAMES = Object.keys(TOPICS) as EventName[]

/** Bytes a client may have unsent before it is disconnected. */
const MAX_BUFFERED_BYTES = 1024 * 1024

/** What a bus message becomes on the stream, or `undefined` when the client's device filter excludes it. */
export function toEvent<N extends EventName>(
  name: N,
  message: BusTopics[(typeof TOPICS)[N]],
  device?: string,
): unknown | undefined {
  switch (name) {
    case 'readings': {
      const { source, readings } = message as BusTopics['readings.stored']
      const newest = new Map<string, { time: number; values: Record<string, number> }>()
      for (const reading of readings) {
        if (device !== undefined && reading.deviceId !== device) continue
        const entry = newest.get(reading.deviceId)
        if (!entry || reading.time > entry.time)
          newest.set(reading.deviceId, { time: reading.time, values: { [reading.measure]: reading.value } })
        else if (reading.time === entry.time) entry.values[reading.measure] = reading.value
      }
      if (newest.size === 0) return undefined
      return {
        source,
        count: readings.length,
        devices: [...newest].map(([id, entry]) => ({
          device: id,
          time: new Date(entry.time).toISOString(),
          values: entry.values,
        })),
      }
    }
    case 'predictions': {
      const written = message as BusTopics['predictions.written']
      if (device !== undefined && written.deviceId !== device) return undefined
      return {
        device: written.deviceId,
        measure: written.measure,
        modelVersion: written.modelVersion,
        predictions: written.predictions.map((p) => ({
          time: new Date(p.time).toISOString(),
          measureName: p.measureName,
          value: p.value,
          issuedAt: new Date(p.issuedAt).toISOString(),
        })),
      }
    }
    case 'devices': {
      const seen = message as BusTopics['devices.new']
      if (device !== undefined && seen.deviceId !== device) return undefined
      return { device: seen.deviceId, source: seen.source, firstSeen: new Date(seen.firstSeen).toISOString() }
    }
    default:
      return message
  }
}

/** The `/events` route module. */
export function eventsRoutes(options: EventsOptions = {}): RouteModule {
  const heartbeatMs = options.heartbeatMs ?? 15_000
  const maxClients = options.maxClients ?? 256

  return async (app: FastifyInstance, deps: ApiDeps) => {
    interface Client {
      names: ReadonlySet<EventName>
      device: string | undefined
      send(name: EventName, data: unknown): void
      end(): void
    }
    const clients = new Set<Client>()
    // One bus subscription per topic, fanned out to every open stream: a NATS bus then holds six
    // consumers however many dashboards are open.
    const unsubscribes = EVENT_NAMES.map((name) =>
      deps.bus.subscribe(TOPICS[name], (message) => {
        for (const client of clients) {
          if (!client.names.has(name)) continue
          const data = toEvent(name, message as never, client.device)
          if (data !== undefined) client.send(name, data)
        }
      }),
    )
    app.metrics.gauge('airlake_events_clients', 'Open /events streams.', () => clients.size)
    app.addHook('preClose', async () => {
      for (const client of [...clients]) client.end()
    })
    app.addHook('onClose', async () => {
      for (const unsubscribe of unsubscribes) unsubscribe()
    })

    app.get(
      '/events',
      {
        config: { loadShedding: false, apiKeyInQuery: true },
        schema: {
          summary: 'Live events (server-sent events)',
          description:
            "A text/event-stream of `readings`, `predictions`, `runs`, `devices`, `models` and `selection` events, each `data` a JSON object. Browsers' EventSource cannot send headers, so this route also takes the key as `?key=`.",
          tags: ['events'],
          querystring: {
            type: 'object',
            properties: {
              topics: {
                type: 'string',
                pattern: `^(${EVENT_NAMES.join('|')})(,(${EVENT_NAMES.join('|')}))*$`,
                description: `Comma-separated subset of ${EVENT_NAMES.join(', ')} (all by default).`,
              },
              device: {
                type: 'string',
                description: 'Only events of this device (readings, predictions, devices).',
              },
              key: { type: 'string', description: 'The API key, for clients that cannot send x-api-key.' },
            },
          },
          response: { 200: { type: 'string', description: 'text/event-stream' }, ...commonErrorResponses },
        },
      },
      async (request, reply) => {
        if (clients.size >= maxClients) {
          throw new AirlakeError(
            'OVERLOADED',
            `${clients.size} event streams are open, the limit is ${maxClients}: retry later`,
          )
        }
        const query = request.query as { topics?: string; device?: string }
        reply.hijack()
        const res = reply.raw
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        })
        res.write('retry: 3000\n: connected\n\n')
        let id = 0
        const write = (text: string) => {
          if (res.writableEnded) return
          if (res.writableLength > MAX_BUFFERED_BYTES) {
            deps.logger.warn('closing a slow /events client', { bufferedBytes: res.writableLength })
            client.end()
            return
          }
          res.write(text)
        }
        const heartbeat = setInterval(() => write(': keep-alive\n\n'), heartbeatMs)
        heartbeat.unref()
        const client: Client = {
          names: new Set(query.topics ? (query.topics.split(',') as EventName[]) : EVENT_NAMES),
          device: query.device,
          send: (name, data) => write(`id: ${++id}\nevent: ${name}\ndata: ${JSON.stringify(data)}\n\n`),
          end: () => {
            clearInterval(heartbeat)
            clients.delete(client)
            if (!res.writableEnded) res.end()
          },
        }
        clients.add(client)
        res.on('close', client.end)
      },
    )
  }
}
