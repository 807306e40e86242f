/**
 * `POST /sensorsdata/upload?filename=readings.csv`: a whole file (CSV, NDJSON, XLSX, XLS; wide or long) as
 * the raw request body, imported like `airlake ingest`. The body streams to a temporary file (never held in
 * memory) and from there through the file import in batches; the answer counts rows stored and rejected
 * with the first reasons. A file that cannot be imported at all is answered 400 and kept in `rejected`
 * (its name, size and first bytes) so that nothing that arrived goes unrecorded.
 */
import { createWriteStream } from 'node:fs'
import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { FastifyInstance } from 'fastify'
import { AirlakeError, isAirlakeError } from '../../core/errors.js'
import { ingestRecords } from '../../pipeline/ingest.js'
import {
  type FileIngestReport,
  type FileMapping,
  ingestFile,
  TIME_FORMATS,
  type TimeFormat,
} from '../../pipeline/ingest-file.js'
import type { RecordReader } from '../../pipeline/source-adapters.js'
import type { ApiDeps, RouteModule } from '../deps.js'
import { commonErrorResponses, errorSchema } from '../schemas.js'

/** The bronze and `rejected` source of uploads unless `?source=` says otherwise. */
export const UPLOAD_SOURCE = 'upload'
/** Largest upload accepted (bytes), whatever the JSON body limit: files stream to disk. */
export const MAX_UPLOAD_BYTES = 2 * 1024 ** 3
/** Bytes of a refused file kept in `rejected`. */
const KEPT_BYTES = 4096

interface UploadQuery {
  filename: string
  format?: 'csv' | 'ndjson' | 'xlsx' | 'xls'
  source?: string
  device?: string
  sheet?: string
  time?: string
  timeFormat?: TimeFormat
  start?: string
  deviceColumns?: string
  measures?: string
}

const uploadQuerySchema = {
  type: 'object',
  required: ['filename'],
  properties: {
    filename: {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      description: 'The file name; its extension gives the format (.csv, .ndjson, .xlsx, .xls).',
    },
    format: {
      type: 'string',
      enum: ['csv', 'ndjson', 'xlsx', 'xls'],
      description: 'The format, when the name does not say it.',
    },
    source: {
      type: 'string',
      pattern: '^[a-z0-9][a-z0-9-]{0,31}$',
      description: `Source of the readings; "${UPLOAD_SOURCE}" by default.`,
    },
    device: { type: 'string', description: 'Device id of every row, for a file without a device column.' },
    sheet: { type: 'string', description: 'Sheet of a workbook; the first by default.' },
    time: {
      type: 'string',
      description: 'Time column (COL), or DATE_COL+OFFSET_COL:UNIT, or OFFSET_COL:UNIT with `start`.',
    },
    timeFormat: {
      type: 'string',
      enum: [...TIME_FORMATS],
      description: 'How times are written; `auto` by default.',
    },
    start: { type: 'string', description: 'ISO 8601 origin of OFFSET_COL:UNIT times.' },
    deviceColumns: {
      type: 'string',
      description: 'Comma-separated columns whose values, joined by "-", make the device id.',
    },
    measures: {
      type: 'string',
      description: 'Comma-separated columns that are measures (wide files); all others by default.',
    },
  },
} as const

const uploadReportSchema = {
  type: 'object',
  required: ['file', 'shape', 'rows', 'rowsStored', 'rowsRejected', 'readingsStored', 'rejections'],
  properties: {
    file: { type: 'string' },
    shape: { type: 'string', enum: ['wide', 'long', 'json'] },
    rows: {
      type: 'integer',
      description: 'Data rows read (the header not counted); always rowsStored + rowsRejected.',
    },
    rowsStored: { type: 'integer', description: 'Rows with at least one reading stored.' },
    rowsRejected: {
      type: 'integer',
      description: 'Rows kept whole in `rejected` with their line and reason.',
    },
    readingsStored: { type: 'integer', description: 'Reading rows (time, device, measure, value) written.' },
    rejections: {
      type: 'integer',
      description: 'Entries written to `rejected` (rows, and single impossible values of stored rows).',
    },
    firstRejections: {
      type: 'array',
      items: {
        type: 'object',
        properties: { line: { type: 'integer' }, code: { type: 'string' }, reason: { type: 'string' } },
      },
    },
    devices: { type: 'array', items: { type: 'string' } },
    measures: { type: 'array', items: { type: 'string' } },
    from: { type: 'string', description: 'Oldest reading stored, ISO 8601.' },
    to: { type: 'string', description: 'Newest reading stored, ISO 8601.' },
  },
} as const

/** The upload route, reading files with `readRecords` (the composition root passes the real readers). */
export function uploadRoutes(adapters: { readRecords: RecordReader }): RouteModule {
  return async (app: FastifyInstance, deps: ApiDeps) => {
    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers()
      // The body is left as a stream for the handler to write to disk: files can be far above the JSON body limit.
      scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload))

      scope.post(
        '/sensorsdata/upload',
        {
          schema: {
            summary: 'Import a file',
            description:
              'The file is the raw body (`curl --data-binary @readings.csv "…/sensorsdata/upload?filename=readings.csv"`): CSV, NDJSON, XLSX or XLS, wide (a time column, a device column, one column per measure) or long (time, device, measure, value). Rows that fail are kept in `rejected` with their line and reason; the answer counts both. 400 when the file cannot be imported at all (unknown format, no time column: the message names the option to use).',
            tags: ['readings'],
            querystring: uploadQuerySchema,
            response: { 200: uploadReportSchema, ...commonErrorResponses, 413: errorSchema },
          },
        },
        async (request) => {
          const query = request.query as UploadQuery
          const name = basename(query.filename)
          const source = query.source ?? UPLOAD_SOURCE
          const contentType = request.headers['content-type'] ?? ''
          const dir = await mkdtemp(join(tmpdir(), 'airlake-upload-'))
          const path = join(dir, name.replace(/[^A-Za-z0-9._-]/g, '_') || 'upload')
          try {
            const bytes = await saveBody(request.body as NodeJS.ReadableStream | undefined, path)
            const refuse = async (error: AirlakeError): Promise<never> => {
              await keepRefusedFile(deps, { source, name, path, bytes, error })
              throw error
            }
            if (/^multipart\//i.test(contentType)) {
              await refuse(
                new AirlakeError(
                  'BAD_REQUEST',
                  'send the file itself as the body, not a form: curl --data-binary @FILE "…/sensorsdata/upload?filename=FILE"',
                ),
              )
            }
            if (bytes === 0)
              await refuse(
                new AirlakeError('BAD_REQUEST', `the upload ${name} is empty: send the file as the body`),
              )
            let report: FileIngestReport
            try {
              report = await ingestFile(
                { ...deps, readRecords: adapters.readRecords },
                { path, name, source, device: query.device, mapping: mappingOf(query), format: query.format },
              )
            } catch (error) {
              // Awaited here: returned un-awaited, its rejection would wait unhandled while `finally` removes the folder.
              if (isAirlakeError(error, 'FILE_INVALID', 'PARAMETER_INVALID', 'READING_INVALID'))
                return await refuse(error)
              throw error
            }
            return {
              ...report,
              from: report.from === undefined ? undefined : new Date(report.from).toISOString(),
              to: report.to === undefined ? undefined : new Date(report.to).toISOString(),
            }
          } finally {
            await rm(dir, { recursive: true, force: true })
          }
        },
      )
    })
  }
}

function mappingOf(query: UploadQuery): FileMapping {
  const list = (text: string | undefined) =>
    text === undefined
      ? undefined
      : text
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
  return {
    time: query.time,
    timeFormat: query.timeFormat,
    start: query.start,
    deviceColumns: list(query.deviceColumns),
    measures: list(query.measures),
    sheet: query.sheet,
  }
}

/** Streams the body to `path`; returns its size. Throws PAYLOAD_TOO_LARGE past MAX_UPLOAD_BYTES. */
async function saveBody(body: NodeJS.ReadableStream | undefined, path: string): Promise<number> {
  let bytes = 0
  if (body === undefined || body === null) {
    await (await open(path, 'w')).close()
    return 0
  }
  const limiter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length
      if (bytes > MAX_UPLOAD_BYTES) {
        callback(
          new AirlakeError(
            'PAYLOAD_TOO_LARGE',
            `the upload is over ${MAX_UPLOAD_BYTES / 1024 ** 3} GiB: split it, or import it on the server with airlake ingest FILE`,
          ),
        )
      } else callback(null, chunk)
    },
  })
  await pipeline(body, limiter, createWriteStream(path))
  return bytes
}

/** Keeps a file that could not be imported in `rejected`: its name, size and first bytes, with the reason. */
async function keepRefusedFile(
  deps: ApiDeps,
  input: { source: string; name: string; path: string; bytes: number; error: AirlakeError },
): Promise<void> {
  const handle = await open(input.path, 'r')
  let head: string
  try {
    const buffer = Buffer.alloc(Math.min(KEPT_BYTES, input.bytes))
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
    head = buffer.subarray(0, bytesRead).toString('utf8')
  } finally {
    await handle.close()
  }
  const raw = JSON.stringify({ upload: input.name, bytes: input.bytes, head })
  const error = new AirlakeError(input.error.code, `upload ${input.name}: ${input.error.message}`)
  await ingestRecords(deps, { source: input.source, records: [{ raw, error }] })
}
