/**
 * A running airlake server: the HTTP API with every route module, the live forecaster behind the bus,
 * the scheduler (silver, quality, retention, retraining, configured sources) and the MQTT subscription.
 * `airlake serve` and `airlake demo` start one; tests start one on port 0.
 */
import type { FastifyInstance } from 'fastify'
import { exportsRoutes } from './api/routes/exports.js'
import { invocationsRoutes } from './api/routes/invocations.js'
import { modelsRoutes } from './api/routes/models.js'
import { qualityRoutes } from './api/routes/quality.js'
import { runsRoutes } from './api/routes/runs.js'
import { selectionRoutes } from './api/routes/selection.js'
import { createServer, type RouteModule } from './api/server.js'
import type { App } from './app.js'
import { AirlakeError } from './core/errors.js'
import type { ForecastTrainer } from './core/model.js'
import type { Logger } from './core/ports/logger.js'
import { DAY_MS, isoDate } from './core/time.js'
import { Forecaster } from './pipeline/forecast.js'
import { runQualityChecks } from './pipeline/quality.js'
import { loadForecastModel } from './pipeline/registry.js'
import { applyRetention } from './pipeline/retention.js'
import { Scheduler } from './pipeline/scheduler.js'
import { Selector } from './pipeline/select.js'
import { ModelServer } from './pipeline/serving.js'
import { promoteToSilver } from './pipeline/to-silver.js'
import { startTraining, type TrainingDeps } from './pipeline/train.js'
import {
  type SourceStarterInput,
  type StopSource,
  scheduleConfiguredSources,
  startMqttSource,
  uploadRouteModule,
} from './sources.js'

export interface RuntimeOptions {
  port?: number
  host?: string
  /** Serve the dashboard from this folder (default web/dist of the checkout). */
  webRoot?: string | false
  /** Start the scheduler (default true). */
  schedule?: boolean
  /** More route modules (the demo adds none; tests may). */
  routes?: RouteModule[]
}

export interface Runtime {
  app: App
  server: FastifyInstance
  /** `http://host:port` the server listens on. */
  url: string
  scheduler: Scheduler
  forecaster: Forecaster
  serving: ModelServer
  selector: Selector
  trainers: Readonly<Record<string, ForecastTrainer>>
  training: TrainingDeps
  /** Stops in reverse order: HTTP, scheduler, forecaster, sources; then closes the app. */
  stop(): Promise<void>
}

export async function startRuntime(app: App, options: RuntimeOptions = {}): Promise<Runtime> {
  const { config, store, lake, bus, clock, logger } = app
  const { trainers } = app
  const training: TrainingDeps = { store, lake, bus, clock, logger, trainers }
  const serving = new ModelServer({
    store,
    logger,
    bus,
    loadModel: async (model, version) =>
      (await loadForecastModel({ store, lake, trainers }, { name: model, version })).model,
  })
  const selector = new Selector({ store, clock, logger, bus })
  const forecaster = new Forecaster(
    { store, bus, clock, logger, serving, selector },
    { selectors: config.selectors },
  )
  await forecaster.start()

  const stoppers: Array<() => Promise<void> | void> = [() => forecaster.stop()]
  const server = await createServer(
    {
      store,
      bus,
      clock,
      logger,
      bronze: app.bronze,
      config,
      extraRoutes: [
        ...routeModules({ app, training, serving, selector, forecaster }),
        ...(options.routes ?? []),
      ],
    },
    { webRoot: options.webRoot },
  )
  stoppers.unshift(() => server.close())

  const scheduler = new Scheduler(logger.child({ component: 'scheduler' }))
  scheduleJobs(scheduler, { app, training })
  if (options.schedule !== false) scheduler.start()
  stoppers.unshift(() => scheduler.stop())

  const listenOn = { port: options.port ?? config.port, host: options.host ?? config.host }
  try {
    for (const start of sourceStarters) stoppers.unshift(await start({ app, scheduler }))
    await server.listen(listenOn).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') throw error
      throw new AirlakeError(
        'CONFIG_INVALID',
        `port ${listenOn.port} on ${listenOn.host} is in use (another airlake?): stop that program, or choose another port with PORT=… or --port …`,
      )
    })
  } catch (error) {
    // A source that cannot start (an unreachable broker) or a taken port: stop what did start, then say why.
    await stopAll(stoppers, logger)
    await serving.close()
    throw error
  }

  const address = server.server.address()
  const port = typeof address === 'object' && address ? address.port : (options.port ?? config.port)
  const host = (options.host ?? config.host) === '0.0.0.0' ? '127.0.0.1' : (options.host ?? config.host)
  const url = `http://${host}:${port}`
  logger.info('airlake is serving', { url, store: store.kind, lake: lake.location, bus: bus.kind })

  let stopped = false
  return {
    app,
    server,
    url,
    scheduler,
    forecaster,
    serving,
    selector,
    trainers,
    training,
    async stop() {
      if (stopped) return
      stopped = true
      await stopAll(stoppers, logger)
      await serving.close()
      await app.close()
    },
  }
}

/** Runs every stop function in order; one that fails is logged and the others still run. */
async function stopAll(stoppers: ReadonlyArray<() => Promise<void> | void>, logger: Logger): Promise<void> {
  for (const stop of stoppers) {
    await Promise.resolve()
      .then(stop)
      .catch((error: unknown) => logger.warn('stop failed', { error: String(error) }))
  }
}

interface Wiring {
  app: App
  training: TrainingDeps
  serving: ModelServer
  selector: Selector
  forecaster: Forecaster
}

/** The route modules of the pipeline's features, each given what it needs. */
function routeModules({ app, training, serving, selector, forecaster }: Wiring): RouteModule[] {
  return [
    invocationsRoutes(serving),
    selectionRoutes({ serving, selector, forecaster }),
    uploadRouteModule,
    qualityRoutes(app),
    exportsRoutes(app),
    runsRoutes(training),
    modelsRoutes(training),
  ]
}

/** Starters of configured sources (MQTT, pollers); each returns its stop function. */
const sourceStarters: Array<(input: SourceStarterInput) => Promise<StopSource>> = [
  startMqttSource,
  scheduleConfiguredSources,
]

/** The scheduled work: silver and quality after each hour and day, retention daily, retraining weekly. */
function scheduleJobs(scheduler: Scheduler, { app, training }: { app: App; training: TrainingDeps }): void {
  const { config, clock } = app
  const silver = { lake: app.lake, columnar: app.columnar, clock, logger: app.logger }
  scheduler.add({ name: 'build-silver', cron: '5 * * * *', run: () => promoteToSilver(silver) })
  scheduler.add({
    name: 'quality',
    cron: '20 0 * * *',
    run: () => runQualityChecks({ ...silver, store: app.store }, { day: isoDate(clock.now() - DAY_MS) }),
  })
  if (config.retentionDays > 0) {
    scheduler.add({
      name: 'retention',
      cron: '40 3 * * *',
      run: () =>
        applyRetention({ store: app.store, clock, logger: app.logger }, { days: config.retentionDays }),
    })
  }
  for (const series of config.series) {
    scheduler.add({
      name: `retrain:${series.deviceId}/${series.measure}`,
      cron: config.retrainCron,
      run: async () => {
        const to = clock.now()
        const started = await startTraining(
          training,
          {
            deviceId: series.deviceId,
            measure: series.measure,
            window: series.window,
            horizon: series.horizon,
            stepMs: series.stepMs,
            models: series.models,
            from: to - config.retrainDays * DAY_MS,
            to,
          },
          { kind: 'retrain' },
        )
        return started.done
      },
    })
  }
}
