/**
 * What the HTTP API is built from, and what every route module can reach on `app`.
 */
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import type { Bus } from '../core/ports/bus.js'
import type { Clock } from '../core/ports/clock.js'
import type { Logger } from '../core/ports/logger.js'
import type { Store } from '../core/ports/store.js'
import type { BronzeWriter } from '../pipeline/bronze.js'
import type { MetricsRegistry } from './metrics.js'

/**
 * A route module: registers routes on `app`, an encapsulated scope that already checks `x-api-key`,
 * maps errors to `{"error":{"code","message"}}` and publishes route schemas in `/openapi.json`.
 */
export type RouteModule = (app: FastifyInstance, deps: ApiDeps) => Promise<void> | void

export interface ApiDeps {
  store: Store
  bus: Bus
  clock: Clock
  logger: Logger
  bronze: BronzeWriter
  config: Config
  /** More route modules (models, runs, invocations, …), registered behind the key check. */
  extraRoutes?: RouteModule[] | undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The API's dependencies, for route modules. */
    deps: ApiDeps
    /** The Prometheus registry behind `GET /metrics`; route modules may add metrics. */
    metrics: MetricsRegistry
  }
  interface FastifyContextConfig {
    /** `false` exempts a route from load shedding (health, metrics, long-lived streams). */
    loadShedding?: boolean
    /** Also accept the key as `?key=` (EventSource cannot send headers). */
    apiKeyInQuery?: boolean
  }
}
