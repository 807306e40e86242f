/**
 * The data sources' part of the composition root (beside app.ts, runtime.ts and trainers.ts): the one place
 * that names the file readers, the vendor and OpenAQ clients and the MQTT subscriber, and hands them to
 * the pipeline. The runtime starts the MQTT subscription and schedules the configured sources from here;
 * the `ingest`, `poll` and `import` commands and the upload route get their adapters here.
 */

import { readRecords } from './adapters/files/read-records.js'
import { subscribeMqtt } from './adapters/mqtt/mqtt-subscriber.js'
import { OpenaqClient } from './adapters/openaq/openaq-client.js'
import { VendorApiClient } from './adapters/vendor-api/vendor-api-client.js'
import type { RouteModule } from './api/deps.js'
import { uploadRoutes } from './api/routes/upload.js'
import type { App } from './app.js'
import type { OpenaqSourceConfig, VendorSourceConfig } from './config.js'
import { importOpenaq } from './pipeline/import-openaq.js'
import { startMqttIngest } from './pipeline/mqtt-ingest.js'
import { pollVendorOnce } from './pipeline/poll-vendor.js'
import type { Scheduler } from './pipeline/scheduler.js'
import type { SourceAdapters } from './pipeline/source-adapters.js'

/** The real source adapters. */
export const sourceAdapters: SourceAdapters = {
  readRecords,
  createVendorClient: (options) => new VendorApiClient(options),
  createOpenaqClient: (options) => new OpenaqClient(options),
}

/** What a source starter gets from the runtime, and what it returns: its stop function. */
export interface SourceStarterInput {
  app: App
  scheduler: Scheduler
}
export type StopSource = () => Promise<void> | void

/**
 * With `MQTT_URL` set, subscribes to `MQTT_TOPIC` (QoS 1, persistent session) and ingests every message
 * as source `mqtt`; nothing otherwise. Throws DEPENDENCY_MISSING when the broker cannot be reached.
 */
export async function startMqttSource({ app }: SourceStarterInput): Promise<StopSource> {
  const url = app.config.mqttUrl
  if (url === undefined) return () => {}
  const logger = app.logger.child({ component: 'mqtt' })
  const subscription = await startMqttIngest(app, {
    subscribe: (handler) => subscribeMqtt({ url, topic: app.config.mqttTopic, logger }, handler),
  })
  return () => subscription.close()
}

/** The cron of a vendor source without its own: every minute (the vendor's readings are per minute). */
export const VENDOR_CRON = '* * * * *'
/** The cron of an OpenAQ source without its own: a few minutes past every hour, when the last hour is final. */
export const OPENAQ_CRON = '7 * * * *'

/**
 * Schedules every configured source (`sources` of the config file): a vendor API polled every minute
 * (`poll-vendor:<name>`), an OpenAQ location kept current every hour (`import-openaq:<name>`). A failing
 * run is logged by the scheduler and the next one runs as usual.
 */
export async function scheduleConfiguredSources({ app, scheduler }: SourceStarterInput): Promise<StopSource> {
  for (const source of app.config.sources) {
    if (source.kind === 'vendor') scheduler.add(vendorJob(app, source))
    else scheduler.add(openaqJob(app, source))
  }
  return () => {}
}

function vendorJob(app: App, source: VendorSourceConfig) {
  const client = sourceAdapters.createVendorClient({ url: source.url, token: source.token })
  return {
    name: `poll-vendor:${source.name}`,
    cron: source.schedule ?? VENDOR_CRON,
    run: () => pollVendorOnce(app, { client, cursorKey: `vendor:${source.name}:cursor` }),
  }
}

function openaqJob(app: App, source: OpenaqSourceConfig) {
  const api = sourceAdapters.createOpenaqClient({
    ...(source.baseUrl === undefined ? {} : { baseUrl: source.baseUrl }),
    ...(source.apiKey === undefined ? {} : { apiKey: source.apiKey }),
  })
  return {
    name: `import-openaq:${source.name}`,
    cron: source.schedule ?? OPENAQ_CRON,
    run: () => importOpenaq(app, { api, locationId: source.locationId }),
  }
}

/** `POST /sensorsdata/upload` with the real file readers. */
export const uploadRouteModule: RouteModule = (scope, deps) => uploadRoutes({ readRecords })(scope, deps)
