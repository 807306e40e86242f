/**
 * What the source pipelines need from the adapters that read files and talk to the vendor API, OpenAQ and
 * MQTT. The pipeline never imports adapters (docs/decisions/001-layout.md): these interfaces describe
 * them structurally, and the composition root (src/app.ts) hands the real ones over as `SourceAdapters`.
 */
import type { TimeMs } from '../core/time.js'

/** One row of a file, as `src/adapters/files` yields it (see `FileRow` there). */
export type SourceFileRow =
  | { kind: 'header'; line: number; raw: string; cells: string[] }
  | { kind: 'cells'; line: number; raw: string; cells: unknown[] }
  | { kind: 'json'; line: number; raw: string; value: unknown }
  | { kind: 'invalid'; line: number; raw: string; reason: string }

/** File formats the readers know; `xls` is the legacy binary workbook. */
export type SourceFileFormat = 'csv' | 'ndjson' | 'xlsx' | 'xls'

export interface RecordReaderOptions {
  /** The format; taken from the name (then the first bytes) when absent. */
  format?: SourceFileFormat | undefined
  name?: string | undefined
  sheet?: string | undefined
  onProgress?: ((progress: { bytesRead: number; bytesTotal: number }) => void) | undefined
}

/** Reads a CSV, NDJSON, XLSX or XLS file row by row (`readRecords` of `src/adapters/files`). */
export type RecordReader = (path: string, options?: RecordReaderOptions) => AsyncIterable<SourceFileRow>

/** One reading object of the vendor API, with the exact JSON text it was sent as. */
export interface VendorItem {
  raw: string
  body: unknown
}

/** The vendor's REST API (reference/indoor-sensors-api.md), as `VendorApiClient` implements it. */
export interface VendorClient {
  /** The base URL, for messages (never the token). */
  readonly url: string
  /** The latest reading of every device. Throws UPSTREAM_FAILED (with `details.retryable`) on failure. */
  latestReadings(signal?: AbortSignal): Promise<VendorItem[]>
  /** The devices with their names ("Reception"); UPSTREAM_FAILED on failure. */
  devices(signal?: AbortSignal): Promise<Array<{ devid: string; name?: string | undefined }>>
}

/** One hourly PM2.5 mean of OpenAQ, with its exact JSON text. */
export interface OpenaqHour {
  raw: string
  /** Start of the hour (`period.datetimeFrom.utc`), UTC ms; undefined when the API sent none that parses. */
  time: TimeMs | undefined
  /** `value` as sent (a number, or null for an hour without one). */
  value: unknown
}

export interface OpenaqLocation {
  id: number
  name: string
  /** `lat,lon` when known. */
  coordinates?: string | undefined
  sensors: Array<{ id: number; parameterId: number; parameterName: string }>
}

/** A page of hourly values: the rows and whether more pages follow. */
export interface OpenaqHoursPage {
  hours: OpenaqHour[]
  page: number
  /** `meta.found` read defensively: a number, `undefined` when the API did not say. */
  found: number | undefined
  /** True when `found` is a lower bound (">1000"). */
  foundIsLowerBound: boolean
  hasMore: boolean
}

/** OpenAQ API v3 (reference/openaq-v3.md), as `OpenaqClient` of `src/adapters/openaq` implements it. */
export interface OpenaqApi {
  readonly baseUrl: string
  getLocation(id: number, signal?: AbortSignal): Promise<OpenaqLocation | undefined>
  /** One page (from 1) of the sensor's hourly values in [from, to). Honours 429 by waiting and retrying. */
  sensorHours(
    sensorId: number,
    query: { from: TimeMs; to: TimeMs; page: number; limit: number },
    signal?: AbortSignal,
  ): Promise<OpenaqHoursPage>
}

/** One MQTT message as the subscriber hands it over. */
export interface MqttMessage {
  topic: string
  /** The device id taken from the topic's `+`, when the topic matches the filter. */
  deviceId: string | undefined
  payload: Buffer
}

/**
 * A QoS 1 subscription that comes back after the broker restarts. The handler's promise decides the
 * acknowledgement: the message is acknowledged only after it resolves, so a crash means redelivery.
 */
export interface MqttSubscription {
  close(): Promise<void>
}

export type MqttSubscribe = (handler: (message: MqttMessage) => Promise<void>) => Promise<MqttSubscription>

/** Everything the source pipelines get from the composition root. */
export interface SourceAdapters {
  readRecords: RecordReader
  createVendorClient(options: { url: string; token: string; timeoutMs?: number }): VendorClient
  createOpenaqClient(options: { baseUrl?: string; apiKey?: string; timeoutMs?: number }): OpenaqApi
}
