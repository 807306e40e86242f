/**
 * Readings: `PUT /sensorsdata` (one vendor reading), `POST /sensorsdata/batch` (many, JSON array or
 * NDJSON), `GET /sensorsdata` (a device's series in the seed's envelope) and `GET /sensorsdata/sensors`.
 *
 * Ingest routes read the body as text first: bronze and `rejected` keep payloads exactly as received,
 * and broken JSON must be answered (400) and kept (in `rejected`) like any other bad input.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AirlakeError } from '../../core/errors.js'
import { readingsFromPayload, readingsFromVendor } from '../../core/readings.js'
import { type IngestRecord, type IngestReport, ingestRecords } from '../../pipeline/ingest.js'
import type { ApiDeps } from '../deps.js'
import { ENVELOPE_CONTENT_TYPE, type Envelope, SOURCE_NAME } from '../envelope.js'
import { describeValidation } from '../error-reply.js'
import { batchItems, parseJsonDocument } from '../json-items.js'
import {
  commonErrorResponses,
  envelopeSchema,
  errorSchema,
  ingestReportSchema,
  longRowSchema,
  seriesQuerySchema,
  vendorReadingSchema,
} from '../schemas.js'
import { type SeriesQuery, seriesPage } from '../series-page.js'

/** The bronze and `rejected` source of everything sent to the HTTP API. */
export const HTTP_SOURCE = 'http'
/** Rejections listed in a batch answer (all are kept in `rejected`). */
const MAX_LISTED_ERRORS = 20
// Every content type is read as text: devices and `curl -d` often send JSON under another type, and
// whatever cannot be read as JSON is answered 400 and kept in `rejected`, not refused unseen.
const ANY_TYPE = '*'

export async function sensorsdataRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const stored = app.metrics.counter(
    'airlake_readings_stored_total',
    'Reading rows stored through the API.',
    ['source'],
  )
  const rejected = app.metrics.counter(
    'airlake_rejections_total',
    'Records or values rejected through the API (each kept in `rejected`).',
    ['source', 'code'],
  )
  const ingest = async (records: IngestRecord[]): Promise<IngestReport> => {
    const report = await ingestRecords(deps, { source: HTTP_SOURCE, records })
    if (report.stored > 0) stored.inc({ source: HTTP_SOURCE }, report.stored)
    for (const rejection of report.rejections) rejected.inc({ source: HTTP_SOURCE, code: rejection.code })
    return report
  }
  /** Keeps a request that could not be read at all, then answers it with `error`. */
  const reject = async (raw: string, error: AirlakeError): Promise<never> => {
    await ingest([{ raw, error }])
    throw error
  }

  await app.register(async (scope) => {
    const rawBodies = new WeakMap<FastifyRequest, string>()
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser(
      ANY_TYPE,
      { parseAs: 'string' },
      async (request: FastifyRequest, text: string | Buffer) => {
        const raw = typeof text === 'string' ? text : text.toString('utf8')
        rawBodies.set(request, raw)
        const document = parseJsonDocument(raw)
        return document.ok ? document.value : reject(raw, document.error)
      },
    )

    scope.put(
      '/sensorsdata',
      {
        attachValidation: true,
        schema: {
          summary: 'Store one vendor reading',
          description:
            'Six rows (temperature, humidity, pressure, iaq, co2, voc) at the minute of `ts`; the raw JSON goes to bronze and a forecast is triggered. 201 when stored; 400 (kept in `rejected`) otherwise.',
          tags: ['readings'],
          body: vendorReadingSchema,
          response: {
            201: {
              ...ingestReportSchema,
              properties: {
                ...ingestReportSchema.properties,
                device: { type: 'string' },
                time: { type: 'string', description: 'The minute stored, ISO 8601.' },
              },
            },
            ...commonErrorResponses,
            413: errorSchema,
          },
        },
      },
      async (request, reply) => {
        const raw = rawBodies.get(request) ?? ''
        const body: unknown = request.body
        let readings: ReturnType<typeof readingsFromVendor>
        try {
          readings = readingsFromVendor(body, HTTP_SOURCE)
        } catch (error) {
          return reject(raw, asReadingError(error))
        }
        // The domain parser is lenient where the schema is strict (numeric strings); a schema failure the
        // parser did not catch is still bad input.
        if (request.validationError) {
          const validation = (request.validationError as { validation?: [] }).validation ?? []
          return reject(raw, new AirlakeError('READING_INVALID', describeValidation('body', validation)))
        }
        const report = await ingest([{ raw, readings }])
        const first = report.rejections[0]
        if (report.stored === 0 && first) {
          throw new AirlakeError(
            first.code === 'READING_IMPOSSIBLE' ? 'READING_IMPOSSIBLE' : 'READING_INVALID',
            first.reason,
          )
        }
        const reading = readings[0]!
        return reply.code(201).send({
          ...summary(report),
          device: reading.deviceId,
          time: new Date(reading.time).toISOString(),
        })
      },
    )
  })

  await app.register(async (scope) => {
    const texts = new WeakMap<FastifyRequest, { raw: string; ndjson: boolean }>()
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser(
      ANY_TYPE,
      { parseAs: 'string' },
      async (request: FastifyRequest, text: string | Buffer) => {
        const raw = typeof text === 'string' ? text : text.toString('utf8')
        texts.set(request, { raw, ndjson: /ndjson/i.test(request.headers['content-type'] ?? '') })
        return null
      },
    )

    scope.post(
      '/sensorsdata/batch',
      {
        schema: {
          summary: 'Store many readings',
          description:
            'A JSON array, or NDJSON (Content-Type application/x-ndjson), of vendor readings or long rows {"time","device","measure","value"}. Good items are stored, bad ones kept in `rejected` with their reason; the answer counts both and lists the first errors. 400 when the body as a whole cannot be read.',
          tags: ['readings'],
          // The body is read item by item (a bad item does not spoil the batch), so this schema documents
          // the shape and the handler checks each item with the same rules as PUT /sensorsdata.
          body: {
            'x-document-only': true,
            type: 'array',
            items: { anyOf: [vendorReadingSchema, longRowSchema] },
          },
          response: { 200: ingestReportSchema, ...commonErrorResponses, 413: errorSchema },
        },
      },
      async (request, reply) => {
        const text = texts.get(request)
        if (!text) {
          return reject(
            '',
            new AirlakeError('BAD_REQUEST', 'the batch is empty: send a JSON array or NDJSON of readings'),
          )
        }
        let items: ReturnType<typeof batchItems>
        try {
          items = batchItems(text.raw, { ndjson: text.ndjson })
        } catch (error) {
          return reject(text.raw, asReadingError(error))
        }
        if (items.length === 0) {
          return reject(
            text.raw,
            new AirlakeError('BAD_REQUEST', 'the batch is empty: send a JSON array or NDJSON of readings'),
          )
        }
        const errors: Array<{ index: number; code: string; message: string }> = []
        const records = items.map((item, index): IngestRecord => {
          if ('error' in item) {
            errors.push({ index, code: item.error.code, message: item.error.message })
            return item
          }
          try {
            return { raw: item.raw, readings: readingsFromPayload(item.body, HTTP_SOURCE) }
          } catch (error) {
            const readingError = asReadingError(error)
            errors.push({ index, code: readingError.code, message: readingError.message })
            return { raw: item.raw, error: readingError }
          }
        })
        const report = await ingest(records)
        if (report.rejected > errors.length) {
          // Physical-limit rejections come from the pipeline; find their items by payload.
          const indexOfRaw = new Map<string, number>()
          records.forEach((record, index) => {
            if (!indexOfRaw.has(record.raw)) indexOfRaw.set(record.raw, index)
          })
          for (const rejection of report.rejections) {
            if (rejection.code !== 'READING_IMPOSSIBLE') continue
            errors.push({
              index: indexOfRaw.get(rejection.payload) ?? -1,
              code: rejection.code,
              message: rejection.reason,
            })
          }
          errors.sort((a, b) => a.index - b.index)
        }
        return reply.code(200).send({ ...summary(report), errors: errors.slice(0, MAX_LISTED_ERRORS) })
      },
    )
  })

  app.get(
    '/sensorsdata',
    {
      schema: {
        summary: "A device's readings",
        description:
          'Newest first, one record per minute with one column per measure (only the asked measures with `measure`). Pages by `limit` distinct times; pass `NextToken` back as `nextToken` for the next, older page: every row is served once, even while new rows arrive.',
        tags: ['readings'],
        querystring: seriesQuerySchema,
        response: { 200: envelopeSchema, ...commonErrorResponses },
      },
    },
    async (request, reply) => {
      const envelope = await seriesPage('readings', request.query as SeriesQuery, (page) =>
        deps.store.readingsGrid(page),
      )
      // Sent as text, the same bytes the response schema would write, sooner (see seriesEnvelopeJson).
      return reply.type(ENVELOPE_CONTENT_TYPE).send(envelope)
    },
  )

  app.get(
    '/sensorsdata/sensors',
    {
      schema: {
        summary: 'Device ids',
        description: 'Every device that sent readings, sorted by id.',
        tags: ['readings'],
        response: { 200: envelopeSchema, ...commonErrorResponses },
      },
    },
    async (): Promise<Envelope> => {
      const devices = await deps.store.listDevices()
      return {
        Records: devices.map((device) => [device.id]),
        Metadata: {
          SourceName: SOURCE_NAME,
          SourceType: 'Sensors',
          SourceFormat: 'Tabular',
          ColumnName: ['deviceId'],
          ColumnType: ['str'],
        },
        ExecutionInfo: { LastQueryId: randomUUID(), NextTokenConsumed: 0, NextToken: null },
      }
    },
  )
}

function summary(report: IngestReport): {
  received: number
  accepted: number
  rejected: number
  stored: number
} {
  return {
    received: report.received,
    accepted: report.accepted,
    rejected: report.rejected,
    stored: report.stored,
  }
}

function asReadingError(error: unknown): AirlakeError {
  if (error instanceof AirlakeError) return error
  return new AirlakeError('READING_INVALID', `the reading could not be read: ${String(error)}`, {
    cause: error,
  })
}
