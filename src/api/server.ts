/**
 * The HTTP API (DESIGN.md section 4) on Fastify: one server for the readings API, the routes other
 * modules add, the OpenAPI document and docs page, health and metrics, live events and the dashboard.
 *
 * Layout of one request: load shedding (429) -> key check (401, protected scope only) -> body parsing ->
 * schema validation -> handler; any error on the way goes through `toErrorReply`, the one mapping from
 * errors to `{"error":{"code","message"}}`. See src/api/README.md to add a route.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { Ajv } from 'ajv'
import Fastify, { type FastifyInstance } from 'fastify'
import { AirlakeError } from '../core/errors.js'
import { ApiKeyChecker } from './auth.js'
import type { ApiDeps, RouteModule } from './deps.js'
import { toErrorReply } from './error-reply.js'
import { LoadShedder } from './load-shedding.js'
import { MetricsRegistry } from './metrics.js'
import { devicesRoutes } from './routes/devices.js'
import { eventsRoutes } from './routes/events.js'
import { healthRoutes } from './routes/health.js'
import { predictionsRoutes } from './routes/predictions.js'
import { sensorsdataRoutes } from './routes/sensorsdata.js'

export type { ApiDeps, RouteModule } from './deps.js'

export interface ServerOptions {
  /** Requests handled at once before new ones get 429 (default 1,024). */
  maxInFlight?: number
  /** Event-loop lag (ms) above which new requests get 429 (default 1,000; 0 = off). */
  maxEventLoopDelayMs?: number
  /** Folder of the built dashboard (default `web/dist` of this package); `false` serves none. */
  webRoot?: string | false
  /** How long a verified API key is trusted without asking the store again (ms, default 5,000). */
  keyCacheMs?: number
  /** Keep-alive interval of `/events` (ms, default 15,000). */
  eventsHeartbeatMs?: number
  /** Open `/events` streams before new ones get 429 (default 256). */
  maxEventClients?: number
}

/**
 * The API's own route modules, registered behind the key check in this order. To add a module, add
 * one line here (or pass it in `deps.extraRoutes` from the composition root).
 */
function protectedRoutes(options: ServerOptions): RouteModule[] {
  return [
    sensorsdataRoutes,
    devicesRoutes,
    predictionsRoutes,
    eventsRoutes({ heartbeatMs: options.eventsHeartbeatMs, maxClients: options.maxEventClients }),
  ]
}

/** Latency buckets (seconds) of `airlake_http_request_duration_seconds`. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/**
 * Builds the server, ready to `listen` (or `inject` in tests). Nothing is listening yet; `close()` stops
 * the load-shedding sampler and ends open event streams. The caller owns `deps` and closes them.
 */
export async function createServer(deps: ApiDeps, options: ServerOptions = {}): Promise<FastifyInstance> {
  const bodyLimitBytes = deps.config.bodyLimitBytes
  const app = Fastify({
    logger: false,
    bodyLimit: bodyLimitBytes,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true },
  })

  // Query strings are text, so they are coerced to the schema's types; bodies are JSON and must already
  // have the right types (coercion would turn a `null` reading into 0).
  const queryAjv = new Ajv({
    coerceTypes: 'array',
    useDefaults: true,
    removeAdditional: true,
    allErrors: false,
    strict: false,
  })
  const bodyAjv = new Ajv({
    coerceTypes: false,
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
    strict: false,
  })
  app.setValidatorCompiler(({ schema, httpPart }) => {
    if ((schema as Record<string, unknown>)['x-document-only'] === true) return () => true
    return (httpPart === 'body' ? bodyAjv : queryAjv).compile(schema)
  })

  const metrics = new MetricsRegistry()
  app.decorate('deps', deps)
  app.decorate('metrics', metrics)

  const shedder = new LoadShedder({
    maxInFlight: options.maxInFlight ?? 1024,
    maxEventLoopDelayMs: options.maxEventLoopDelayMs ?? 1000,
  })
  shedder.start()
  app.addHook('onClose', async () => shedder.stop())

  const requests = metrics.counter('airlake_http_requests_total', 'HTTP requests answered.', [
    'method',
    'route',
    'status',
  ])
  const latency = metrics.histogram(
    'airlake_http_request_duration_seconds',
    'Time to answer HTTP requests.',
    ['method', 'route'],
    LATENCY_BUCKETS,
  )
  metrics.gauge(
    'airlake_http_requests_in_flight',
    'HTTP requests being handled.',
    () => shedder.current.inFlight,
  )
  metrics.gauge(
    'airlake_event_loop_lag_seconds',
    'Event-loop lag last sampled.',
    () => shedder.current.eventLoopLagMs / 1000,
  )
  metrics.gauge(
    'airlake_http_requests_shed_total',
    'Requests refused with 429 (counter).',
    () => shedder.shed,
  )

  app.addHook('onRequest', (request, reply, done) => {
    // The dashboard's own files are cheap and must load even while the server sheds API work.
    if (request.routeOptions.config.loadShedding === false || isDashboardFile(request.routeOptions.url))
      return done()
    const admitted = shedder.enter()
    if (!admitted.ok) {
      reply.header('retry-after', '1')
      return done(
        new AirlakeError('OVERLOADED', `the server is at capacity (${admitted.reason}): retry after 1 s`),
      )
    }
    reply.raw.once('close', () => shedder.leave())
    done()
  })
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched'
    requests.inc({ method: request.method, route, status: String(reply.statusCode) })
    latency.observe({ method: request.method, route }, reply.elapsedTime / 1000)
    done()
  })

  app.setErrorHandler((error, request, reply) => {
    const answer = toErrorReply(error, { bodyLimitBytes, requestId: request.id })
    if (answer.log) {
      deps.logger.error('request failed', {
        method: request.method,
        route: request.routeOptions.url,
        requestId: request.id,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        cause: error instanceof Error && error.cause !== undefined ? String(error.cause) : undefined,
      })
    }
    if (answer.status === 429) reply.header('retry-after', '1')
    return reply.code(answer.status).send(answer.body)
  })
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: {
        code: 'NOT_FOUND',
        message: `there is no route ${request.method} ${request.url.split('?')[0]}: see /docs`,
      },
    }),
  )

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'airlake',
        version: '0.1.0',
        description:
          'Sensor readings in, forecasts out. Every route but health, metrics, docs and the dashboard needs the header `x-api-key` (`airlake keys create --name NAME`).',
      },
      components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } } },
      security: [{ apiKey: [] }],
    },
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true },
  })
  app.get('/openapi.json', { config: { loadShedding: false }, schema: { hide: true } }, async () =>
    app.swagger(),
  )

  await app.register(async (scope) => healthRoutes(scope, deps))

  const keys = new ApiKeyChecker(deps, deps.config.apiKey, options.keyCacheMs)
  await app.register(async (api) => {
    api.addHook('onRequest', async (request) => {
      let presented = request.headers['x-api-key']
      if (presented === undefined && request.routeOptions.config.apiKeyInQuery === true) {
        presented = (request.query as { key?: string }).key
      }
      await keys.check(presented)
    })
    for (const routes of [...protectedRoutes(options), ...(deps.extraRoutes ?? [])]) {
      await api.register(async (scope) => routes(scope, deps))
    }
  })

  await registerDashboard(app, options.webRoot)
  return app
}

/** Whether a route is the dashboard's static files (`/` and the wildcard of @fastify/static). */
function isDashboardFile(route: string | undefined): boolean {
  return route === '/' || route === '/*'
}

/** The dashboard's files at `/` without a key, or a page saying how to build them. */
async function registerDashboard(app: FastifyInstance, webRoot: string | false | undefined): Promise<void> {
  if (webRoot === false) return
  const root = webRoot ?? fileURLToPath(new URL('../../web/dist', import.meta.url))
  if (existsSync(`${root}/index.html`)) {
    await app.register(fastifyStatic, { root, prefix: '/', index: 'index.html', wildcard: true })
    return
  }
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .send(
        '<!doctype html><html><head><meta charset="utf-8"><title>airlake</title></head><body>' +
          '<h1>airlake</h1><p>The dashboard is not built: run <code>npm run build:web</code>, then reload.</p>' +
          '<p>The API is running: see <a href="/docs">/docs</a>.</p></body></html>',
      ),
  )
}
